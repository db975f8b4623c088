/**
 * Ending an attempt whose lease ran out: the one way both handlers do it.
 * processQueue meets an expired lease when something writes the document;
 * maintainQueue finds it by scanning. Either way the attempt is presumed
 * dead and counted, the document moves to ERROR or to a retry
 * (retry-policy.ts), and only the invocation whose conditional write landed
 * logs it and publishes the end of the attempt, so each is reported once.
 */
import type { Timestamp } from "firebase-admin/firestore";
import { attemptsOf, LEASE_EXPIRED_ERROR } from "../delivery/delivery-field";
import type { Patch } from "../delivery/patches";
import { expiryPatch, type RetrySettings } from "../delivery/retry-policy";
import type { EventBatch } from "../event-batch";
import * as logs from "../logs";

export interface LeaseExpiry {
  /** Where the mail goes: a retry (PENDING) or ERROR. */
  state: "PENDING" | "ERROR";
  patch: Patch;
  /** `delivery.attempts` once the patch is written. */
  attempts: number;
}

/** What to write for the document `data` whose lease ran out. */
export function planLeaseExpiry(settings: RetrySettings, data: Record<string, unknown>, nowMs: number): LeaseExpiry {
  const before = attemptsOf(data);
  const { state, patch } = expiryPatch(settings, before, nowMs);
  return { state, patch, attempts: before + 1 };
}

/** Once the expiry's write landed (committed at `written`): log it and publish the end of the attempt. */
export function recordLeaseExpiry(path: string, expiry: LeaseExpiry, events: EventBatch, written: Timestamp): void {
  logs.leaseExpired(path, expiry.state, expiry.attempts);
  events.wrote(expiry.patch, written);
  const ended = { state: expiry.state, attempts: expiry.attempts, error: LEASE_EXPIRED_ERROR };
  events.publish("onError", ended);
  events.publish("onComplete", ended);
}
