/**
 * The sender profiles of an instance (docs/tenants.md): each tenant's
 * profile document, its Secret Manager secrets and its pooled transport,
 * each cached with a bound, so that a warm instance reads Firestore and
 * Secret Manager rarely: a profile once per PROFILE_CACHE_MS, a secret once
 * per SECRET_CACHE_TTL_MS and after a refused login (at most every RENEW_INTERVAL_MS).
 */
import type { Firestore } from "firebase-admin/firestore";
import { parseConfig, type Config } from "../config";
import type { Env } from "../config/env-values";
import type { MailTransport } from "../providers/provider";
import { createTransport } from "../providers/select-provider";
import type { ProviderEndpoints } from "../providers/shared/provider-endpoints";
import type { SecretSource } from "../secrets/secret-source";
import { PROFILE_CACHE_MS, SEND_DEADLINE_MS } from "../shared/budget";
import { ConfigError, DeliveryError, SendEmailError, errorText } from "../shared/errors";
import * as logs from "../shared/logs";
import { PROFILE_KEYS, readProfile, type ProfileSpec } from "./profile-document";
import { rateLimiter, type RateLimiter } from "./rate-limit";
import { forMailPath, tenantOf, type OpenSender, type Sender } from "./sender";
import { transportPool } from "./transport-pool";

/** Profiles with a transport kept open at once, per instance; past it the least recently used closes. */
export const MAX_OPEN_PROFILES = 20;
/**
 * A refused login re-reads the profile's secrets at most this often: a
 * password that is simply wrong must not cost a Secret Manager read per mail.
 */
export const RENEW_INTERVAL_MS = 10_000;
/** Profile documents kept in memory, per instance. */
const MAX_CACHED_PROFILES = 1_000;

export interface SenderProfilesOptions {
  db(database: string): Firestore;
  secrets: SecretSource;
  /** The instance's params: a profile replaces only PROFILE_KEYS. */
  env(): Env;
  endpoints?: ProviderEndpoints;
  maxOpenProfiles?: number;
  now?: () => number;
}

export interface SenderProfiles {
  /** The sender of the tenant `mailPath` names. @throws ConfigError naming the profile; a Firestore error reading it */
  sender(config: Config, mailPath: string): Promise<Sender>;
  /** The profile's params with its secrets read, for its webhooks. @throws ConfigError, SendEmailError */
  openConfig(database: string, collection: string, id: string): Promise<Config>;
  close(): void;
}

/** Stands for a secret's value in the config checked before the claim; no transport is ever built from it. */
const UNREAD_SECRET = "secret-read-from-secret-manager-when-sending";

type Cached = { at: number; spec?: ProfileSpec; error?: unknown };

export function createSenderProfiles(options: SenderProfilesOptions): SenderProfiles {
  const now = options.now ?? Date.now;
  const specs = new Map<string, Cached>();
  const reading = new Map<string, Promise<ProfileSpec>>();
  const previews = new WeakMap<ProfileSpec, Config>();
  const parsed = new WeakMap<ProfileSpec, { key: string; config: Config }>();
  const limiters = new Map<string, { rate: number; limiter: RateLimiter }>();
  const renewedAt = new Map<string, number>();
  const pool = transportPool(options.maxOpenProfiles ?? MAX_OPEN_PROFILES);

  async function spec(database: string, collection: string, id: string): Promise<ProfileSpec> {
    const key = `${database}/${collection}/${id}`;
    const cached = specs.get(key);
    if (cached && now() - cached.at < PROFILE_CACHE_MS) {
      if (cached.error) throw cached.error;
      return cached.spec!;
    }
    let pending = reading.get(key);
    if (!pending) {
      pending = (async () => {
        const snapshot = await options.db(database).collection(collection).doc(id).get();
        try {
          const value = readProfile(id, snapshot.data());
          remember(key, { at: now(), spec: value });
          return value;
        } catch (error) {
          // A missing or broken profile fails its mail at once, without a read per mail.
          remember(key, { at: now(), error });
          throw error;
        }
      })().finally(() => reading.delete(key));
      reading.set(key, pending);
    }
    return pending;
  }

  function remember(key: string, value: Cached): void {
    specs.delete(key);
    specs.set(key, value);
    if (specs.size > MAX_CACHED_PROFILES) specs.delete(specs.keys().next().value!);
  }

  function parse(profile: ProfileSpec, secrets: Readonly<Record<string, string>>): Config {
    const env: Env = { ...options.env() };
    for (const name of PROFILE_KEYS) delete env[name];
    Object.assign(env, profile.params, secrets);
    try {
      return Object.freeze({ ...parseConfig(env), profile: profile.id });
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`Sender profile "${profile.id}": ${error.message}`);
      throw error;
    }
  }

  function preview(profile: ProfileSpec): Config {
    let config = previews.get(profile);
    if (!config) {
      const placeholders = Object.fromEntries(Object.keys(profile.secrets).map((name) => [name, UNREAD_SECRET]));
      config = parse(profile, placeholders);
      previews.set(profile, config);
    }
    return config;
  }

  async function readSecrets(profile: ProfileSpec): Promise<Record<string, string>> {
    const entries = Object.entries(profile.secrets);
    try {
      const values = await Promise.all(entries.map(([, version]) => options.secrets.read(version)));
      return Object.fromEntries(entries.map(([name], i) => [name, values[i]]));
    } catch (error) {
      const transient = error instanceof SendEmailError && error.transient;
      throw new DeliveryError("secret-unavailable", logs.redact(`Sender profile "${profile.id}": ${errorText(error)}`), { transient });
    }
  }

  function limiterFor(profile: ProfileSpec): RateLimiter | undefined {
    const rate = profile.maxPerSecond;
    if (rate === undefined) return undefined;
    const kept = limiters.get(profile.id);
    if (kept?.rate === rate) return kept.limiter;
    const limiter = rateLimiter(rate, now);
    limiters.set(profile.id, { rate, limiter });
    return limiter;
  }

  /** The profile's config with these secrets, parsed once per profile version and secret values, not once per mail. */
  function withSecrets(profile: ProfileSpec, secrets: Record<string, string>, key: string): Config {
    const kept = parsed.get(profile);
    if (kept?.key === key) return kept.config;
    const config = parse(profile, secrets);
    parsed.set(profile, { key, config });
    return config;
  }

  async function open(profile: ProfileSpec, mailPath: string, secrets: Record<string, string>): Promise<OpenSender> {
    // The key changes with any param or secret: a rotated password gets a new config and a new transport.
    const key = JSON.stringify([profile.params, secrets]);
    const config = withSecrets(profile, secrets, key);
    let lease;
    try {
      lease = pool.acquire(profile.id, key, () => createTransport(config, options.endpoints));
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`Sender profile "${profile.id}": ${error.message}`);
      throw error;
    }
    const limiter = limiterFor(profile);
    return { config: forMailPath(config, mailPath), transport: limited(lease.transport, profile, limiter), release: lease.release };
  }

  return {
    async sender(config, mailPath) {
      const profiles = config.senderProfiles!;
      const id = tenantOf(config, profiles.tenantWildcard, mailPath);
      if (id === undefined) throw new ConfigError(`The mail at ${mailPath} is not in MAIL_COLLECTION ${config.mailCollection}, so it names no sender profile`);
      const profile = await spec(config.database, profiles.collection, id);
      let used: Record<string, string> | undefined;
      return {
        profile: id,
        config: forMailPath(preview(profile), mailPath),
        async open() {
          used = await readSecrets(profile);
          return open(profile, mailPath, used);
        },
        async renew() {
          const last = renewedAt.get(profile.id);
          if (last !== undefined && now() - last < RENEW_INTERVAL_MS) return false;
          renewedAt.set(profile.id, now());
          for (const version of Object.values(profile.secrets)) options.secrets.forget(version);
          const fresh = await readSecrets(profile).catch(() => undefined);
          return fresh !== undefined && used !== undefined && Object.keys(fresh).some((name) => fresh[name] !== used![name]);
        },
      };
    },
    async openConfig(database, collection, id) {
      const profile = await spec(database, collection, id);
      return parse(profile, await readSecrets(profile));
    },
    close() {
      pool.close();
      specs.clear();
      limiters.clear();
      renewedAt.clear();
    },
  };
}

/** The transport behind the profile's rate limit: the wait comes out of the send's own deadline. */
function limited(transport: MailTransport, profile: ProfileSpec, limiter: RateLimiter | undefined): MailTransport {
  if (!limiter) return transport;
  return {
    kind: transport.kind,
    pooled: transport.pooled,
    async send(message, mail, options = {}) {
      const within = options.deadlineMs ?? SEND_DEADLINE_MS;
      const waited = await limiter.take(Math.max(0, within - 1_000));
      if (waited === undefined) {
        throw new DeliveryError(
          "rate-limited",
          `Sender profile "${profile.id}" allows ${profile.maxPerSecond} messages per second, and this mail's turn would come after its processing lease; it can be sent again.`,
          { transient: true },
        );
      }
      return transport.send(message, mail, { ...options, deadlineMs: within - waited });
    },
    close: () => transport.close(),
  };
}
