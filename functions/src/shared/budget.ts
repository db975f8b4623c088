/**
 * Every deadline of the delivery path, in one place, because they only work
 * together (test/unit/delivery/budget.test.ts asserts the inequalities):
 *
 *   invocation ─ claim write ─┬─ lease (LEASE_MS) ──────────────────────┬─ grace ─┐
 *                             │ lookups, downloads │ send │ outcome margin│         │
 *                             claimed                                    lease end  observers may expire it
 *
 * A send never outlives its lease: it is cut to what the lease has left minus
 * the outcome margin, and not started with less than MIN_SEND_MS. Observers
 * wait LEASE_GRACE_MS beyond the lease before calling an attempt dead, which
 * covers the outcome write's whole retry budget plus one call hanging to the
 * client library's timeout. The function's timeout covers the slowest claim,
 * the lease and the grace, so an invocation is never killed while its attempt
 * may still record its outcome.
 */

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

/** Backoff between a store's retries of one call. */
export const STORE_BACKOFF_MS: { readonly first: number; readonly max: number } = { first: 200, max: 3_000 };

/** The client library's own timeout for one Firestore call (its default for commits and reads). */
export const FIRESTORE_CALL_TIMEOUT_MS = 60_000;

/** From the latest start of the outcome write: its retries plus one call left to its timeout. */
export const LEASE_GRACE_MS = OUTCOME_RETRY_BUDGET_MS + FIRESTORE_CALL_TIMEOUT_MS - OUTCOME_MARGIN_MS;

/** processQueue's timeout (extension.yaml `timeoutSeconds`). */
export const FUNCTION_TIMEOUT_MS = 300_000;

/**
 * When the sweep looks at a new mail whose PENDING writer has not claimed it:
 * that invocation died. Longer than the slowest claim write.
 */
export const CLAIM_WATCH_MS = 2 * 60_000;

/** All of a message's attachment downloads, redirects included, within the lease and before the send. */
export const DOWNLOAD_DEADLINE_MS = 12_000;

/** A download server that sends nothing for this long is dropped, even with deadline left. */
export const DOWNLOAD_IDLE_MS = 5_000;

/** Per Firestore lookup of a mail (templates, users, suppressions); the lease also holds the send. */
export const LOOKUP_DEADLINE_MS = 10_000;

/** One OAuth2 token request, inside the send's deadline. */
export const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** Caps on nodemailer's own timeouts (its defaults are minutes); a configuration may only lower them. */
export const SMTP_TIMEOUT_CAPS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000, dnsTimeout: 10_000 } as const;

/**
 * One read of a Secret Manager secret version (a sender profile's password or
 * key), the client library's own retries included. Like a Firestore lookup it
 * runs after the claim and before the send, so it gets the same bound.
 */
export const SECRET_READ_DEADLINE_MS = 10_000;

/**
 * How long a secret value read from Secret Manager is reused. It bounds how
 * late an instance adopts a new version of `latest` while the old credential
 * still works (an authentication failure drops the cached value at once), and
 * what reading costs: each secret is read at most 12 times an hour per
 * instance, whatever the mail rate, far under Secret Manager's access quota.
 */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;

/** One lifecycle event's publish: a slow Eventarc must not hold a delivery's invocation for long. */
export const PUBLISH_TIMEOUT_MS = 10_000;

/**
 * How long one sweep starts new pages: the page in flight still needs its
 * writes and events within the function's 120 s, and a run stays inside the
 * default one-minute schedule, so consecutive runs rarely overlap.
 */
export const SWEEP_BUDGET_MS = 50_000;

/** How long a send starting at `nowMs` may take: its own deadline, cut so that it and the outcome write end before the lease. */
export function sendTimeLeft(leaseExpiresMs: number, nowMs: number, sendDeadlineMs: number): number {
  return Math.min(sendDeadlineMs, leaseExpiresMs - OUTCOME_MARGIN_MS - nowMs);
}

/**
 * The archive of a sent message (ARCHIVE_SENT_MAIL): one write between the
 * send and the outcome write, taken only from what the lease has left beyond
 * the outcome margin, so it never delays the outcome past the lease.
 */
export const ARCHIVE_DEADLINE_MS = 5_000;

/** An archive write given less than this is not started. */
export const MIN_ARCHIVE_MS = 1_000;

/** How long an archive write starting at `nowMs` may take: its deadline, cut to keep the outcome margin before the lease ends. */
export function archiveTimeLeft(leaseExpiresMs: number, nowMs: number): number {
  return Math.min(ARCHIVE_DEADLINE_MS, leaseExpiresMs - OUTCOME_MARGIN_MS - nowMs);
}

/** How long attachment downloads starting at `nowMs` may take, leaving the send at least MIN_SEND_MS. */
export function downloadTimeLeft(leaseExpiresMs: number, nowMs: number): number {
  return leaseExpiresMs - OUTCOME_MARGIN_MS - MIN_SEND_MS - nowMs;
}

/**
 * When a lease really ends: the end written on the document, or LEASE_MS
 * after the version carrying it was written (`versionMs`), whichever is
 * later. Through an outage the client library retries a commit for minutes
 * inside one call, so a claim can land long after it was requested; counted
 * from the request, observers would expire it as it landed and the mail would
 * end in ERROR unsent. A later write only moves the end later.
 */
export function leaseEnd(leaseMs: number, versionMs?: number): number {
  return versionMs === undefined ? leaseMs : Math.max(leaseMs, versionMs + LEASE_MS);
}

/** Whether observers may call an attempt dead at `nowMs`: its lease (see leaseEnd) and the grace have passed. */
export function attemptPresumedDead(leaseMs: number, nowMs: number, versionMs?: number): boolean {
  return leaseEnd(leaseMs, versionMs) + LEASE_GRACE_MS <= nowMs;
}

/** How long a sender profile document is trusted before it is read again: an edit takes effect within this. */
export const PROFILE_CACHE_MS = 60_000;

/**
 * A mail with `separateMessages` goes out in batches: each batch's recipients
 * are recorded as in flight (one write) before its sends start, `concurrency`
 * at a time. Ten per batch keeps the checkpoints to one write per ten messages.
 */
export const SEPARATE_SEND = { batch: 10, concurrency: 5 } as const;

/**
 * Whether a batch of separate messages may start at `nowMs`: the first as a
 * single mail's send would (MIN_SEND_MS), a later one only while each of its
 * sends can have its whole SEND_DEADLINE_MS before the lease ends, because a
 * send cut short after the hand-over leaves its recipient's outcome unknown.
 * The recipients not reached follow in the next attempt.
 */
export function batchFits(leaseExpiresMs: number, nowMs: number, first: boolean): boolean {
  return sendTimeLeft(leaseExpiresMs, nowMs, SEND_DEADLINE_MS) >= (first ? MIN_SEND_MS : SEND_DEADLINE_MS);
}
