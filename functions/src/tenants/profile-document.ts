/**
 * A sender profile document (docs/tenants.md): the extension's own params,
 * same names and rules, for one tenant. Its secrets are never in Firestore:
 * the document names a Secret Manager version for each, and a password
 * written into the document itself is refused.
 */
import { passwordInUri } from "../config/smtp-uri";
import { ConfigError } from "../shared/errors";
import { isPlainMap } from "../shared/plain-map";

/** The params a profile may set: how it sends, as whom, and how its provider's webhooks are checked. */
export const PROFILE_PARAMS = [
  "AUTH_TYPE", "SMTP_CONNECTION_URI", "HOST", "OAUTH_PORT", "OAUTH_SECURE", "USER", "CLIENT_ID", "TLS_OPTIONS",
  "DEFAULT_FROM", "DEFAULT_REPLY_TO", "SENDGRID_WEBHOOK_PUBLIC_KEY", "POSTMARK_WEBHOOK_USERNAME",
] as const;

/** The params a profile names a Secret Manager version for. */
export const PROFILE_SECRETS = ["SMTP_PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "MAILGUN_WEBHOOK_SIGNING_KEY", "POSTMARK_WEBHOOK_PASSWORD"] as const;

/** Every param a profile replaces: an instance value it leaves out must not leak into the tenant's sender. */
export const PROFILE_KEYS: readonly string[] = [...new Set<string>([...PROFILE_PARAMS, ...PROFILE_SECRETS])];

/** The most a profile may ask this instance to send per second. */
export const MAX_PROFILE_RATE = 1_000;

export interface ProfileSpec {
  readonly id: string;
  /** Non-secret params, as text, by param name. */
  readonly params: Readonly<Record<string, string>>;
  /** Param name → Secret Manager version (`projects/P/secrets/S/versions/V`). */
  readonly secrets: Readonly<Record<string, string>>;
  /** `maxMessagesPerSecond`: the most this instance sends through the profile each second. Unset: no limit. */
  readonly maxPerSecond?: number;
}

const SECRET_VERSION = /^projects\/[^/\s]+\/secrets\/[A-Za-z0-9_-]{1,255}\/versions\/(latest|[1-9][0-9]*)$/;
const TOP_LEVEL = ["params", "secrets", "maxMessagesPerSecond"];

/** @throws ConfigError naming the profile and the field, never a value that may be a secret */
export function readProfile(id: string, data: Record<string, unknown> | undefined): ProfileSpec {
  const fail = (text: string): never => {
    throw new ConfigError(`Sender profile "${id}": ${text}`);
  };
  if (data === undefined) return fail("no such profile document");
  const unknown = Object.keys(data).filter((key) => !TOP_LEVEL.includes(key));
  if (unknown.length > 0) fail(`unknown fields ${unknown.map((key) => `"${key}"`).join(", ")}; a profile has ${TOP_LEVEL.join(", ")}`);

  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(mapField(data, "params", fail))) {
    if ((PROFILE_SECRETS as readonly string[]).includes(name) && name !== "CLIENT_ID") {
      fail(`params.${name} is a secret and must not be stored in Firestore: name a Secret Manager version in secrets.${name}`);
    }
    if (!(PROFILE_PARAMS as readonly string[]).includes(name)) fail(`params.${name} is not a param a profile may set (${PROFILE_PARAMS.join(", ")})`);
    params[name] = paramText(name, value, fail);
  }
  const uri = params.SMTP_CONNECTION_URI;
  if (uri !== undefined && passwordInUri(uri) !== undefined) {
    fail("params.SMTP_CONNECTION_URI must not contain a password: name a Secret Manager version in secrets.SMTP_PASSWORD");
  }
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(mapField(data, "secrets", fail))) {
    if (!(PROFILE_SECRETS as readonly string[]).includes(name)) fail(`secrets.${name} is not a secret a profile may name (${PROFILE_SECRETS.join(", ")})`);
    if (typeof value !== "string" || !SECRET_VERSION.test(value)) {
      fail(`secrets.${name} must name a Secret Manager version, such as projects/my-project/secrets/acme-smtp-password/versions/latest`);
    }
    secrets[name] = value as string;
  }
  const both = Object.keys(secrets).filter((name) => name in params);
  if (both.length > 0) fail(`${both.join(", ")} set in both params and secrets`);
  return Object.freeze({ id, params: Object.freeze(params), secrets: Object.freeze(secrets), maxPerSecond: rate(data.maxMessagesPerSecond, fail) });
}

function mapField(data: Record<string, unknown>, name: string, fail: (text: string) => never): Record<string, unknown> {
  const value = data[name];
  if (value === undefined) return {};
  return isPlainMap(value) ? value : fail(`${name} must be a map of param names to values`);
}

/** Numbers and booleans as the params' text; TLS_OPTIONS may be a map, as JSON. */
function paramText(name: string, value: unknown, fail: (text: string) => never): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (name === "TLS_OPTIONS" && isPlainMap(value)) return JSON.stringify(value);
  return fail(`params.${name} must be a string${name === "TLS_OPTIONS" ? " or a map" : ""}`);
}

function rate(value: unknown, fail: (text: string) => never): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= MAX_PROFILE_RATE) return value;
  return fail(`maxMessagesPerSecond must be a number greater than 0 and at most ${MAX_PROFILE_RATE}`);
}
