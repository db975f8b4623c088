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
import { STATES, toMillis, type DeliveryField } from "./delivery-field";

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
  /** PROCESSING whose lease has run out: the attempt is presumed dead. */
  | { action: "expire" }
  /**
   * A `delivery` the extension cannot interpret: fail it with `error`.
   * `replaceDelivery` when `delivery` is not a map and must be rewritten whole.
   */
  | { action: "fail"; error: string; replaceDelivery: boolean };

/** `waiting`: PENDING until its `delivery.nextAttemptTime` (a retry backoff or a `sendAt`). */
export type IgnoreReason = "deleted" | "finished" | "leased" | "waiting";

const KNOWN_STATES = `${STATES.slice(0, -1).join(", ")} or ${STATES[STATES.length - 1]}`;

export function decide(data: Record<string, unknown> | undefined, nowMs: number): Decision {
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

  switch (field.state) {
    case "SUCCESS":
    case "ERROR":
      return { action: "ignore", reason: "finished" };
    case "PENDING":
      return decidePending(field, sendAt, nowMs);
    // A person's RETRY acts at once, whatever a backoff or `sendAt` says.
    case "RETRY":
      return { action: "claim", retry: true };
    case "PROCESSING": {
      const lease = toMillis(field.leaseExpireTime);
      // A PROCESSING state without a readable lease can never be renewed by
      // anyone, so it is treated as expired rather than left stuck forever.
      if (lease === undefined || lease <= nowMs) return { action: "expire" };
      return { action: "ignore", reason: "leased" };
    }
    default:
      return {
        action: "fail",
        error: `Unknown delivery state ${describeState(field.state)}. Expected ${KNOWN_STATES}.`,
        replaceDelivery: false,
      };
  }
}

/**
 * PENDING waits while `nextAttemptTime` is ahead. Before the first attempt, a
 * `sendAt` that differs from it reschedules (clients may move or bring
 * forward a scheduled mail); a `sendAt` in the past sends at once.
 */
function decidePending(field: DeliveryField, sendAt: number | undefined, nowMs: number): Decision {
  // null: released by the scheduled sweep, which found it due. Trusting the
  // sweep's clock keeps a small skew between instances from re-scheduling it.
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
