/**
 * Signs webhook requests the way each provider does, with keys made in the
 * test: a fresh ECDSA P-256 pair for SendGrid (the public half in the form
 * SendGrid shows it: base64 DER), an HMAC key for Mailgun, basic-auth
 * credentials for Postmark.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

export interface SendGridKeys {
  /** SENDGRID_WEBHOOK_PUBLIC_KEY. */
  publicKey: string;
  privateKey: KeyObject;
}

export function sendGridKeys(): SendGridKeys {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { publicKey: publicKey.export({ format: "der", type: "spki" }).toString("base64"), privateKey };
}

/** The headers SendGrid sends with `body`, signed at `timestamp` (seconds; now by default). */
export function sendGridHeaders(keys: SendGridKeys, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = sign("sha256", Buffer.from(`${timestamp}${body}`, "utf8"), { key: keys.privateKey, dsaEncoding: "der" });
  return {
    "X-Twilio-Email-Event-Webhook-Signature": signature.toString("base64"),
    "X-Twilio-Email-Event-Webhook-Timestamp": String(timestamp),
  };
}

/** A Mailgun webhook body: the signature object beside the event data. */
export function mailgunBody(signingKey: string, eventData: Record<string, unknown>, timestamp = Math.floor(Date.now() / 1000)): string {
  const token = randomBytes(25).toString("hex");
  const signature = createHmac("sha256", signingKey).update(`${timestamp}${token}`).digest("hex");
  return JSON.stringify({ signature: { timestamp: String(timestamp), token, signature }, "event-data": eventData });
}

export function basicAuth(username: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
}

/** TRACKING_SIGNING_KEY in the tests' webhook settings. */
export const TRACKING_SECRET = "tracking-key-for-tests-0123456789abcdef";

/**
 * The tracking metadata the send path attaches (docs/webhooks.md): the mail
 * document's path and its MAC, computed here from the documented recipe
 * rather than by the module under test.
 */
export function tracked(path: string, provider: "sendgrid" | "mailgun" | "postmark", secret = TRACKING_SECRET): { fse_mail: string; fse_sig: string } {
  const key = createHmac("sha256", secret).update("firestore-send-email tracking v1").digest();
  const sig = createHmac("sha256", key).update(`${provider}\n${path}`).digest("base64url").slice(0, 22);
  return { fse_mail: path, fse_sig: sig };
}

/** A Mailgun body signed with a given token, so that a test can reuse one. */
export function mailgunBodyWithToken(signingKey: string, eventData: Record<string, unknown>, token: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac("sha256", signingKey).update(`${timestamp}${token}`).digest("hex");
  return JSON.stringify({ signature: { timestamp: String(timestamp), token, signature }, "event-data": eventData });
}
