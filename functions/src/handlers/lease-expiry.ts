/**
 * Ending an attempt whose lease (and its grace) ran out: the one way both
 * handlers do it. processQueue meets an expired lease when something writes
 * the document; maintainQueue finds it by scanning. Either way the attempt is
 * presumed dead and counted, and the mail ends in ERROR: the attempt may have
 * sent it before dying, so it is never retried automatically. Only the
 * invocation whose conditional write landed logs it and publishes the end of
 * the attempt, so each is reported once.
 */
import type { Timestamp } from "firebase-admin/firestore";
import { attemptsOf, LEASE_EXPIRED_ERROR } from "../delivery/delivery-field";
import { expiryPatch, type Patch } from "../delivery/patches";
import type { EventBatch } from "../lifecycle/event-batch";
import * as logs from "../shared/logs";

export interface LeaseExpiry {
  state: "ERROR";
  patch: Patch;
  /** `delivery.attempts` once the patch is written. */
  attempts: number;
}

/**
 * What to write for the document `data` whose lease ran out; `requested`
 * when a person wrote RETRY or PENDING over the attempt (declined: the
 * attempt's outcome is unknown).
 */
export function planLeaseExpiry(data: Record<string, unknown>, requested: boolean): LeaseExpiry {
  return { state: "ERROR", patch: expiryPatch(requested), attempts: attemptsOf(data) + 1 };
}

/** Once the expiry's write landed (committed at `written`): log it and publish the end of the attempt. */
export function recordLeaseExpiry(path: string, expiry: LeaseExpiry, events: EventBatch, written: Timestamp): void {
  events.wrote(expiry.patch, written);
  announceLeaseExpiry(path, expiry, events);
}

/**
 * Logs a landed expiry and publishes the end of the attempt through
 * `events`, which already follow the version the expiry wrote (the sweep
 * reads that version back rather than keep whole documents in memory).
 */
export function announceLeaseExpiry(path: string, expiry: LeaseExpiry, events: EventBatch): void {
  logs.leaseExpired(path, expiry.state, expiry.attempts);
  const ended = { state: expiry.state, attempts: expiry.attempts, error: LEASE_EXPIRED_ERROR };
  events.publish("onError", ended);
  events.publish("onComplete", ended);
}
