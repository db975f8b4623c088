/**
 * How one attempt spends its lease (LEASE_MS from the claim): composing
 * (template and user lookups), the suppression check and attachment
 * downloads come first, then the send, bounded by the provider's send
 * deadline, then the outcome write. The send must not start so late that it
 * could still be running when the lease expires: lease recovery would then
 * end the mail as "lease expired", or schedule a retry that sends it again.
 */

/** Kept free after the send's own deadline, for the outcome write. */
export const OUTCOME_MARGIN_MS = 5_000;

/** The latest moment (ms since the epoch) at which an attempt may start its send. */
export function latestSendStart(leaseExpiresMs: number, sendDeadlineMs: number): number {
  return leaseExpiresMs - sendDeadlineMs - OUTCOME_MARGIN_MS;
}
