/**
 * The params of delivery status after the send (docs/webhooks.md): webhook keys, what to record, suppression
 * and one-click unsubscribe. All optional; unset, the endpoint answers 404 and the send path adds nothing.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { isLoopbackHost } from "../shared/loopback";
import { collectionPath, problem, read, readBoolean, readSecret, type Env } from "./env-values";

export interface WebhookConfig {
  /**
   * SENDGRID_WEBHOOK_PUBLIC_KEY: the Signed Event Webhook's verification key (base64 DER of an ECDSA P-256
   * public key, as SendGrid shows it). Unset: /sendgrid answers 404 and no tracking argument is attached.
   */
  readonly sendGridPublicKey?: KeyObject;
  /** MAILGUN_WEBHOOK_SIGNING_KEY: Mailgun's "HTTP webhook signing key". A secret. */
  readonly mailgunSigningKey?: string;
  /** POSTMARK_WEBHOOK_USERNAME and POSTMARK_WEBHOOK_PASSWORD (a secret of 16 or more characters, as Postmark signs nothing): both or neither. */
  readonly postmarkCredentials?: { readonly username: string; readonly password: string };
  /** TRACK_OPENS_AND_CLICKS: record `opened` and `clicked`. Default false: they are acknowledged and dropped. */
  readonly trackOpensAndClicks: boolean;
  /** EVENT_HISTORY: keep every event in the mail's `deliveryEvents` subcollection. Default false. */
  readonly eventHistory: boolean;
  /** SUPPRESSION_COLLECTION: collection of suppressed addresses, checked before every send. Unset: nothing is suppressed or read. */
  readonly suppressionCollection?: string;
  /** UNSUBSCRIBE_SIGNING_KEY: signs one-click unsubscribe links; at least 32 characters. A secret. Needs SUPPRESSION_COLLECTION. */
  readonly unsubscribeSigningKey?: string;
  /**
   * TRACKING_SIGNING_KEY: signs the tracking value attached to sent mail; at least 32 characters. A secret.
   * Unset, Mailgun's and Postmark's are signed with a key derived from their webhook secret; SendGrid has none.
   */
  readonly trackingSigningKey?: string;
  /** `ext-EXT_INSTANCE_ID-webhook-tokens`: Mailgun tokens already used (its signature covers only timestamp and token), with `expireAt` for a TTL policy. */
  readonly tokenCollection: string;
  /** How far a signed timestamp may be from now, in seconds (the replay window). 300. */
  readonly replayWindowSeconds: number;
  /** Largest body accepted, in bytes; larger ones get 413. 8 MiB: SendGrid's batches stay far below. */
  readonly maxBodyBytes: number;
}

export const WEBHOOK_LIMITS = { replayWindowSeconds: 300, maxBodyBytes: 8 * 1024 * 1024 } as const;

/** What the send path needs to add List-Unsubscribe headers. */
export interface UnsubscribeLinks {
  /** UNSUBSCRIBE_SIGNING_KEY. */
  readonly signingKey: string;
  /** WEBHOOK_URL, or else https://LOCATION-PROJECT_ID.cloudfunctions.net/ext-EXT_INSTANCE_ID-webhooks. */
  readonly endpointUrl: string;
  /** UNSUBSCRIBE_MAILTO: an optional mailbox listed after the link. Nothing here reads it. */
  readonly mailto?: string;
  /** UNSUBSCRIBE_DEFAULT: every single-recipient mail gets the headers, not only those with `unsubscribe: true`. Default false. */
  readonly byDefault: boolean;
}

const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
const MIN_POSTMARK_PASSWORD = 16;
const MIN_SIGNING_KEY_LENGTH = 32;

/** The secret params of this group, registered for redaction before anything is validated. */
export const deliveryStatusSecrets = (env: Env): Array<string | undefined> =>
  ["MAILGUN_WEBHOOK_SIGNING_KEY", "POSTMARK_WEBHOOK_PASSWORD", "UNSUBSCRIBE_SIGNING_KEY", "TRACKING_SIGNING_KEY"].map((name) => readSecret(env, name));

/** `unsubscribe` is set when UNSUBSCRIBE_SIGNING_KEY is. */
export function parseDeliveryStatusParams(env: Env, mailCollection: string, problems: string[]): { webhooks: WebhookConfig; unsubscribe?: UnsubscribeLinks } {
  const suppressionCollection = collectionPath(env, "SUPPRESSION_COLLECTION", problems);
  if (suppressionCollection === mailCollection) problems.push("SUPPRESSION_COLLECTION must differ from MAIL_COLLECTION: its documents would be sent as mail");
  const unsubscribeSigningKey = signingKey(env, "UNSUBSCRIBE_SIGNING_KEY", problems);
  if (unsubscribeSigningKey !== undefined && suppressionCollection === undefined) {
    problems.push("UNSUBSCRIBE_SIGNING_KEY needs SUPPRESSION_COLLECTION: an unsubscribe is recorded there");
  }
  const trackingSigningKey = signingKey(env, "TRACKING_SIGNING_KEY", problems);
  const sendGridPublicKey = sendGridKey(env, problems);
  if (read(env, "SENDGRID_WEBHOOK_PUBLIC_KEY") !== undefined && trackingSigningKey === undefined) {
    problems.push("SENDGRID_WEBHOOK_PUBLIC_KEY needs TRACKING_SIGNING_KEY: SendGrid's events are checked with a public key, so the tracking value needs a secret of its own");
  }
  const webhooks: WebhookConfig = Object.freeze({
    sendGridPublicKey,
    mailgunSigningKey: readSecret(env, "MAILGUN_WEBHOOK_SIGNING_KEY"),
    postmarkCredentials: postmarkCredentials(env, problems),
    trackOpensAndClicks: readBoolean(env, "TRACK_OPENS_AND_CLICKS", false, problems),
    eventHistory: readBoolean(env, "EVENT_HISTORY", false, problems),
    suppressionCollection, unsubscribeSigningKey, trackingSigningKey,
    tokenCollection: `ext-${read(env, "EXT_INSTANCE_ID") ?? "firestore-send-email"}-webhook-tokens`,
    ...WEBHOOK_LIMITS,
  });
  return Object.freeze({ webhooks, unsubscribe: unsubscribeLinks(env, unsubscribeSigningKey, problems) });
}

/** Returned even when too short: the problem stops the config anyway. */
function signingKey(env: Env, name: string, problems: string[]): string | undefined {
  const key = readSecret(env, name);
  if (key !== undefined && key.length < MIN_SIGNING_KEY_LENGTH) {
    problems.push(`${name} must be at least ${MIN_SIGNING_KEY_LENGTH} characters (a random secret), got ${key.length}`);
  }
  return key;
}

function sendGridKey(env: Env, problems: string[]): KeyObject | undefined {
  const text = read(env, "SENDGRID_WEBHOOK_PUBLIC_KEY");
  if (text === undefined) return undefined;
  const der = Buffer.from(text.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, ""), "base64");
  try {
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return key;
  } catch {
    // Reported below.
  }
  return problem(
    problems,
    `SENDGRID_WEBHOOK_PUBLIC_KEY must be the verification key SendGrid shows for the Signed Event Webhook (base64 DER of an ECDSA P-256 public key), got ${text.length} characters that are not one`,
  );
}

function postmarkCredentials(env: Env, problems: string[]): WebhookConfig["postmarkCredentials"] {
  const username = read(env, "POSTMARK_WEBHOOK_USERNAME");
  const password = readSecret(env, "POSTMARK_WEBHOOK_PASSWORD");
  if (username === undefined && password === undefined) return undefined;
  const before = problems.length;
  if (username === undefined || password === undefined) problems.push("POSTMARK_WEBHOOK_USERNAME and POSTMARK_WEBHOOK_PASSWORD must be set together, or neither");
  if (username?.includes(":")) problems.push('POSTMARK_WEBHOOK_USERNAME must not contain ":" (basic auth separates user and password with it)');
  if (password !== undefined && password.length < MIN_POSTMARK_PASSWORD) {
    problems.push(`POSTMARK_WEBHOOK_PASSWORD must be at least ${MIN_POSTMARK_PASSWORD} characters, got ${password.length}`);
  }
  return problems.length > before ? undefined : Object.freeze({ username: username!, password: password! });
}

function unsubscribeLinks(env: Env, signingKey: string | undefined, problems: string[]): UnsubscribeLinks | undefined {
  const byDefault = readBoolean(env, "UNSUBSCRIBE_DEFAULT", false, problems);
  const mailto = read(env, "UNSUBSCRIBE_MAILTO");
  if (mailto !== undefined && !ADDRESS.test(mailto)) problems.push(`UNSUBSCRIBE_MAILTO must be an email address, got "${mailto}"`);
  if (signingKey === undefined) {
    if (byDefault) problems.push("UNSUBSCRIBE_DEFAULT needs UNSUBSCRIBE_SIGNING_KEY to sign the links");
    return undefined;
  }
  const endpointUrl = webhookUrl(env, problems);
  return endpointUrl === undefined ? undefined : Object.freeze({ signingKey, endpointUrl, mailto, byDefault });
}

/** WEBHOOK_URL, or the URL Cloud Functions gives the `webhooks` function. Only https, except on loopback (the emulator). */
function webhookUrl(env: Env, problems: string[]): string | undefined {
  const given = read(env, "WEBHOOK_URL");
  if (given === undefined) {
    const location = read(env, "LOCATION");
    const project = read(env, "PROJECT_ID") ?? read(env, "GCLOUD_PROJECT");
    const instance = read(env, "EXT_INSTANCE_ID");
    if (location && project && instance) return `https://${location}-${project}.cloudfunctions.net/ext-${instance}-webhooks`;
    return problem(problems, "WEBHOOK_URL is required for unsubscribe links when the function's URL cannot be derived (LOCATION, PROJECT_ID and EXT_INSTANCE_ID are not all set)");
  }
  const url = URL.canParse(given) ? new URL(given) : undefined;
  const loopback = isLoopbackHost(url?.hostname ?? "");
  // The value is never quoted: a URL that breaks these rules may carry a password or an API key.
  let flaw: string | undefined;
  if (!url) flaw = "a value that is not a URL";
  else if (url.username || url.password) flaw = "a URL with user information";
  else if (url.search || url.hash) flaw = "a URL with a query or fragment";
  else if (!(url.protocol === "https:" || (url.protocol === "http:" && loopback))) flaw = `a ${url.protocol} URL`;
  if (!url || flaw) {
    return problem(problems, `WEBHOOK_URL must be the https:// URL of the extension's webhooks function, without query or credentials, got ${flaw}`);
  }
  return url.href.replace(/\/+$/, "");
}
