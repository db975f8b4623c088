/**
 * Postmark's webhooks: one JSON record per request, told apart by
 * `RecordType`. Postmark does not sign its requests; it sends the basic-auth
 * credentials set on the webhook (https://user:password@… in its settings),
 * so there is no timestamp and no replay window: a replayed record is
 * recognised by its id and changes nothing. Mail goes out through Postmark's
 * SMTP relay with X-PM-Metadata-fse_mail and -fse_sig, repeated in every
 * record's `Metadata` (under keys in whatever case the header had).
 */
import { isPlainMap } from "../../shared/plain-map";
import { createHash } from "node:crypto";
import { boundedText, details, isoToMs, type BounceType, type DeliveryEvent, type ParsedEvents, type RecipientStatus } from "../../webhooks/delivery-event";
import { sameSecret } from "../../shared/constant-time";
import { normalizeAddress } from "../../suppression/addresses";
import { verifiedMailPath } from "../../webhooks/tracking-value";
import { header, MalformedBody, type ProviderWebhook, type Verdict, type WebhookConfig } from "../../webhooks/webhook-provider";

const CHALLENGE = { "WWW-Authenticate": 'Basic realm="firestore-send-email webhooks", charset="UTF-8"' };

/** Bounce types that mean the address is dead. */
const HARD = new Set(["HardBounce", "BadEmailAddress", "ManuallyDeactivated"]);
/** Delayed, still being retried by the receiving side. */
const DEFERRED = new Set(["Transient", "DnsError"]);
/** Not about deliverability: auto-replies, challenges, subscription requests. */
const NOT_BOUNCES = new Set(["AutoResponder", "AddressChange", "Subscribe", "ChallengeVerification", "OpenRelayTest", "InboundError"]);
/** Record types that carry nothing but their status; bounces and subscription changes are told apart below. */
const PLAIN = new Map<unknown, RecipientStatus>([
  ["Delivery", "delivered"],
  ["SpamComplaint", "complained"],
  ["Open", "opened"],
  ["Click", "clicked"],
]);

export const postmarkWebhook: ProviderWebhook = {
  route: "postmark",
  configured: (config) => Boolean(config.postmarkCredentials),

  authenticate(request, config): Verdict {
    const given = header(request, "authorization") ?? "";
    const { username, password } = config.postmarkCredentials!;
    const expected = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
    if (!given) return { ok: false, status: 401, reason: "missing Postmark credentials", headers: CHALLENGE };
    return sameSecret(given.trim(), expected) ? { ok: true } : { ok: false, status: 401, reason: "Postmark credentials do not match", headers: CHALLENGE };
  },

  parse(body, config): ParsedEvents {
    if (!isPlainMap(body) || typeof body.RecordType !== "string") throw new MalformedBody('a Postmark webhook body is an object with "RecordType"');
    const event = toEvent(body, config);
    return event ? { events: [event], ignored: 0 } : { events: [], ignored: 1 };
  },
};

function toEvent(record: Record<string, unknown>, config: WebhookConfig): DeliveryEvent | undefined {
  const type = record.RecordType as string;
  const recipient = normalizeAddress(type === "Bounce" || type === "SpamComplaint" ? record.Email : record.Recipient);
  const timeMs = isoToMs(record.DeliveredAt ?? record.BouncedAt ?? record.ReceivedAt ?? record.ChangedAt);
  if (!recipient || timeMs === undefined) return undefined;
  const base = { source: "postmark" as const, recipient, timeMs, mailPath: verifiedMailPath(record.Metadata, config, "postmark"), eventId: eventId(record, recipient, timeMs) };
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
  const status = PLAIN.get(type);
  return status ? { ...base, status } : undefined;
}

function bounce(base: Omit<DeliveryEvent, "status">, type: string, reason: string | undefined): DeliveryEvent | undefined {
  if (NOT_BOUNCES.has(type)) return undefined;
  if (type === "SpamComplaint") return { ...base, status: "complained" };
  if (type === "Unsubscribe") return { ...base, status: "unsubscribed" };
  if (DEFERRED.has(type)) return { ...base, status: "deferred", ...details(reason) };
  const bounceType: BounceType = HARD.has(type) ? "hard" : "soft";
  return { ...base, status: "bounced", bounceType, ...(reason && { reason }), code: type };
}

/**
 * Bounces and complaints carry Postmark's record `ID`; deliveries, opens and
 * clicks have none, but their type, message, recipient and time identify them.
 */
function eventId(record: Record<string, unknown>, recipient: string, timeMs: number): string {
  if ((typeof record.ID === "number" || typeof record.ID === "string") && String(record.ID)) return `${record.RecordType}:${record.ID}`;
  const identity = [record.RecordType, record.MessageID, recipient, timeMs, record.OriginalLink ?? ""].join("\u0000");
  return `${record.RecordType}:${createHash("sha256").update(identity).digest("base64url").slice(0, 27)}`;
}
