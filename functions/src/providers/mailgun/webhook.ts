/**
 * Mailgun: relayed mail carries X-Mailgun-Variables (the tracking value),
 * repeated in every report as `user-variables`. One report per JSON body,
 * `{signature, "event-data"}`, signed inside: HMAC-SHA256 of timestamp +
 * token with the webhook signing key.
 */
import { createHmac } from "node:crypto";
import type { WebhookConfig } from "../../config/webhook-params";
import { sameBytes, withinWindow } from "../../shared/constant-time";
import { isPlainMap } from "../../shared/plain-map";
import { normalizeAddress } from "../../suppression/addresses";
import { boundedText, collectReports, reasonAndCode, secondsToMs, type DeliveryReport, type RecipientStatus } from "../../webhooks/delivery-report";
import { trackingValue, verifiedMailPath } from "../../webhooks/tracking-value";
import { MalformedBody, type ProviderWebhook } from "../../webhooks/webhook-provider";

export const MAILGUN_SMTP_HOSTS: readonly string[] = ["smtp.mailgun.org", "smtp.eu.mailgun.org"];

export function mailgunSmtpHeaders(config: WebhookConfig, mailPath: string): Record<string, string> {
  const value = trackingValue(config, "mailgun", mailPath);
  return value ? { "X-Mailgun-Variables": JSON.stringify(value) } : {};
}

/** Failure reasons that mean the address itself is dead. */
const HARD_REASONS = new Set(["bounce", "suppress-bounce"]);
/** Events named like the status they carry, and nothing else; `failed` is told apart below. */
const STATUS_ONLY = new Set<unknown>(["delivered", "complained", "unsubscribed", "opened", "clicked"] satisfies RecipientStatus[]);

export const mailgunWebhook: ProviderWebhook = {
  route: "mailgun",
  // Mailgun posts a few kilobytes; the signature sits inside the JSON, so a larger body is refused before parsing.
  maxBodyBytes: 1024 * 1024,
  configured: (config) => Boolean(config.mailgunSigningKey),

  authenticate(request, config, nowMs) {
    let body: unknown;
    try {
      body = JSON.parse(request.rawBody.toString("utf8"));
    } catch {
      return { ok: false, status: 400, reason: "Mailgun body is not JSON" };
    }
    const { timestamp, token, signature: hex } = isPlainMap(body) && isPlainMap(body.signature) ? body.signature : {};
    if ((typeof timestamp !== "string" && typeof timestamp !== "number") || typeof token !== "string" || typeof hex !== "string") {
      return { ok: false, status: 401, reason: "missing Mailgun signature" };
    }
    if (!withinWindow(timestamp, nowMs, config.replayWindowSeconds)) return { ok: false, status: 403, reason: "Mailgun timestamp outside the replay window" };
    const expected = createHmac("sha256", config.mailgunSigningKey!).update(`${timestamp}${token}`).digest();
    const received = /^[0-9a-f]{64}$/i.test(hex) ? Buffer.from(hex, "hex") : Buffer.alloc(0);
    if (!sameBytes(received, expected)) return { ok: false, status: 403, reason: "Mailgun signature does not match" };
    // The signature covers timestamp and token only: used once, or one signed triple would vouch for any body.
    return { ok: true, replay: { token, signedAtMs: Number(timestamp) * 1000 } };
  },

  parse(body, config) {
    const data = isPlainMap(body) ? body["event-data"] : undefined;
    if (!isPlainMap(data)) throw new MalformedBody('a Mailgun webhook body has an "event-data" object');
    return collectReports([toReport(data, config)]);
  },
};

function toReport(data: Record<string, unknown>, config: WebhookConfig): DeliveryReport | undefined {
  const recipient = normalizeAddress(data.recipient);
  const timeMs = secondsToMs(data.timestamp);
  const eventId = typeof data.id === "string" && data.id ? data.id : undefined;
  if (!recipient || timeMs === undefined || !eventId) return undefined;
  const base = { source: "mailgun" as const, eventId, recipient, timeMs, mailPath: verifiedMailPath(data["user-variables"], config, "mailgun") };
  if (data.event === "failed") {
    const delivery = isPlainMap(data["delivery-status"]) ? data["delivery-status"] : {};
    const detail = reasonAndCode(boundedText(delivery.description || delivery.message || data.reason), boundedText(delivery.code, 32));
    if (data.severity === "temporary") return { ...base, status: "deferred", ...detail };
    const hard = typeof data.reason === "string" && HARD_REASONS.has(data.reason);
    return { ...base, status: "bounced", bounceType: hard ? "hard" : "soft", ...detail };
  }
  return STATUS_ONLY.has(data.event) ? { ...base, status: data.event as RecipientStatus } : undefined;
}
