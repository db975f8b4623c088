/**
 * The writes that move a mail document through its states. Pure builders:
 * store.ts applies them, tests inspect them. Field names and values are the
 * delivery contract (`delivery-status` in the README).
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { DeliveryInfo } from "../shared/types";
import { CLAIM_WATCH_MS, LEASE_MS } from "../shared/budget";
import { LEASE_EXPIRED_ERROR } from "./delivery-field";

export type Patch = Record<string, unknown>;

/** A whole first `delivery`: PENDING with nothing attempted, then `fields`. */
function newDelivery(nowMs: number, fields: Patch, expireAt?: Timestamp): Patch {
  return { delivery: { state: "PENDING", startTime: Timestamp.fromMillis(nowMs), attempts: 0, error: null, ...(expireAt && { expireAt }), ...fields } };
}

/**
 * A new document's PENDING, with the id of the attempt about to claim it (which recognises its write if the answer
 * is lost). The sweep looks at it at `dueAt` (from `sendAt`), or CLAIM_WATCH_MS on if that claim never comes.
 */
export function pendingPatch(nowMs: number, attemptId: string, expireAt?: Timestamp, dueAt?: number): Patch {
  return newDelivery(nowMs, { attemptId, nextAttemptTime: Timestamp.fromMillis(dueAt ?? nowMs + CLAIM_WATCH_MS) }, expireAt);
}

/** A scheduled, not yet attempted mail whose `sendAt` moved. */
export function reschedulePatch(dueAt: number): Patch {
  return { "delivery.nextAttemptTime": Timestamp.fromMillis(dueAt) };
}

/**
 * A new document that cannot be sent: straight to ERROR. It counts as one
 * attempt, so `delivery.attempts` reads the same whether it failed its checks or its send.
 */
export function newDocumentErrorPatch(nowMs: number, error: string, expireAt?: Timestamp): Patch {
  return newDelivery(nowMs, { state: "ERROR", attempts: 1, endTime: FieldValue.serverTimestamp(), leaseExpireTime: null, error }, expireAt);
}

/** Replaces a `delivery` that is not a map, which dotted paths cannot update. */
export function replaceDeliveryWithErrorPatch(nowMs: number, error: string): Patch {
  const startTime = Timestamp.fromMillis(nowMs);
  return { delivery: { state: "ERROR", startTime, endTime: FieldValue.serverTimestamp(), attempts: 0, leaseExpireTime: null, error } };
}

/**
 * PENDING or RETRY → PROCESSING under a new attempt. The attempt id (random,
 * 128 bits) is its ownership token: only the invocation holding it records
 * the outcome. A request answered by the previous attempt is cleared.
 */
export function claimPatch(nowMs: number, attemptId: string): { patch: Patch; lease: Timestamp } {
  const lease = Timestamp.fromMillis(nowMs + LEASE_MS);
  return {
    lease,
    patch: {
      "delivery.state": "PROCESSING",
      "delivery.startTime": Timestamp.fromMillis(nowMs),
      "delivery.leaseExpireTime": lease,
      "delivery.attemptId": attemptId,
      "delivery.nextAttemptTime": FieldValue.delete(),
      "delivery.retryRequest": FieldValue.delete(),
    },
  };
}

/** A final outcome: the attempt (if it was one) counted, its lease ended. */
function finished(state: "SUCCESS" | "ERROR", error: string | null, info: unknown, countsAsAttempt: boolean): Patch {
  return {
    "delivery.endTime": FieldValue.serverTimestamp(),
    "delivery.leaseExpireTime": null,
    "delivery.nextAttemptTime": FieldValue.delete(),
    ...(countsAsAttempt && { "delivery.attempts": FieldValue.increment(1) }),
    "delivery.state": state,
    "delivery.error": error,
    "delivery.info": info,
  };
}

export function successPatch(info: DeliveryInfo, countsAsAttempt = true): Patch {
  return finished("SUCCESS", null, info, countsAsAttempt);
}

/**
 * A failed attempt (`countsAsAttempt`), or a document failed without one (an
 * unknown state). `info` is removed so a stale success never sits beside an ERROR.
 */
export function errorPatch(error: string, countsAsAttempt: boolean): Patch {
  return finished("ERROR", error, FieldValue.delete(), countsAsAttempt);
}

/** A failed attempt to retry automatically: PENDING until `dueAt`, the attempt counted; no `endTime`, as the mail has not finished. */
export function retryPatch(error: string, dueAt: number): Patch {
  return {
    "delivery.state": "PENDING",
    "delivery.attempts": FieldValue.increment(1),
    "delivery.leaseExpireTime": null,
    "delivery.error": error,
    "delivery.info": FieldValue.delete(),
    "delivery.nextAttemptTime": Timestamp.fromMillis(dueAt),
  };
}

/**
 * A RETRY or PENDING a person wrote while an attempt ran is answered once
 * that attempt's outcome is known: honoured (due again at once) only when the
 * attempt certainly did not deliver; otherwise declined, and the person can
 * ask again now that the outcome is on the document.
 */
export const REQUEST_REASONS = {
  succeeded: "The attempt that was running when it was written succeeded; write RETRY again to send the mail once more.",
  failed: "The attempt that was running when it was written failed before the mail was accepted, so the mail is sent again.",
  unknown: "The attempt that was running when it was written may have delivered the mail, so it was not sent again automatically; write RETRY again to send it once more.",
} as const;

export function requestAnswer(answer: "honoured" | "declined", reason: string): Patch {
  return { "delivery.retryRequest": { answer, reason } };
}

export function honouredRetryPatch(error: string, nowMs: number): Patch {
  return { ...retryPatch(error, nowMs), ...requestAnswer("honoured", REQUEST_REASONS.failed) };
}

/**
 * An attempt whose lease (and grace) ran out may have sent the mail before
 * its invocation died, so it is never retried automatically; a request made
 * during it is declined.
 */
export function expiryPatch(requested: boolean): Patch {
  return { ...errorPatch(LEASE_EXPIRED_ERROR, true), ...(requested && requestAnswer("declined", REQUEST_REASONS.unknown)) };
}
