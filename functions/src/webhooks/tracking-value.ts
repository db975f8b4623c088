/**
 * The tracking value the send path attaches so that a provider's reports
 * name their mail document: the document's path (`fse_mail`) and a MAC over
 * it (`fse_sig`). A report carrying a path the extension did not sign (a
 * document that set a provider's metadata header itself, another sender on
 * the same account, a forged body) names no document and writes nothing.
 *
 * MAC: the first 22 base64url characters of HMAC-SHA256(key,
 * `${provider}\n${path}`), key = HMAC-SHA256(secret, "firestore-send-email
 * tracking v1"), secret = TRACKING_SIGNING_KEY or else the provider's own
 * webhook secret. SendGrid's webhook is checked with a public key, so it
 * needs TRACKING_SIGNING_KEY. The provider is in the MAC so that a value
 * made for one provider does not verify in another's.
 */
import { createHmac } from "node:crypto";
import type { WebhookConfig } from "../config/webhook-params";
import { isPlainMap } from "../shared/plain-map";
import { sameSecret } from "../shared/constant-time";

export type TrackedProvider = "sendgrid" | "mailgun" | "postmark";

/** The metadata keys; providers repeat them in every report. */
export const TRACKING_KEY = "fse_mail";
export const TRACKING_MAC_KEY = "fse_sig";

export interface TrackingValue {
  fse_mail: string;
  fse_sig: string;
}

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

/**
 * The mail path in a report's metadata map when its MAC verifies. Keys are
 * matched without case: Postmark repeats them as nodemailer wrote the header
 * (`X-Pm-Metadata-Fse_mail` gives `Fse_mail`).
 */
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
