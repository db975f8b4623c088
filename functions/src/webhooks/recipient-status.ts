/**
 * How one event changes a recipient's entry in `deliveryStatus.recipients`.
 * Pure, so that every precedence rule is a table-driven unit test.
 *
 * Providers deliver events at least once and in any order, so the merge is
 * order-independent: the entry always holds the strongest status seen, the
 * later one (then the larger event id) among equals. A late `deferred` thus
 * never overrides `delivered` or `bounced`, and replaying any event, in any
 * order, leaves the same entry. The last event ids kept per recipient make a
 * redelivered event a no-op for the side effects (suppression, history);
 * they are bounded, and an older duplicate still cannot change the status.
 */
import { toMillis } from "../shared/timestamps";
import { isPlainMap } from "../shared/plain-map";
import type { BounceType, DeliveryEvent, EventSource, RecipientStatus } from "./delivery-event";

/** A later, stronger status wins. Complaint and unsubscribe are equally final: the later one stands. */
export const STATUS_RANK: Readonly<Record<RecipientStatus, number>> = {
  deferred: 1,
  delivered: 2,
  opened: 3,
  clicked: 4,
  bounced: 5,
  complained: 6,
  unsubscribed: 6,
};

/** Ids of the latest events kept per recipient for deduplication. */
export const RECENT_IDS = 10;

/** The entry for one recipient, as stored (times in milliseconds here; store converts). */
export interface RecipientEntry {
  status: RecipientStatus;
  timeMs: number;
  source: EventSource;
  eventId: string;
  bounceType?: BounceType;
  reason?: string;
  code?: string;
  /** The ids of the last RECENT_IDS events applied, oldest first. */
  recentEventIds: string[];
}

export interface MergeResult {
  entry: RecipientEntry;
  /** False when the event was already applied: nothing to write, no side effects. */
  isNew: boolean;
  /** True when the event became the entry's status (it outranks what was there). */
  becameStatus: boolean;
}

export function mergeEvent(current: RecipientEntry | undefined, event: DeliveryEvent): MergeResult {
  if (current?.recentEventIds.includes(event.eventId) || (current && current.eventId === event.eventId)) {
    return { entry: current, isNew: false, becameStatus: false };
  }
  const recentEventIds = [...(current?.recentEventIds ?? []), event.eventId].slice(-RECENT_IDS);
  if (current && !outranks(event, current)) {
    return { entry: { ...current, recentEventIds }, isNew: true, becameStatus: false };
  }
  const entry: RecipientEntry = {
    status: event.status,
    timeMs: event.timeMs,
    source: event.source,
    eventId: event.eventId,
    recentEventIds,
  };
  if (event.bounceType) entry.bounceType = event.bounceType;
  if (event.reason) entry.reason = event.reason;
  if (event.code) entry.code = event.code;
  return { entry, isNew: true, becameStatus: true };
}

function outranks(event: DeliveryEvent, current: RecipientEntry): boolean {
  const rank = STATUS_RANK[event.status] - STATUS_RANK[current.status];
  if (rank !== 0) return rank > 0;
  if (event.timeMs !== current.timeMs) return event.timeMs > current.timeMs;
  return event.eventId > current.eventId;
}

/**
 * Reads an entry back from a document. Anything a client wrote that does not
 * have the stored shape counts as no entry: the next event replaces it.
 */
export function readEntry(value: unknown): RecipientEntry | undefined {
  if (!isPlainMap(value)) return undefined;
  const { status, time, source, eventId, recentEventIds } = value;
  if (typeof status !== "string" || !(status in STATUS_RANK)) return undefined;
  const timeMs = toMillis(time);
  if (timeMs === undefined || typeof eventId !== "string" || typeof source !== "string") return undefined;
  const entry: RecipientEntry = {
    status: status as RecipientStatus,
    timeMs,
    source: source as EventSource,
    eventId,
    recentEventIds: Array.isArray(recentEventIds) ? recentEventIds.filter((id): id is string => typeof id === "string") : [],
  };
  if (value.bounceType === "hard" || value.bounceType === "soft") entry.bounceType = value.bounceType;
  if (typeof value.reason === "string") entry.reason = value.reason;
  if (typeof value.code === "string") entry.code = value.code;
  return entry;
}

/** Whether an event makes the address unfit for further mail (see SUPPRESSION_COLLECTION). */
export function suppressionReason(event: DeliveryEvent): "bounced" | "complained" | "unsubscribed" | undefined {
  if (event.status === "bounced") return event.bounceType === "hard" ? "bounced" : undefined;
  if (event.status === "complained" || event.status === "unsubscribed") return event.status;
  return undefined;
}
