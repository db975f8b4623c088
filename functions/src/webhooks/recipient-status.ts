/**
 * How one delivery report changes a recipient's entry in `deliveryStatus`.
 * Providers deliver at least once, in any order, so the merge is
 * order-independent: the strongest status seen, the later (then the larger
 * id) among equals; the last ids kept make a redelivery a no-op.
 */
import { toMillis } from "../shared/timestamps";
import { isPlainMap } from "../shared/plain-map";
import type { DeliveryReport, RecipientStatus, ReportSource } from "./delivery-report";

/** A later, stronger status wins. Complaint and unsubscribe are equally final: the later one stands. */
export const STATUS_RANK: Readonly<Record<RecipientStatus, number>> = { deferred: 1, delivered: 2, opened: 3, clicked: 4, bounced: 5, complained: 6, unsubscribed: 6 };

/** Ids of the latest reports kept per recipient, to recognise a redelivery. */
export const RECENT_IDS = 10;

/** One recipient's entry as stored (`timeMs` as `time`); `recentEventIds`: the last RECENT_IDS reports applied, oldest first. */
export type RecipientEntry = Omit<DeliveryReport, "mailPath" | "recipient"> & { recentEventIds: string[] };

export interface MergeResult {
  entry: RecipientEntry;
  /** False when the report was already applied: nothing to write, no side effects. */
  isNew: boolean;
  /** True when the report outranked what was there and became the entry's status. */
  becameStatus: boolean;
}

export function mergeReport(current: RecipientEntry | undefined, report: DeliveryReport): MergeResult {
  if (current?.recentEventIds.includes(report.eventId) || (current && current.eventId === report.eventId)) {
    return { entry: current, isNew: false, becameStatus: false };
  }
  const recentEventIds = [...(current?.recentEventIds ?? []), report.eventId].slice(-RECENT_IDS);
  if (current && !outranks(report, current)) {
    return { entry: { ...current, recentEventIds }, isNew: true, becameStatus: false };
  }
  const { status, timeMs, source, eventId, bounceType, reason, code } = report;
  const entry: RecipientEntry = { status, timeMs, source, eventId, recentEventIds, ...(bounceType && { bounceType }), ...(reason && { reason }), ...(code && { code }) };
  return { entry, isNew: true, becameStatus: true };
}

function outranks(report: DeliveryReport, current: RecipientEntry): boolean {
  const rank = STATUS_RANK[report.status] - STATUS_RANK[current.status];
  if (rank !== 0) return rank > 0;
  if (report.timeMs !== current.timeMs) return report.timeMs > current.timeMs;
  return report.eventId > current.eventId;
}

/** Anything a client wrote that does not have the stored shape counts as no entry: the next report replaces it. */
export function readEntry(value: unknown): RecipientEntry | undefined {
  if (!isPlainMap(value)) return undefined;
  const { status, time, source, eventId, recentEventIds } = value;
  if (typeof status !== "string" || !(status in STATUS_RANK)) return undefined;
  const timeMs = toMillis(time);
  if (timeMs === undefined || typeof eventId !== "string" || typeof source !== "string") return undefined;
  const ids = Array.isArray(recentEventIds) ? recentEventIds.filter((id): id is string => typeof id === "string") : [];
  const entry: RecipientEntry = { status: status as RecipientStatus, timeMs, source: source as ReportSource, eventId, recentEventIds: ids };
  if (value.bounceType === "hard" || value.bounceType === "soft") entry.bounceType = value.bounceType;
  if (typeof value.reason === "string") entry.reason = value.reason;
  if (typeof value.code === "string") entry.code = value.code;
  return entry;
}

/** Whether a report makes the address unfit for further mail (see SUPPRESSION_COLLECTION). */
export function suppressionReason(report: DeliveryReport): "bounced" | "complained" | "unsubscribed" | undefined {
  if (report.status === "bounced") return report.bounceType === "hard" ? "bounced" : undefined;
  if (report.status === "complained" || report.status === "unsubscribed") return report.status;
  return undefined;
}
