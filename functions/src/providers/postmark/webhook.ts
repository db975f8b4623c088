/**
 * Postmark: relayed mail carries the tracking value as X-PM-Metadata-fse_mail
 * and -fse_sig, repeated in every record's `Metadata`. One JSON record per
 * request, by `RecordType`, unsigned but with the webhook's basic-auth
 * credentials: no replay window, a replayed record is known by its id.
 */
import { createHash } from "node:crypto";
import type { WebhookConfig } from "../../config/webhook-params";
import { sameSecret } from "../../shared/constant-time";
import { isPlainMap } from "../../shared/plain-map";
import { normalizeAddress } from "../../suppression/addresses";
import { boundedText, collectReports, reasonAndCode, isoToMs, type BounceType, type DeliveryReport, type RecipientStatus } from "../../webhooks/delivery-report";
import { trackingValue, verifiedMailPath } from "../../webhooks/tracking-value";
import { header, MalformedBody, type ProviderWebhook } from "../../webhooks/webhook-provider";

export const POSTMARK_SMTP_HOSTS: readonly string[] = ["smtp.postmarkapp.com", "smtp-broadcasts.postmarkapp.com"];

/** Postmark keeps metadata values up to 80 characters; a longer path is not sent (its reports are then untracked). */
export const POSTMARK_METADATA_MAX = 80;

export function postmarkSmtpHeaders(config: WebhookConfig, mailPath: string): Record<string, string> {
  if (mailPath.length > POSTMARK_METADATA_MAX || /[\u0000-\u001f\u007f]/.test(mailPath)) return {};
  const value = trackingValue(config, "postmark", mailPath);
  return value ? Object.fromEntries(Object.entries(value).map(([key, text]) => [`X-PM-Metadata-${key}`, text])) : {};
}

const CHALLENGE = { "WWW-Authenticate": 'Basic realm="firestore-send-email webhooks", charset="UTF-8"' };

/** Bounce types that mean the address is dead. */
const HARD = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated"]);
/** Delayed, still being retried by the receiving side. */
const DEFERRED = new Set(["Transient", "DnsError"]);
/** Not about deliverability: auto-replies, challenges, subscription requests. */
const NOT_BOUNCES = new Set(["AutoResponder", "AddressChange", "Subscribe", "ChallengeVerification", "OpenRelayTest", "InboundError"]);
/** Record types that carry nothing but their status; bounces and subscription changes are told apart below. */
const STATUS_ONLY = new Map<unknown, RecipientStatus>([["Delivery", "delivered"], ["SpamComplaint", "complained"], ["Open", "opened"], ["Click", "clicked"]]);

export const postmarkWebhook: ProviderWebhook = {
  route: "postmark",
  configured: (config) => Boolean(config.postmarkCredentials),

  authenticate(request, config) {
    const given = header(request, "authorization") ?? "";
    const { username, password } = config.postmarkCredentials!;
    const expected = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
    if (!given) return { ok: false, status: 401, reason: "missing Postmark credentials", headers: CHALLENGE };
    return sameSecret(given.trim(), expected) ? { ok: true } : { ok: false, status: 401, reason: "Postmark credentials do not match", headers: CHALLENGE };
  },

  parse(body, config) {
    if (!isPlainMap(body) || typeof body.RecordType !== "string") throw new MalformedBody('a Postmark webhook body is an object with "RecordType"');
    return collectReports([toReport(body, config)]);
  },
};

function toReport(record: Record<string, unknown>, config: WebhookConfig): DeliveryReport | undefined {
  const type = record.RecordType as string;
  const recipient = normalizeAddress(type === "Bounce" || type === "SpamComplaint" ? record.Email : record.Recipient);
  const timeMs = isoToMs(record.DeliveredAt ?? record.BouncedAt ?? record.ReceivedAt ?? record.ChangedAt);
  if (!recipient || timeMs === undefined) return undefined;
  const base = { source: "postmark" as const, recipient, timeMs, mailPath: verifiedMailPath(record.Metadata, config, "postmark"), eventId: recordId(record, recipient, timeMs) };
  switch (type) {
    case "Bounce":
      return bounce(base, String(record.Type ?? ""), boundedText(record.Details || record.Description));
    case "SubscriptionChange":
      // Only a new suppression is news; a reactivation lifts nothing here.
      if (record.SuppressSending !== true) return undefined;
      if (record.SuppressionReason === "HardBounce") return { ...base, status: "bounced", bounceType: "hard" };
      if (record.SuppressionReason === "SpamComplaint") return { ...base, status: "complained" };
      return { ...base, status: "unsubscribed" };
  }
  const status = STATUS_ONLY.get(type);
  return status ? { ...base, status } : undefined;
}

function bounce(base: Omit<DeliveryReport, "status">, type: string, reason: string | undefined): DeliveryReport | undefined {
  if (NOT_BOUNCES.has(type)) return undefined;
  if (type === "SpamComplaint") return { ...base, status: "complained" };
  if (type === "Unsubscribe") return { ...base, status: "unsubscribed" };
  if (DEFERRED.has(type)) return { ...base, status: "deferred", ...reasonAndCode(reason) };
  const bounceType: BounceType = HARD.has(type) ? "hard" : "soft";
  return { ...base, status: "bounced", bounceType, ...(reason && { reason }), code: type };
}

/** Bounces and complaints carry Postmark's `ID`; deliveries, opens and clicks are identified by type, message, recipient and time. */
function recordId(record: Record<string, unknown>, recipient: string, timeMs: number): string {
  if ((typeof record.ID === "number" || typeof record.ID === "string") && String(record.ID)) return `${record.RecordType}:${record.ID}`;
  const identity = [record.RecordType, record.MessageID, recipient, timeMs, record.OriginalLink ?? ""].join("\u0000");
  return `${record.RecordType}:${createHash("sha256").update(identity).digest("base64url").slice(0, 27)}`;
}
