/**
 * Who sends a mail: the instance's own params, or with
 * SENDER_PROFILES_COLLECTION the profile of the tenant the mail's path
 * names. Checks before the claim use `config`, read without secrets; the
 * send opens the sender, which reads its secrets (cached) and leases its
 * transport.
 */
import type { Config } from "../config";
import type { MailTransport } from "../providers/provider";
import { documentWildcards, fillPattern, wildcardNames } from "../shared/path-pattern";

export interface OpenSender {
  /** The config with its secrets, for composing, tracking and sending. */
  config: Config;
  transport: MailTransport;
  /** Ends the transport's lease; call once the send is over. */
  release(): void;
}

export interface Sender {
  /** The profile's id, for logs and errors; unset for the instance's own params. */
  readonly profile?: string;
  /** For checks before the claim: a profile's secrets are not read yet. */
  readonly config: Config;
  /** @throws SendEmailError (a secret that cannot be read, a transport that cannot be built) */
  open(): Promise<OpenSender>;
  /** After an authentication failure: reads the secrets again; true when one changed, so that one more try may pass. */
  renew(): Promise<boolean>;
}

/** The instance's own params: one transport, no secrets to read. */
export function instanceSender(config: Config, mailPath: string, transport: (config: Config) => MailTransport): Sender {
  const forMail = forMailPath(config, mailPath);
  return {
    config: forMail,
    open: async () => ({ config: forMail, transport: transport(config), release: () => undefined }),
    renew: async () => false,
  };
}

/** The tenant a mail belongs to: the value its path gives MAIL_COLLECTION's tenant wildcard. */
export function tenantOf(config: Pick<Config, "mailCollection">, wildcard: string, mailPath: string): string | undefined {
  return documentWildcards(config.mailCollection, mailPath)?.[wildcard];
}

/**
 * `config` with its collection params filled from the mail's path
 * (`tenants/{tenant}/templates` → `tenants/acme/templates`); the same object
 * when none uses a wildcard.
 */
export function forMailPath(config: Config, mailPath: string): Config {
  const suppression = config.webhooks.suppressionCollection;
  const patterns = [config.templatesCollection, config.usersCollection, suppression];
  if (!patterns.some((pattern) => pattern !== undefined && wildcardNames(pattern).length > 0)) return config;
  const values = documentWildcards(config.mailCollection, mailPath) ?? {};
  const fill = (pattern: string | undefined) => pattern && fillPattern(pattern, values);
  return Object.freeze({
    ...config,
    templatesCollection: fill(config.templatesCollection),
    usersCollection: fill(config.usersCollection),
    webhooks: Object.freeze({ ...config.webhooks, suppressionCollection: fill(suppression) }),
  });
}
