/**
 * The tracking value attached at send time so that a provider's reports
 * name their mail: the path (`fse_mail`) and a MAC over it (`fse_sig`), so
 * that a path the extension did not sign (a document setting a provider's
 * metadata header, another sender on the account, a forged body) writes
 * nothing. The MAC's secret is TRACKING_SIGNING_KEY, else the provider's
 * webhook secret (SendGrid's webhook has a public key: it needs the former);
 * the provider is MACed too, so a value does not verify for another.
 */
import { createHmac } from "node:crypto";
import type { WebhookConfig } from "../config/webhook-params";
import { isPlainMap } from "../shared/plain-map";
import { sameSecret } from "../shared/constant-time";

export type TrackedProvider = "sendgrid" | "mailgun" | "postmark";

const TRACKING_KEY = "fse_mail";
const TRACKING_MAC_KEY = "fse_sig";
type TrackingValue = Record<typeof TRACKING_KEY | typeof TRACKING_MAC_KEY, string>;

const MAC_LENGTH = 22;

function secretFor(config: Pick<WebhookConfig, "trackingSigningKey" | "mailgunSigningKey" | "postmarkCredentials">, provider: TrackedProvider): string | undefined {
  if (config.trackingSigningKey) return config.trackingSigningKey;
  if (provider === "mailgun") return config.mailgunSigningKey;
  if (provider === "postmark") return config.postmarkCredentials?.password;
  return undefined;
}

function mac(secret: string, provider: TrackedProvider, path: string): string {
  // A key derived with a purpose label: these MACs never pass for anything else made with the same secret.
  const key = createHmac("sha256", secret).update("firestore-send-email tracking v1").digest();
  return createHmac("sha256", key).update(`${provider}\n${path}`).digest("base64url").slice(0, MAC_LENGTH);
}

/** The value to attach for the mail at `path`, or undefined when this provider has no key to sign it with. */
export function trackingValue(config: WebhookConfig, provider: TrackedProvider, path: string): TrackingValue | undefined {
  const secret = secretFor(config, provider);
  return secret ? { [TRACKING_KEY]: path, [TRACKING_MAC_KEY]: mac(secret, provider, path) } : undefined;
}

/** The mail path in a report's metadata when its MAC verifies; keys without case, as Postmark repeats `X-Pm-Metadata-Fse_mail`. */
export function verifiedMailPath(metadata: unknown, config: WebhookConfig, provider: TrackedProvider): string | undefined {
  if (!isPlainMap(metadata)) return undefined;
  const path = valueOf(metadata, TRACKING_KEY);
  const given = valueOf(metadata, TRACKING_MAC_KEY);
  const secret = secretFor(config, provider);
  if (path === undefined || given === undefined || !secret) return undefined;
  return sameSecret(given, mac(secret, provider, path)) ? path : undefined;
}

function valueOf(map: Record<string, unknown>, key: string): string | undefined {
  const found = Object.keys(map).find((candidate) => candidate.toLowerCase() === key);
  const value = found === undefined ? undefined : map[found];
  return typeof value === "string" ? value : undefined;
}
