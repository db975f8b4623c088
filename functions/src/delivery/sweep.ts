/**
 * The scheduled sweep that keeps mail from getting stuck:
 * - an expired lease (and grace) on an unfinished mail means its attempt
 *   died: the mail ends in ERROR (lease-expiry.ts). Without the sweep a
 *   crash would leave it in PROCESSING until something else wrote it;
 * - a due `delivery.nextAttemptTime` (a retry backoff, a `sendAt`, a new
 *   mail nobody claimed) on a PENDING mail is released: the write brings
 *   processQueue to claim it.
 * Both scans are single-field range queries (indexed automatically), read a
 * page at a time with a field mask (sweep-scan.ts) and run side by side, so
 * a backlog of one never starves the other. Each write is conditioned on the
 * update time the page returned, so overlapping sweeps and concurrent
 * attempts are safe: whoever changed the mail first wins.
 */
import { FieldValue, Timestamp, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { ConfigError } from "../shared/errors";
import * as logs from "../shared/logs";
import { LEASE_GRACE_MS, attemptPresumedDead, SWEEP_BUDGET_MS } from "../shared/budget";
import { toMillis } from "../shared/timestamps";
import type { State } from "./delivery-field";
import { planLeaseExpiry } from "./lease-expiry";
import { mailCollection } from "./mail-collection";
import type { Runtime } from "./runtime";
import { scan, type MaintenanceReport, type SweepWrite, type Sweep } from "./sweep-scan";

/** Documents read per query: one BulkWriter round of writes. */
export const PAGE_SIZE = 500;
/**
 * Consecutive pages of only foreign documents (same-named collections
 * outside a wildcard MAIL_COLLECTION) after which a scan stops for the run:
 * each costs reads on every run, and the log names the collection.
 */
export const FOREIGN_PAGE_LIMIT = 20;

export interface SweepOptions {
  /** How long new pages are started, in ms (SWEEP_BUDGET_MS). */
  budgetMs?: number;
  pageSize?: number;
  foreignPageLimit?: number;
}

export async function sweep(runtime: Runtime, nowMs: number, options: SweepOptions = {}): Promise<MaintenanceReport> {
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
  const run: Sweep = {
    store,
    lifecycle: runtime.lifecycle,
    mail: mailCollection(store.db, config.mailCollection),
    report,
    endsAt: Date.now() + (options.budgetMs ?? SWEEP_BUDGET_MS),
    pageSize: options.pageSize ?? PAGE_SIZE,
    foreignPageLimit: options.foreignPageLimit ?? FOREIGN_PAGE_LIMIT,
  };
  const at = (doc: QueryDocumentSnapshot) => ({ path: doc.ref.path, updateTime: doc.updateTime });

  const expiring = scan(run, {
    field: "delivery.leaseExpireTime",
    // Observers give an attempt its lease plus a grace for its outcome write.
    upTo: endOfMillisecond(nowMs - LEASE_GRACE_MS),
    stalled: "attempts whose lease expired are not ended by the sweep",
    plan: (doc): SweepWrite | undefined => {
      const state: unknown = doc.get("delivery.state");
      // A RETRY or PENDING over a lease is a person's request made during that attempt.
      if (state === ("PROCESSING" satisfies State) || state === ("PENDING" satisfies State) || state === ("RETRY" satisfies State)) {
        // A claim that landed late keeps its whole lease: a later run finds it again.
        const lease = toMillis(doc.get("delivery.leaseExpireTime")) ?? 0;
        if (!attemptPresumedDead(lease, nowMs, doc.updateTime.toMillis())) return undefined;
        const expiry = planLeaseExpiry(doc.data(), state !== "PROCESSING");
        return { ...at(doc), kind: "expired", patch: expiry.patch, expiry };
      }
      // A lease left on a finished mail would match this query for ever.
      return { ...at(doc), kind: "cleaned", patch: { "delivery.leaseExpireTime": null } };
    },
  });

  const releasing = scan(run, {
    field: "delivery.nextAttemptTime",
    // The whole millisecond: a time is due in the millisecond it names.
    upTo: endOfMillisecond(nowMs),
    stalled: "retries and scheduled mail are not released when they fall due",
    plan: (doc): SweepWrite => {
      if (doc.get("delivery.state") === ("PENDING" satisfies State)) {
        // Moved a millisecond back rather than cleared: if the claim it
        // brings never lands, the mail is still due and found again.
        const due = toMillis(doc.get("delivery.nextAttemptTime")) ?? nowMs;
        return { ...at(doc), kind: "released", patch: { "delivery.nextAttemptTime": Timestamp.fromMillis(Math.min(due, nowMs) - 1) } };
      }
      // Not waiting any more (a RETRY whose claim failed, a finished mail): the write brings processQueue to act.
      return { ...at(doc), kind: "cleaned", patch: { "delivery.nextAttemptTime": FieldValue.delete() } };
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
