/**
 * maintainQueue: the scheduled sweep that keeps mail from getting stuck.
 * - An expired lease (`delivery.leaseExpireTime` in the past on a
 *   PROCESSING document) means its attempt died: the document moves to
 *   ERROR with `Message processing lease expired.`, or to a retry when
 *   automatic retries are on (lease-expiry.ts). Without the sweep, an expired
 *   lease would be noticed only when something else wrote the document, and
 *   a crash would leave mail in PROCESSING for ever.
 * - A due `delivery.nextAttemptTime` (a retry backoff or a `sendAt`) on a
 *   PENDING document is released by setting it to null: that write triggers
 *   processQueue, which claims and sends as for any PENDING mail.
 *
 * Both scans are single-field range queries (indexed automatically for a
 * collection), read a page at a time, oldest first, and only the delivery
 * fields the decisions need (sweep-scan.ts): a run holds one small page per
 * scan whatever the size of the mails. A run keeps going while due work
 * remains and its time budget (RUN_BUDGET_MS) is not spent; the two scans run
 * side by side, so a backlog of one never starves the other, and a scan that
 * Firestore refuses leaves the other to finish. The writes of a page go out
 * together through a BulkWriter, each conditioned on the update time the
 * query returned: the same compare-and-set guarantee as a one-document
 * transaction without its read. If processQueue, a person or another sweep
 * changed the document since (renewed its lease, claimed it), the write
 * fails and the document is left alone: overlapping sweeps are safe.
 */
import { FieldValue, Timestamp, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { LEASE_GRACE_MS, leaseExpired } from "../delivery/budget";
import { toMillis, type State } from "../delivery/delivery-field";
import { mailCollection } from "../delivery/mail-collection";
import { ConfigError } from "../shared/errors";
import * as logs from "../shared/logs";
import { defaultRuntime, type Runtime } from "./runtime";
import { planLeaseExpiry } from "./lease-expiry";
import { scan, type MaintenanceReport, type Plan, type Sweep } from "./sweep-scan";

export type { MaintenanceReport } from "./sweep-scan";

/** Documents read per query: one BulkWriter round of writes. */
export const PAGE_SIZE = 500;
/**
 * How long one run starts new pages. The function's timeout is 120 s; the
 * page in flight when the budget runs out still needs its writes (each
 * bounded by the store's retries) and events. 50 s also keeps a run inside
 * the default one-minute schedule, so consecutive runs rarely overlap.
 */
export const RUN_BUDGET_MS = 50_000;
/**
 * Consecutive pages holding no document of MAIL_COLLECTION (only documents
 * of same-named collections outside a wildcard pattern) after which a scan
 * stops for the run: 10,000 documents at PAGE_SIZE. Each costs a read on
 * every run, and mail due after them is not reached within a run's budget
 * anyway; the log names the other collection so that it can be dealt with.
 */
export const FOREIGN_PAGE_LIMIT = 20;

export interface MaintenanceOptions {
  /** Time budget for starting new pages, in ms (RUN_BUDGET_MS). */
  budgetMs?: number;
  pageSize?: number;
  /** FOREIGN_PAGE_LIMIT. */
  foreignPageLimit?: number;
}

export async function runMaintenance(
  nowMs = Date.now(),
  options: MaintenanceOptions = {},
  runtime: Runtime = defaultRuntime,
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = { expired: 0, released: 0, cleaned: 0, skipped: 0, foreign: 0, truncated: false };
  let config;
  try {
    config = runtime.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logs.configInvalid(error.message);
    return report;
  }
  const store = runtime.store(config.database);
  const sweep: Sweep = {
    store,
    lifecycle: runtime.lifecycle,
    mail: mailCollection(store.db, config.mailCollection),
    report,
    endsAt: Date.now() + (options.budgetMs ?? RUN_BUDGET_MS),
    pageSize: options.pageSize ?? PAGE_SIZE,
    foreignPageLimit: options.foreignPageLimit ?? FOREIGN_PAGE_LIMIT,
  };
  // The whole millisecond: a time is due in the millisecond it names.
  const now = endOfMillisecond(nowMs);
  // Observers give an attempt its lease plus a grace for its outcome write (delivery/budget.ts).
  const leasesEndedBy = endOfMillisecond(nowMs - LEASE_GRACE_MS);

  const expiring = scan(sweep, {
    field: "delivery.leaseExpireTime",
    upTo: leasesEndedBy,
    stalled: "attempts whose lease expired are not ended by the sweep",
    plan: (doc) => {
      const state: unknown = doc.get("delivery.state");
      // An attempt's lease on a mail that is not finished: the attempt died. A
      // RETRY or PENDING over it is a person's request made during that attempt.
      if (state === ("PROCESSING" satisfies State) || state === ("PENDING" satisfies State) || state === ("RETRY" satisfies State)) {
        // The lease runs at least LEASE_MS from the version carrying it (a
        // claim that landed late): not yet, a later run finds it again.
        const lease = toMillis(doc.get("delivery.leaseExpireTime")) ?? 0;
        if (!leaseExpired(lease, nowMs, doc.updateTime.toMillis())) return undefined;
        return planExpiry(doc, state !== "PROCESSING");
      }
      // A lease left on a finished document would match this query for ever.
      return { path: doc.ref.path, updateTime: doc.updateTime, kind: "cleaned", patch: { "delivery.leaseExpireTime": null } };
    },
  });

  const releasing = scan(sweep, {
    field: "delivery.nextAttemptTime",
    upTo: now,
    stalled: "retries and scheduled mail are not released when they fall due",
    plan: (doc) => {
      const base = { path: doc.ref.path, updateTime: doc.updateTime };
      if (doc.get("delivery.state") === ("PENDING" satisfies State)) {
        // Moved a millisecond back rather than cleared: the write brings
        // processQueue to claim the mail, and if that claim never lands the
        // mail is still due, so the next run finds it again.
        const due = toMillis(doc.get("delivery.nextAttemptTime")) ?? nowMs;
        return { ...base, kind: "released", patch: { "delivery.nextAttemptTime": Timestamp.fromMillis(Math.min(due, nowMs) - 1) } };
      }
      // Not waiting any more (a person's RETRY, a finished mail): the time goes,
      // and the write brings processQueue to act on a RETRY whose claim failed.
      return { ...base, kind: "cleaned", patch: { "delivery.nextAttemptTime": FieldValue.delete() } };
    },
  });

  // Each scan runs to its end even when the other fails.
  const [a, b] = await Promise.allSettled([expiring, releasing]);
  report.truncated = (a.status === "fulfilled" && a.value) || (b.status === "fulfilled" && b.value);
  logs.maintenanceDone(report);
  if (a.status === "rejected") throw a.reason;
  if (b.status === "rejected") throw b.reason;
  return report;
}

function endOfMillisecond(ms: number): Timestamp {
  const start = Timestamp.fromMillis(ms);
  return new Timestamp(start.seconds, start.nanoseconds - (start.nanoseconds % 1_000_000) + 999_999);
}

/** Ends a dead attempt in ERROR; its end is announced once the write landed (sweep-scan.ts). */
function planExpiry(doc: QueryDocumentSnapshot, requested: boolean): Plan {
  // The page holds `delivery.attempts`, all that the expiry is computed from.
  const expiry = planLeaseExpiry(doc.data(), requested);
  return { path: doc.ref.path, updateTime: doc.updateTime, kind: "expired", patch: expiry.patch, expiry };
}
