/**
 * Every deadline of the delivery path, in one place, because they only work
 * together (test/unit/delivery/budget.test.ts asserts the inequalities):
 *
 *   invocation ─ claim write ─┬─ lease (LEASE_MS) ──────────────────────┬─ grace ─┐
 *                             │ lookups, downloads │ send │ outcome margin│         │
 *                             claimed                                    lease end  observers may expire it
 *
 * - A send never outlives its lease: its deadline is cut to what the lease
 *   has left minus the outcome margin, and it is not started with less than
 *   MIN_SEND_MS.
 * - The outcome write starts at the latest OUTCOME_MARGIN_MS before the
 *   lease ends and keeps trying through Firestore faults; observers (the
 *   trigger, the sweep) give it LEASE_GRACE_MS beyond the lease before they
 *   call the attempt dead, which covers its whole retry budget plus one call
 *   left hanging to the client library's own timeout.
 * - The function's timeout covers the slowest claim, the whole lease and the
 *   grace, so that an invocation is never killed while its attempt is still
 *   allowed to record its outcome.
 */

/** How long a claim lasts. */
export const LEASE_MS = 60_000;

/** The longest one send may take, connecting included, for every provider. */
export const SEND_DEADLINE_MS = 40_000;

/** Kept free after the send, for the outcome write. */
export const OUTCOME_MARGIN_MS = 5_000;

/** A send given less than this is not started: nothing could be delivered in time. */
export const MIN_SEND_MS = 5_000;

/** How long one conditional write keeps retrying transient Firestore failures. */
export const WRITE_RETRY_BUDGET_MS = 15_000;

/** How long the outcome write keeps retrying: to the end of the lease's grace. */
export const OUTCOME_RETRY_BUDGET_MS = 45_000;

/** The client library's own timeout for one Firestore call (its default for commits and reads). */
export const FIRESTORE_CALL_TIMEOUT_MS = 60_000;

/**
 * How long after a lease's end observers still wait for its outcome: the
 * outcome write's retries plus one call left to its timeout, from the
 * latest moment it can start (OUTCOME_MARGIN_MS before the lease ends).
 */
export const LEASE_GRACE_MS = OUTCOME_RETRY_BUDGET_MS + FIRESTORE_CALL_TIMEOUT_MS - OUTCOME_MARGIN_MS;

/** processQueue's timeout (extension.yaml `timeoutSeconds`). */
export const FUNCTION_TIMEOUT_MS = 300_000;

/**
 * A new mail's PENDING write names a time (`delivery.nextAttemptTime`) at
 * which the sweep looks at it if the invocation that wrote it has not claimed
 * it by then: that invocation died. Longer than the slowest claim write.
 */
export const CLAIM_WATCH_MS = 2 * 60_000;

/** How long a send starting at `nowMs` may take: its own deadline, cut so that it and the outcome write end before the lease. */
export function sendTimeLeft(leaseExpiresMs: number, nowMs: number, sendDeadlineMs: number): number {
  return Math.min(sendDeadlineMs, leaseExpiresMs - OUTCOME_MARGIN_MS - nowMs);
}

/** How long attachment downloads starting at `nowMs` may take, leaving the send at least MIN_SEND_MS. */
export function downloadTimeLeft(leaseExpiresMs: number, nowMs: number): number {
  return leaseExpiresMs - OUTCOME_MARGIN_MS - MIN_SEND_MS - nowMs;
}

/**
 * When an attempt's lease really ends: the end written on the document, or
 * LEASE_MS after the version carrying it was written (`versionMs`, its update
 * time), whichever is later. The written end counts from when the claim was
 * requested, but the claim can land much later: through an outage the
 * client library retries a commit by itself for minutes, inside one call.
 * Counted from the request, such a claim would be expired by observers as
 * it landed, or refused its send by its own attempt, and the mail would end
 * in ERROR without ever being sent. The attempt and the observers count the
 * same way, from the same version; a later write (a person's RETRY, an
 * edit) only moves the end later, so an attempt is never called dead early.
 */
export function leaseEnd(leaseMs: number, versionMs?: number): number {
  return versionMs === undefined ? leaseMs : Math.max(leaseMs, versionMs + LEASE_MS);
}

/** Whether observers may call an attempt dead at `nowMs`: its lease (see leaseEnd) and the grace have passed. */
export function leaseExpired(leaseMs: number, nowMs: number, versionMs?: number): boolean {
  return leaseEnd(leaseMs, versionMs) + LEASE_GRACE_MS <= nowMs;
}
