/**
 * SendGrid's Event Webhook: a JSON array of reports, signed with ECDSA P-256
 * over the timestamp header and the raw body. The tracking value travels as
 * custom arguments, repeated as top-level fields of every report.
 */
import { verify } from "node:crypto";
import type { WebhookConfig } from "../../config/webhook-params";
import { withinWindow } from "../../shared/constant-time";
import { isPlainMap } from "../../shared/plain-map";
import { normalizeAddress } from "../../suppression/addresses";
import { boundedText, collectReports, reasonAndCode, secondsToMs, type DeliveryReport, type RecipientStatus } from "../../webhooks/delivery-report";
import { trackingValue, verifiedMailPath } from "../../webhooks/tracking-value";
import { header, MalformedBody, type ProviderWebhook } from "../../webhooks/webhook-provider";

export const SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature";
export const TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp";

/** For the request's `custom_args`, merged after the document's own `sendGrid.customArgs`. */
export function sendGridCustomArgs(config: WebhookConfig, mailPath: string): Record<string, string> {
  return { ...trackingValue(config, "sendgrid", mailPath) };
}

/** Events that carry nothing but their status; the others are told apart below. */
const STATUS_ONLY = new Map<unknown, RecipientStatus>([
  ["spamreport", "complained"], ["unsubscribe", "unsubscribed"], ["group_unsubscribe", "unsubscribed"], ["open", "opened"], ["click", "clicked"],
]);

export const sendGridWebhook: ProviderWebhook = {
  route: "sendgrid",
  configured: (config) => Boolean(config.sendGridPublicKey),

  authenticate(request, config, nowMs) {
    const signature = header(request, SIGNATURE_HEADER);
    const timestamp = header(request, TIMESTAMP_HEADER);
    if (!signature || !timestamp) return { ok: false, status: 401, reason: "missing SendGrid signature headers" };
    if (!withinWindow(timestamp, nowMs, config.replayWindowSeconds)) return { ok: false, status: 403, reason: "SendGrid timestamp outside the replay window" };
    const signed = Buffer.concat([Buffer.from(timestamp, "utf8"), request.rawBody]);
    let valid = false;
    try {
      // ECDSA verification compares in constant time inside OpenSSL.
      valid = verify("sha256", signed, { key: config.sendGridPublicKey!, dsaEncoding: "der" }, Buffer.from(signature, "base64"));
    } catch {
      valid = false;
    }
    return valid ? { ok: true } : { ok: false, status: 403, reason: "SendGrid signature does not match" };
  },

  parse(body, config) {
    if (!Array.isArray(body)) throw new MalformedBody("a SendGrid event batch is a JSON array");
    return collectReports(body.map((item: unknown) => (isPlainMap(item) ? toReport(item, config) : undefined)));
  },
};

function toReport(item: Record<string, unknown>, config: WebhookConfig): DeliveryReport | undefined {
  const recipient = normalizeAddress(item.email);
  const timeMs = secondsToMs(item.timestamp);
  const eventId = typeof item.sg_event_id === "string" && item.sg_event_id ? item.sg_event_id : undefined;
  if (!recipient || timeMs === undefined || !eventId) return undefined;
  const base = { source: "sendgrid" as const, eventId, recipient, timeMs, mailPath: verifiedMailPath(item, config, "sendgrid") };
  const reason = boundedText(item.reason ?? item.response);
  const code = boundedText(item.status, 32);
  switch (item.event) {
    case "delivered":
    case "deferred":
      return { ...base, status: item.event, ...reasonAndCode(reason) };
    case "bounce":
      // type "blocked": refused for a reason of the moment (reputation, content), not a dead address.
      return { ...base, status: "bounced", bounceType: item.type === "blocked" ? "soft" : "hard", ...reasonAndCode(reason, code) };
    case "dropped":
      // SendGrid did not even try (its own suppression lists, an invalid address): the message failed.
      return { ...base, status: "bounced", bounceType: "soft", reason: `Dropped by SendGrid: ${reason ?? "no reason given"}` };
  }
  const status = STATUS_ONLY.get(item.event);
  return status ? { ...base, status } : undefined;
}
