/**
 * Ending an attempt whose lease and grace ran out, the one way both the
 * trigger (when something writes the mail) and the sweep do it. The attempt
 * is presumed dead and counted; it may have sent the mail before dying, so
 * the mail ends in ERROR and is never retried automatically. Only the writer
 * whose conditional write landed logs and announces it.
 */
import type { Timestamp } from "firebase-admin/firestore";
import type { EventBatch } from "../lifecycle/event-batch";
import type { Transition } from "../lifecycle/transitions";
import * as logs from "../shared/logs";
import { attemptsOf, LEASE_EXPIRED_ERROR, type State } from "./delivery-field";
import { expiryPatch, type Patch } from "./patches";

export interface LeaseExpiry {
  patch: Patch;
  /** What the landed write announces. */
  transition: Transition;
}

/** `requested`: a person wrote RETRY or PENDING over the attempt (declined: its outcome is unknown). */
export function planLeaseExpiry(data: Record<string, unknown>, requested: boolean): LeaseExpiry {
  const from = (data.delivery as { state?: State } | undefined)?.state ?? "PROCESSING";
  const transition: Transition = { from, to: "ERROR", attempts: attemptsOf(data) + 1, error: LEASE_EXPIRED_ERROR };
  return { patch: expiryPatch(requested), transition };
}

/** Once the expiry's write landed at `written`. */
export function recordLeaseExpiry(path: string, expiry: LeaseExpiry, events: EventBatch, written: Timestamp): void {
  events.wrote(expiry.patch, written);
  announceLeaseExpiry(path, expiry, events);
}

/** Through `events`, which already follow the version the expiry wrote (the sweep reads it back). */
export function announceLeaseExpiry(path: string, expiry: LeaseExpiry, events: EventBatch): void {
  logs.leaseExpired(path, expiry.transition.attempts);
  events.moved(expiry.transition);
}
