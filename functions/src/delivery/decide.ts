/**
 * The delivery state machine, as a pure function: given the mail document
 * from an event and the current time, say what to do. No I/O, so every
 * transition is a table-driven unit test (test/unit/delivery/decide.test.ts).
 * The writes carrying out a decision are conditioned on the event's update
 * time (store.ts), so a decision taken on stale data is never applied.
 */
import { isPlainMap } from "../shared/plain-map";
import { attemptPresumedDead } from "../shared/budget";
import { toMillis } from "../shared/timestamps";
import { STATES, type DeliveryField } from "./delivery-field";

export type Decision =
  /**
   * Nothing to do. `leased`: an attempt holds the mail (its outcome answers a RETRY or PENDING written over it);
   * `waiting`: PENDING until `nextAttemptTime`; `initialized`: the echo of our own first write, whose invocation claims it.
   */
  | { action: "ignore"; reason: "deleted" | "finished" | "leased" | "waiting" | "initialized" }
  /** A new document: PENDING, then claimed at once unless `sendAt` asks for later (`dueAt`). */
  | { action: "initialize"; dueAt?: number }
  /** PENDING and not yet attempted, with a `sendAt` that moved: wait until `dueAt`. */
  | { action: "schedule"; dueAt: number }
  /** PENDING or RETRY: claim it (PROCESSING with a lease) and send. */
  | { action: "claim"; retry: boolean }
  /** An attempt whose lease (and grace) ran out; `requested` when a person wrote RETRY or PENDING over it. */
  | { action: "expire"; requested: boolean }
  /** A `delivery` the extension cannot interpret; `replaceDelivery` when it is not a map and must be rewritten whole. */
  | { action: "fail"; error: string; replaceDelivery: boolean };

const KNOWN_STATES = `${STATES.slice(0, -1).join(", ")} or ${STATES[STATES.length - 1]}`;

/**
 * `before` (undefined for a create) tells the echo of the extension's own
 * first write from a PENDING someone else wrote. `versionMs` is `data`'s
 * update time: a lease runs at least LEASE_MS from the version carrying it (shared/budget.ts).
 */
export function decide(data: Record<string, unknown> | undefined, nowMs: number, before?: Record<string, unknown>, versionMs?: number): Decision {
  if (data === undefined) return { action: "ignore", reason: "deleted" };
  const delivery = data.delivery;
  const sendAt = toMillis(data.sendAt);
  const later = sendAt !== undefined && sendAt > nowMs ? { dueAt: sendAt } : {};
  // A client may create the document with a `delivery` of its own; without a state it starts afresh.
  if (delivery === undefined || delivery === null) return { action: "initialize", ...later };
  if (!isPlainMap(delivery)) return { action: "fail", error: `Invalid field "delivery". Expected a map with a "state" field.`, replaceDelivery: true };
  const field = delivery as DeliveryField;
  if (field.state === undefined || field.state === null) return { action: "initialize", ...later };

  // A lease on an unfinished mail means an attempt claimed it. A person may
  // since have written RETRY or PENDING over it (the console edits one field):
  // until the lease and its grace end that attempt may still be sending, so
  // nothing else may claim the mail; its outcome answers the request.
  const lease = toMillis(field.leaseExpireTime);
  if ((field.state === "PROCESSING" || field.state === "PENDING" || field.state === "RETRY") && lease !== undefined) {
    if (attemptPresumedDead(lease, nowMs, versionMs)) return { action: "expire", requested: field.state !== "PROCESSING" };
    return { action: "ignore", reason: "leased" };
  }
  switch (field.state) {
    case "SUCCESS":
    case "ERROR":
      return { action: "ignore", reason: "finished" };
    case "PENDING":
      return isOwnInitialization(before, field) ? { action: "ignore", reason: "initialized" } : decidePending(field, sendAt, nowMs);
    // A person's RETRY acts at once, whatever a backoff or `sendAt` says.
    case "RETRY":
      return { action: "claim", retry: true };
    // PROCESSING without a readable lease can never be renewed: expired rather than stuck forever.
    case "PROCESSING":
      return { action: "expire", requested: false };
    default:
      return { action: "fail", error: `Unknown delivery state ${describeState(field.state)}. Expected ${KNOWN_STATES}.`, replaceDelivery: false };
  }
}

/** The extension's first write to a new document: no state before; PENDING with an attempt id, nothing attempted. */
function isOwnInitialization(before: Record<string, unknown> | undefined, field: DeliveryField): boolean {
  if (before === undefined) return false;
  const previousState = isPlainMap(before.delivery) ? (before.delivery as DeliveryField).state : undefined;
  return (previousState === undefined || previousState === null) && field.attempts === 0 && typeof field.attemptId === "string";
}

/**
 * PENDING waits while `nextAttemptTime` is ahead. Before the first attempt a
 * `sendAt` that differs from it reschedules (clients may move a scheduled
 * mail); a `sendAt` in the past sends at once.
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
