/**
 * Mailgun's webhooks: one event per JSON body, `{signature, "event-data"}`.
 * The signature is inside the body: HMAC-SHA256 of timestamp + token with the
 * webhook signing key, hex. Mail goes out through Mailgun's SMTP relay; the
 * send path's X-Mailgun-Variables header comes back as `user-variables`.
 * Each token is accepted once (handlers/webhook-router.ts keeps the used ones).
 */
import { isPlainMap } from "../../shared/plain-map";
import { createHmac } from "node:crypto";
import { boundedText, details, secondsToMs, type DeliveryEvent, type ParsedEvents, type RecipientStatus } from "../../webhooks/delivery-event";
import { sameBytes, withinWindow } from "../../shared/constant-time";
import { normalizeAddress } from "../../suppression/addresses";
import { verifiedMailPath } from "../../webhooks/tracking-value";
import { MalformedBody, type ProviderWebhook, type Verdict, type WebhookConfig, type WebhookRequest } from "../../webhooks/webhook-provider";

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

/**
 * Mailgun posts one event of a few kilobytes per request; a body this large
 * is not Mailgun's, and its signature sits inside the JSON, so it is refused
 * before being parsed.
 */
const MAILGUN_MAX_BODY_BYTES = 1024 * 1024;

export const mailgunWebhook: ProviderWebhook = {
  route: "mailgun",
  maxBodyBytes: MAILGUN_MAX_BODY_BYTES,
  configured: (config) => Boolean(config.mailgunSigningKey),

  authenticate(request, config, nowMs): Verdict {
    const signature = signatureOf(request);
    if (signature === "not-json") return { ok: false, status: 400, reason: "Mailgun body is not JSON" };
    const { timestamp, token, signature: hex } = signature ?? {};
    if (typeof timestamp !== "string" && typeof timestamp !== "number") return { ok: false, status: 401, reason: "missing Mailgun signature" };
    if (typeof token !== "string" || typeof hex !== "string") return { ok: false, status: 401, reason: "missing Mailgun signature" };
    if (!/^[0-9]{1,12}$/.test(String(timestamp)) || !withinWindow(Number(timestamp), nowMs, config.replayWindowSeconds)) {
      return { ok: false, status: 403, reason: "Mailgun timestamp outside the replay window" };
    }
    const expected = createHmac("sha256", config.mailgunSigningKey!).update(`${timestamp}${token}`).digest();
    const received = /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, "hex") : Buffer.alloc(0);
    if (!sameBytes(received, expected)) return { ok: false, status: 403, reason: "Mailgun signature does not match" };
    // The signature covers timestamp and token only: without the token being used once, one signed triple would vouch for any body.
    return { ok: true, replay: { token, signedAtMs: Number(timestamp) * 1000 } };
  },

  parse(body, config): ParsedEvents {
    const data = isPlainMap(body) ? body["event-data"] : undefined;
    if (!isPlainMap(data)) throw new MalformedBody('a Mailgun webhook body has an "event-data" object');
    const event = toEvent(data, config);
    return event ? { events: [event], ignored: 0 } : { events: [], ignored: 1 };
  },
};

function signatureOf(request: WebhookRequest): Record<string, unknown> | "not-json" | undefined {
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody.toString("utf8"));
  } catch {
    return "not-json";
  }
  return isPlainMap(body) && isPlainMap(body.signature) ? body.signature : undefined;
}

function toEvent(data: Record<string, unknown>, config: WebhookConfig): DeliveryEvent | undefined {
  const recipient = normalizeAddress(data.recipient);
  const timeMs = secondsToMs(data.timestamp);
  const eventId = typeof data.id === "string" && data.id ? data.id : undefined;
  if (!recipient || timeMs === undefined || !eventId) return undefined;
  const base = { source: "mailgun" as const, eventId, recipient, timeMs, mailPath: verifiedMailPath(data["user-variables"], config, "mailgun") };
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
