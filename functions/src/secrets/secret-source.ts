/**
 * Where sender profiles' secrets come from: Secret Manager, read through a
 * bounded cache. Every value is registered for redaction before anyone gets
 * it, so that it can never reach a log line, an error text or a document.
 *
 * Production calls createSecretSource() with no options. Two seams exist,
 * neither reachable from a deployed instance: tests give `endpoint` (a fake
 * Secret Manager on loopback), and the local Emulator Suite names a local
 * secrets file (local-secrets-file.ts).
 */
import { SECRET_CACHE_TTL_MS, SECRET_READ_DEADLINE_MS } from "../shared/budget";
import * as logs from "../shared/logs";
import { SECRET_LIMITS } from "./limits";
import { createLocalFileReader, localSecretsFile } from "./local-secrets-file";
import { createSecretCache } from "./secret-cache";
import { createSecretManagerReader } from "./secret-manager-reader";
import { checkSecretVersionName } from "./secret-version-name";

export interface SecretSource {
  /**
   * The value of a secret version `projects/P/secrets/S/versions/V` (V a number or `latest`), cached for a bounded time.
   * @throws ConfigError when `version` is not such a name; DeliveryError `lookup-failed` naming the version when it
   *   cannot be read, `transient` when a later read may succeed.
   */
  read(version: string): Promise<string>;
  /** Forgets a cached value so the next read asks again (called after an authentication failure: rotation without a redeploy). */
  forget(version: string): void;
}

/** Production passes none. */
export interface SecretSourceOptions {
  /** Tests only: the base URL of a fake Secret Manager on loopback (`http://127.0.0.1:PORT`); anything else is refused. */
  readonly endpoint?: string;
  /** Tests only: the bound on one read, instead of SECRET_READ_DEADLINE_MS. */
  readonly deadlineMs?: number;
  /** The environment that may name a local secrets file (inside the Functions emulator only); process.env by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export function createSecretSource(options: SecretSourceOptions = {}): SecretSource {
  const localFile = options.endpoint === undefined ? localSecretsFile(options.env ?? process.env) : undefined;
  const source = localFile === undefined ? "secret-manager" : "local-file";
  const fetch =
    localFile === undefined
      ? createSecretManagerReader({ endpoint: options.endpoint, deadlineMs: options.deadlineMs ?? SECRET_READ_DEADLINE_MS })
      : createLocalFileReader(localFile);
  const cache = createSecretCache(
    async (name) => {
      const value = await fetch(name);
      logs.registerSecrets([value]);
      logs.secretRead(name, source);
      return value;
    },
    { ttlMs: SECRET_CACHE_TTL_MS, maxEntries: SECRET_LIMITS.cachedValues, now: Date.now },
  );
  return {
    // async: a malformed name rejects like every other failure, instead of throwing at the call.
    read: async (version) => cache.read(checkSecretVersionName(version)),
    forget: (version) => cache.forget(version),
  };
}
