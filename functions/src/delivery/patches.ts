/**
 * The writes that move a mail document through its states. Pure builders:
 * store.ts applies them, tests inspect them. Field names and values are the
 * delivery contract (`delivery-status` in the README).
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { DeliveryInfo } from "../types";

/**
 * How long a claim lasts. It must outlive the worst-case send (the SMTP
 * providers' hard deadline, SEND_DEADLINE_MS) with room for the claim and
 * outcome writes, so that a live sender never sees its lease expire.
 */
export const LEASE_MS = 60_000;

export type Patch = Record<string, unknown>;

/**
 * The first `delivery` of a new document: PENDING, no attempt made yet.
 * `dueAt` (from `sendAt`) makes it wait for the scheduled dispatcher.
 */
export function pendingPatch(nowMs: number, expireAt?: Timestamp, dueAt?: number): Patch {
  const delivery = initialDelivery(nowMs, expireAt);
  if (dueAt !== undefined) delivery.nextAttemptTime = Timestamp.fromMillis(dueAt);
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
 * PENDING or RETRY → PROCESSING. The lease doubles as the attempt's ownership
 * token; `nonceMicros` (sub-millisecond microseconds added to the lease and
 * the start time) keeps two claims made in the same millisecond apart.
 */
export function claimPatch(nowMs: number, nonceMicros = 0): { patch: Patch; lease: Timestamp; startTime: Timestamp } {
  const lease = withMicros(Timestamp.fromMillis(nowMs + LEASE_MS), nonceMicros);
  const startTime = withMicros(Timestamp.fromMillis(nowMs), nonceMicros);
  return {
    lease,
    startTime,
    patch: {
      "delivery.state": "PROCESSING",
      "delivery.startTime": startTime,
      "delivery.leaseExpireTime": lease,
      "delivery.nextAttemptTime": FieldValue.delete(),
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

/** Firestore keeps microseconds: the nonce is added in whole microseconds so that it survives a round trip. */
function withMicros(time: Timestamp, micros: number): Timestamp {
  return micros === 0 ? time : new Timestamp(time.seconds, time.nanoseconds + micros * 1000);
}
