/**
 * Mailgun's webhooks: one event per JSON body, `{signature, "event-data"}`.
 * The signature is inside the body: HMAC-SHA256 of timestamp + token with the
 * webhook signing key, hex. Mail goes out through Mailgun's SMTP relay; the
 * send path's X-Mailgun-Variables header comes back as `user-variables`.
 */
import { isPlainMap } from "../../shared/plain-map";
import { createHmac } from "node:crypto";
import { boundedText, details, secondsToMs, type DeliveryEvent, type ParsedEvents, type RecipientStatus } from "../../webhooks/delivery-event";
import { sameBytes, withinWindow } from "../../webhooks/constant-time";
import { normalizeAddress } from "../../suppression/addresses";
import { MalformedBody, trackedMailPath, type ProviderWebhook, type Verdict } from "../../webhooks/webhook-provider";

/** Failure reasons that mean the address itself is dead. */
const HARD_REASONS = new Set(["bounce", "suppress-bounce"]);
/** Events that carry nothing but their status; `failed` is told apart below. */
const PLAIN = new Map<unknown, RecipientStatus>([
  ["delivered", "delivered"],
  ["complained", "complained"],
  ["unsubscribed", "unsubscribed"],
  ["opened", "opened"],
  ["clicked", "clicked"],
]);

export const mailgunWebhook: ProviderWebhook = {
  route: "mailgun",
  configured: (config) => Boolean(config.mailgunSigningKey),

  authenticate(request, config, nowMs): Verdict {
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString("utf8"));
    } catch {
      return { ok: false, status: 400, reason: "Mailgun body is not JSON" };
    }
    const signature = isPlainMap(body) && isPlainMap(body.signature) ? body.signature : undefined;
    const { timestamp, token, signature: hex } = signature ?? {};
    if (typeof timestamp !== "string" && typeof timestamp !== "number") return { ok: false, status: 401, reason: "missing Mailgun signature" };
    if (typeof token !== "string" || typeof hex !== "string") return { ok: false, status: 401, reason: "missing Mailgun signature" };
    if (!/^[0-9]{1,12}$/.test(String(timestamp)) || !withinWindow(Number(timestamp), nowMs, config.replayWindowSeconds)) {
      return { ok: false, status: 403, reason: "Mailgun timestamp outside the replay window" };
    }
    const expected = createHmac("sha256", config.mailgunSigningKey!).update(`${timestamp}${token}`).digest();
    const received = /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, "hex") : Buffer.alloc(0);
    return sameBytes(received, expected) ? { ok: true } : { ok: false, status: 403, reason: "Mailgun signature does not match" };
  },

  parse(body): ParsedEvents {
    const data = isPlainMap(body) ? body["event-data"] : undefined;
    if (!isPlainMap(data)) throw new MalformedBody('a Mailgun webhook body has an "event-data" object');
    const event = toEvent(data);
    return event ? { events: [event], ignored: 0 } : { events: [], ignored: 1 };
  },
};

function toEvent(data: Record<string, unknown>): DeliveryEvent | undefined {
  const recipient = normalizeAddress(data.recipient);
  const timeMs = secondsToMs(data.timestamp);
  const eventId = typeof data.id === "string" && data.id ? data.id : undefined;
  if (!recipient || timeMs === undefined || !eventId) return undefined;
  const base = { source: "mailgun" as const, eventId, recipient, timeMs, mailPath: trackedMailPath(data["user-variables"]) };
  if (data.event === "failed") {
    const delivery = isPlainMap(data["delivery-status"]) ? data["delivery-status"] : {};
    const detail = details(boundedText(delivery.description || delivery.message || data.reason), boundedText(delivery.code, 32));
    if (data.severity === "temporary") return { ...base, status: "deferred", ...detail };
    const hard = typeof data.reason === "string" && HARD_REASONS.has(data.reason);
    return { ...base, status: "bounced", bounceType: hard ? "hard" : "soft", ...detail };
  }
  const status = PLAIN.get(data.event);
  return status ? { ...base, status } : undefined;
}
