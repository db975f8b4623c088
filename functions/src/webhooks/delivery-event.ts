/**
 * The vocabulary of what happens to a mail after the send: every provider's
 * webhook is parsed into these events, and only these reach Firestore.
 */
import { clip } from "../shared/clip";

/** What a recipient's latest known state is, as written to `deliveryStatus`. */
export type RecipientStatus = "deferred" | "delivered" | "opened" | "clicked" | "bounced" | "complained" | "unsubscribed";

/**
 * `hard`: the address does not exist or will never accept mail (suppressed);
 * `soft`: this message failed for good, but the address may work later
 * (mailbox full, blocked by policy, dropped by the provider): not suppressed.
 */
export type BounceType = "hard" | "soft";

/** Where an event came from: a provider's webhook, or the one-click unsubscribe link. */
export type EventSource = "sendgrid" | "mailgun" | "postmark" | "unsubscribe-link";

export interface DeliveryEvent {
  source: EventSource;
  /** The provider's id for this event: the same event delivered twice has the same id. */
  eventId: string;
  /** The mail document the event is about, from the tracking metadata attached at send time. */
  mailPath?: string;
  /** The recipient, normalised (see suppression/addresses.ts). */
  recipient: string;
  status: RecipientStatus;
  /** When the provider says it happened, in milliseconds. */
  timeMs: number;
  bounceType?: BounceType;
  /** The receiving server's or provider's reason, for people; bounded in length. */
  reason?: string;
  /** The SMTP status or reply code the provider reported, such as `5.1.1` or `550`. */
  code?: string;
}

/** What a provider's webhook body held, once parsed. */
export interface ParsedEvents {
  events: DeliveryEvent[];
  /** Events that are not delivery news (processed, accepted, auto-replies…) or lack a usable field. */
  ignored: number;
}

/** An event's optional reason and code, as fields only when the provider gave them. */
export function details(reason: string | undefined, code?: string): Pick<DeliveryEvent, "reason" | "code"> {
  return { ...(reason && { reason }), ...(code && { code }) };
}

/** Reasons and codes come from remote servers: keep them readable and small. */
export function boundedText(value: unknown, max = 500): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = clip(String(value).replace(/[\u0000-\u001f\u007f]+/g, " "), max);
  return text || undefined;
}

/** Event times must be plausible: a value outside 2000–2100 is a parse error, not a date. */
function plausibleTime(ms: number): number | undefined {
  return Number.isFinite(ms) && ms > 946_684_800_000 && ms < 4_102_444_800_000 ? ms : undefined;
}

/** A time in whole or fractional seconds since the epoch, as a number or a numeric string. */
export function secondsToMs(value: unknown): number | undefined {
  const seconds = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return plausibleTime(Math.round(seconds * 1000));
}

/** An ISO 8601 date-time, as Postmark sends them. */
export function isoToMs(value: unknown): number | undefined {
  return typeof value === "string" ? plausibleTime(Date.parse(value)) : undefined;
}
