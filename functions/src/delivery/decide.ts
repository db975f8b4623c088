/**
 * The delivery state machine, as a pure function: given the mail document
 * from an event and the current time, say what to do. No I/O happens here, so
 * every transition is a table-driven unit test (test/unit/delivery/decide.test.ts).
 *
 * The Firestore writes that carry out a decision are conditioned on the
 * document's update time from the same event (see store.ts), so a decision
 * taken on stale data can never be applied: its write fails and the
 * invocation stops.
 */
import { isPlainMap } from "../shared/plain-map";
import { leaseExpired } from "../shared/budget";
import { toMillis } from "../shared/timestamps";
import { STATES, type DeliveryField } from "./delivery-field";

export type Decision =
  /** Nothing to do: deleted, finished, or being processed under a live lease. */
  | { action: "ignore"; reason: IgnoreReason }
  /**
   * A new document: initialise `delivery` as PENDING, then claim it at once,
   * unless `sendAt` asks for later (`dueAt`): then it waits in PENDING.
   */
  | { action: "initialize"; dueAt?: number }
  /** PENDING and not yet attempted, with a `sendAt` that moved: wait until `dueAt`. */
  | { action: "schedule"; dueAt: number }
  /** PENDING or RETRY: claim it (PROCESSING with a lease) and send. */
  | { action: "claim"; retry: boolean }
  /**
   * An attempt whose lease (and grace) ran out: presumed dead. `requested`
   * when a person wrote RETRY or PENDING over it while it ran.
   */
  | { action: "expire"; requested: boolean }
  /**
   * A `delivery` the extension cannot interpret: fail it with `error`.
   * `replaceDelivery` when `delivery` is not a map and must be rewritten whole.
   */
  | { action: "fail"; error: string; replaceDelivery: boolean };

/**
 * `leased`: an attempt holds the mail (a RETRY or PENDING written over it is
 * answered by that attempt's outcome). `waiting`: PENDING until its
 * `delivery.nextAttemptTime` (a retry backoff or a `sendAt`). `initialized`:
 * the echo of the extension's own first write; the invocation that made it
 * claims the mail.
 */
export type IgnoreReason = "deleted" | "finished" | "leased" | "waiting" | "initialized";

const KNOWN_STATES = `${STATES.slice(0, -1).join(", ")} or ${STATES[STATES.length - 1]}`;

/**
 * `before` is the document before the write that triggered this decision
 * (undefined for a create): it tells the echo of the extension's own first
 * write from a PENDING someone else wrote. `versionMs` is the update time of
 * `data`: a lease runs at least LEASE_MS from the version that carries it
 * (budget.ts, leaseEnd).
 */
export function decide(
  data: Record<string, unknown> | undefined,
  nowMs: number,
  before?: Record<string, unknown>,
  versionMs?: number,
): Decision {
  if (data === undefined) return { action: "ignore", reason: "deleted" };

  const delivery = data.delivery;
  const sendAt = toMillis(data.sendAt);
  const later = sendAt !== undefined && sendAt > nowMs ? { dueAt: sendAt } : {};
  // A client may create the document with a `delivery` of its own; only a
  // state the extension can act on matters, anything else starts afresh.
  if (delivery === undefined || delivery === null) return { action: "initialize", ...later };
  if (!isPlainMap(delivery)) {
    return {
      action: "fail",
      error: `Invalid field "delivery". Expected a map with a "state" field.`,
      replaceDelivery: true,
    };
  }
  const field = delivery as DeliveryField;
  if (field.state === undefined || field.state === null) return { action: "initialize", ...later };

  // A lease on a mail that is not finished means an attempt claimed it. A
  // person may since have written RETRY or PENDING over it (the console edits
  // one field): until the lease and its grace end, that attempt may still be
  // sending, so nothing else may claim the mail; its outcome answers the request.
  const unfinished = field.state === "PROCESSING" || field.state === "PENDING" || field.state === "RETRY";
  const lease = toMillis(field.leaseExpireTime);
  if (unfinished && lease !== undefined) {
    if (leaseExpired(lease, nowMs, versionMs)) return { action: "expire", requested: field.state !== "PROCESSING" };
    return { action: "ignore", reason: "leased" };
  }

  switch (field.state) {
    case "SUCCESS":
    case "ERROR":
      return { action: "ignore", reason: "finished" };
    case "PENDING":
      if (isOwnInitialization(before, field)) return { action: "ignore", reason: "initialized" };
      return decidePending(field, sendAt, nowMs);
    // A person's RETRY acts at once, whatever a backoff or `sendAt` says.
    case "RETRY":
      return { action: "claim", retry: true };
    case "PROCESSING":
      // A PROCESSING state without a readable lease can never be renewed by
      // anyone, so it is treated as expired rather than left stuck forever.
      return { action: "expire", requested: false };
    default:
      return {
        action: "fail",
        error: `Unknown delivery state ${describeState(field.state)}. Expected ${KNOWN_STATES}.`,
        replaceDelivery: false,
      };
  }
}

/** The extension's first write to a new document (no state before; PENDING with an attempt id, nothing attempted after). */
function isOwnInitialization(before: Record<string, unknown> | undefined, field: DeliveryField): boolean {
  if (before === undefined) return false;
  const previous = before.delivery;
  const previousState = isPlainMap(previous) ? (previous as DeliveryField).state : undefined;
  return (previousState === undefined || previousState === null) && field.attempts === 0 && typeof field.attemptId === "string";
}

/**
 * PENDING waits while `nextAttemptTime` is ahead. Before the first attempt, a
 * `sendAt` that differs from it reschedules (clients may move or bring
 * forward a scheduled mail); a `sendAt` in the past sends at once.
 */
function decidePending(field: DeliveryField, sendAt: number | undefined, nowMs: number): Decision {
  // null: released by the sweep of an earlier version, which found it due.
  if (field.nextAttemptTime === null) return { action: "claim", retry: false };
  const due = toMillis(field.nextAttemptTime);
  const attempted = typeof field.attempts === "number" && field.attempts > 0;
  if (!attempted && sendAt !== undefined) {
    if (sendAt <= nowMs) return { action: "claim", retry: false };
    return due === sendAt ? { action: "ignore", reason: "waiting" } : { action: "schedule", dueAt: sendAt };
  }
  if (due !== undefined && due > nowMs) return { action: "ignore", reason: "waiting" };
  return { action: "claim", retry: false };
}

function describeState(state: unknown): string {
  if (typeof state === "string") return `'${state.length > 40 ? `${state.slice(0, 40)}…` : state}'`;
  return `of type ${Array.isArray(state) ? "array" : typeof state}`;
}
