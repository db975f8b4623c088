/**
 * How one attempt spends its lease (LEASE_MS from the claim): the claim
 * write itself (retried through Firestore faults), composing (template and
 * user lookups), the suppression check and attachment downloads, then the
 * send, then the outcome write. The send must never still be running when
 * the lease expires: lease recovery would then end the mail as "lease
 * expired", or schedule a retry that sends it again. So the send's deadline
 * is cut to what the lease has left, and downloads leave the send its share.
 */

/** Kept free after the send, for the outcome write. */
export const OUTCOME_MARGIN_MS = 5_000;

/** A send given less than this is not started: nothing could be delivered in time. */
export const MIN_SEND_MS = 5_000;

/** How long a send starting at `nowMs` may take: its own deadline, cut so that it and the outcome write end before the lease. */
export function sendTimeLeft(leaseExpiresMs: number, nowMs: number, sendDeadlineMs: number): number {
  return Math.min(sendDeadlineMs, leaseExpiresMs - OUTCOME_MARGIN_MS - nowMs);
}

/** How long attachment downloads starting at `nowMs` may take, leaving the send at least MIN_SEND_MS. */
export function downloadTimeLeft(leaseExpiresMs: number, nowMs: number): number {
  return leaseExpiresMs - OUTCOME_MARGIN_MS - MIN_SEND_MS - nowMs;
}
