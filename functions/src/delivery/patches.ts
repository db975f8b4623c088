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

/**
 * The first `delivery` of a new document: PENDING, no attempt made yet, and
 * the id of the attempt the writing invocation is about to claim it with
 * (its write is recognised by that id if its answer is lost). `dueAt` (from
 * `sendAt`) makes it wait for the sweep; otherwise `nextAttemptTime` is the
 * time at which the sweep looks at it if that invocation never claims it.
 */
export function pendingPatch(nowMs: number, attemptId: string, expireAt?: Timestamp, dueAt?: number): Patch {
  const delivery = initialDelivery(nowMs, expireAt);
  delivery.attemptId = attemptId;
  delivery.nextAttemptTime = Timestamp.fromMillis(dueAt ?? nowMs + CLAIM_WATCH_MS);
  return { delivery };
}

/** A scheduled, not yet attempted mail whose `sendAt` moved. */
export function reschedulePatch(dueAt: number): Patch {
  return { "delivery.nextAttemptTime": Timestamp.fromMillis(dueAt) };
}

/**
 * A new document that cannot be sent (invalid fields, broken config): one
 * write straight to ERROR instead of PENDING then ERROR. It counts as one
 * attempt, so that `delivery.attempts` reads the same whether a document
 * failed its checks or its send.
 */
export function newDocumentErrorPatch(nowMs: number, error: string, expireAt?: Timestamp): Patch {
  return {
    delivery: {
      ...initialDelivery(nowMs, expireAt),
      state: "ERROR",
      attempts: 1,
      endTime: FieldValue.serverTimestamp(),
      leaseExpireTime: null,
      error,
    },
  };
}

/**
 * PENDING or RETRY → PROCESSING under a new attempt. The attempt id (random,
 * 128 bits) is the attempt's ownership token: only the invocation holding it
 * records the outcome. A request answered by the previous attempt is cleared.
 */
export function claimPatch(nowMs: number, attemptId: string): { patch: Patch; lease: Timestamp; startTime: Timestamp } {
  const lease = Timestamp.fromMillis(nowMs + LEASE_MS);
  const startTime = Timestamp.fromMillis(nowMs);
  return {
    lease,
    startTime,
    patch: {
      "delivery.state": "PROCESSING",
      "delivery.startTime": startTime,
      "delivery.leaseExpireTime": lease,
      "delivery.attemptId": attemptId,
      "delivery.nextAttemptTime": FieldValue.delete(),
      "delivery.retryRequest": FieldValue.delete(),
    },
  };
}

export function successPatch(info: DeliveryInfo, countsAsAttempt = true): Patch {
  return {
    ...finished(countsAsAttempt),
    "delivery.state": "SUCCESS",
    "delivery.error": null,
    "delivery.info": info,
  };
}

/**
 * A failed attempt (`countsAsAttempt`), or a document failed without an
 * attempt (an unknown state). `info` is removed so that a stale success from
 * an earlier attempt never sits beside an ERROR.
 */
export function errorPatch(error: string, countsAsAttempt: boolean): Patch {
  return {
    ...finished(countsAsAttempt),
    "delivery.state": "ERROR",
    "delivery.error": error,
    "delivery.info": FieldValue.delete(),
  };
}

/**
 * A failed attempt that will be retried automatically: back to PENDING with
 * the reason and the time of the next attempt, the attempt counted. `endTime`
 * is left alone: the mail has not finished.
 */
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
 * A RETRY or PENDING that a person wrote while an attempt was running is
 * answered once that attempt's outcome is known: honoured (the mail is due
 * again at once) only when the attempt certainly did not deliver it;
 * otherwise declined, and the person can ask again now that the outcome is
 * on the document. `delivery.retryRequest` says which, and why.
 */
export type RequestAnswer = "honoured" | "declined";

export const REQUEST_REASONS = {
  succeeded: "The attempt that was running when it was written succeeded; write RETRY again to send the mail once more.",
  failed: "The attempt that was running when it was written failed before the mail was accepted, so the mail is sent again.",
  unknown: "The attempt that was running when it was written may have delivered the mail, so it was not sent again automatically; write RETRY again to send it once more.",
} as const;

export function requestAnswer(answer: RequestAnswer, reason: string): Patch {
  return { "delivery.retryRequest": { answer, reason } };
}

/** An attempt's failure, with a person's request to send again honoured: due again at once. */
export function honouredRetryPatch(error: string, nowMs: number): Patch {
  return { ...retryPatch(error, nowMs), ...requestAnswer("honoured", REQUEST_REASONS.failed) };
}

/**
 * An attempt whose lease (and its grace) ran out: its invocation died or
 * hung, and it may have sent the mail before that, so it is never retried
 * automatically: ERROR, with the original's text. A request a person wrote
 * during it is declined.
 */
export function expiryPatch(requested: boolean): Patch {
  const patch = errorPatch(LEASE_EXPIRED_ERROR, true);
  return requested ? { ...patch, ...requestAnswer("declined", REQUEST_REASONS.unknown) } : patch;
}

/** Replaces a `delivery` that is not a map, which dotted paths cannot update. */
export function replaceDeliveryWithErrorPatch(nowMs: number, error: string): Patch {
  return {
    delivery: {
      state: "ERROR",
      startTime: Timestamp.fromMillis(nowMs),
      endTime: FieldValue.serverTimestamp(),
      attempts: 0,
      leaseExpireTime: null,
      error,
    },
  };
}

/** What every final outcome writes: the end of the attempt and of its lease. */
function finished(countsAsAttempt: boolean): Patch {
  const patch: Patch = {
    "delivery.endTime": FieldValue.serverTimestamp(),
    "delivery.leaseExpireTime": null,
    "delivery.nextAttemptTime": FieldValue.delete(),
  };
  if (countsAsAttempt) patch["delivery.attempts"] = FieldValue.increment(1);
  return patch;
}

function initialDelivery(nowMs: number, expireAt?: Timestamp): Record<string, unknown> {
  const delivery: Record<string, unknown> = {
    state: "PENDING",
    startTime: Timestamp.fromMillis(nowMs),
    attempts: 0,
    error: null,
  };
  if (expireAt) delivery.expireAt = expireAt;
  return delivery;
}
