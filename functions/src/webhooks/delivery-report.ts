/** Delivery reports: what a provider tells after the send about one recipient of one mail. Only these reach Firestore. */
import { clip } from "../shared/clip";

/** A recipient's latest known state, as written to `deliveryStatus`. */
export type RecipientStatus = "deferred" | "delivered" | "opened" | "clicked" | "bounced" | "complained" | "unsubscribed";

/** `hard`: the address will never accept mail (suppressed); `soft`: this message failed, the address may work later. */
export type BounceType = "hard" | "soft";

/** A provider's webhook, or the one-click unsubscribe link. */
export type ReportSource = "sendgrid" | "mailgun" | "postmark" | "unsubscribe-link";

export interface DeliveryReport {
  source: ReportSource;
  /** The provider's id for this report (stored as `eventId`): a redelivered report has the same one. */
  eventId: string;
  /** The mail document, from the tracking value attached at send time. */
  mailPath?: string;
  /** Normalised (suppression/addresses.ts). */
  recipient: string;
  status: RecipientStatus;
  timeMs: number;
  bounceType?: BounceType;
  /** The receiving server's or provider's reason, for people; bounded in length. */
  reason?: string;
  /** The SMTP status or reply code reported, such as `5.1.1` or `550`. */
  code?: string;
  /**
   * Only for the one-click link: the stream its signed token names (absent: every stream). Providers' reports are
   * about the stream their mail document names.
   */
  stream?: string;
}

export interface ParsedReports {
  reports: DeliveryReport[];
  /** Entries that are not delivery news (processed, auto-replies…) or lack a usable field. */
  ignored: number;
}

/** The reports a provider's parser made of a body's entries, `undefined` for each entry it ignored. */
export function collectReports(parsed: ReadonlyArray<DeliveryReport | undefined>): ParsedReports {
  const reports = parsed.filter((report): report is DeliveryReport => report !== undefined);
  return { reports, ignored: parsed.length - reports.length };
}

/** A report's optional reason and code, as fields only when the provider gave them. */
export function reasonAndCode(reason: string | undefined, code?: string): Pick<DeliveryReport, "reason" | "code"> {
  return { ...(reason && { reason }), ...(code && { code }) };
}

/** Reasons and codes come from remote servers: readable and small. */
export function boundedText(value: unknown, max = 500): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  return clip(String(value).replace(/[\u0000-\u001f\u007f]+/g, " "), max) || undefined;
}

/** A time outside 2000–2100 is a parse error, not a date. */
function plausibleTime(ms: number): number | undefined {
  return Number.isFinite(ms) && ms > 946_684_800_000 && ms < 4_102_444_800_000 ? ms : undefined;
}

/** Seconds since the epoch, as a number or a numeric string. */
export function secondsToMs(value: unknown): number | undefined {
  const seconds = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return plausibleTime(Math.round(seconds * 1000));
}

/** An ISO 8601 date-time, as Postmark sends them. */
export function isoToMs(value: unknown): number | undefined {
  return typeof value === "string" ? plausibleTime(Date.parse(value)) : undefined;
}
