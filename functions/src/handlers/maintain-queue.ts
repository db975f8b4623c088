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
 * collection), read a page at a time, oldest first. A run keeps going while
 * due work remains and its time budget (RUN_BUDGET_MS) is not spent; the two
 * scans run side by side, so a backlog of one never starves the other. The
 * writes of a page go out together through a BulkWriter, each conditioned on
 * the update time the query returned: the same compare-and-set guarantee as
 * a one-document transaction without its read. If processQueue, a person or
 * another sweep changed the document since (renewed its lease, claimed it),
 * the write fails and the document is left alone: overlapping sweeps are safe.
 */
import { FieldValue, Timestamp, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { LEASE_GRACE_MS } from "../delivery/budget";
import { toMillis, type State } from "../delivery/delivery-field";
import { mailCollection, type MailCollection } from "../delivery/mail-collection";
import type { Patch } from "../delivery/patches";
import type { MailStore } from "../delivery/store";
import { ConfigError } from "../errors";
import { eventBatch } from "../event-batch";
import * as logs from "../logs";
import { defaultRuntime, type Runtime } from "../runtime";
import { planLeaseExpiry, recordLeaseExpiry } from "./lease-expiry";

/** Documents read per query: one BulkWriter round of writes. */
export const PAGE_SIZE = 500;
/**
 * How long one run starts new pages. The function's timeout is 120 s; the
 * page in flight when the budget runs out still needs its writes (each
 * bounded by the store's retries) and events. 50 s also keeps a run inside
 * the default one-minute schedule, so consecutive runs rarely overlap.
 */
export const RUN_BUDGET_MS = 50_000;

export interface MaintenanceReport {
  /** Expired leases moved to ERROR or to a retry. */
  expired: number;
  /** Waiting mail released for sending. */
  released: number;
  /** Stale lease or due times removed from documents no longer in the state they belonged to. */
  cleaned: number;
  /** Documents another writer changed first, left alone. */
  skipped: number;
  /** Whether due work may remain because the run's time budget ran out. */
  truncated: boolean;
}

export interface MaintenanceOptions {
  /** Time budget for starting new pages, in ms (RUN_BUDGET_MS). */
  budgetMs?: number;
  pageSize?: number;
}

export async function runMaintenance(
  nowMs = Date.now(),
  options: MaintenanceOptions = {},
  runtime: Runtime = defaultRuntime,
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = { expired: 0, released: 0, cleaned: 0, skipped: 0, truncated: false };
  let config;
  try {
    config = runtime.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logs.configInvalid(error.message);
    return report;
  }
  const store = runtime.store(config.database);
  const mail = mailCollection(store.db, config.mailCollection);
  // The whole millisecond: a time is due in the millisecond it names.
  const now = endOfMillisecond(nowMs);
  // Observers give an attempt its lease plus a grace for its outcome write (delivery/budget.ts).
  const leasesEndedBy = endOfMillisecond(nowMs - LEASE_GRACE_MS);

  const budget: Budget = {
    endsAt: Date.now() + (options.budgetMs ?? RUN_BUDGET_MS),
    pageSize: options.pageSize ?? PAGE_SIZE,
  };
  const apply = (plans: Plan[]) => applyPlans(store, plans, report);

  const expiring = scan(mail, "delivery.leaseExpireTime", leasesEndedBy, budget, (doc) => {
    const state: unknown = doc.get("delivery.state");
    // An attempt's lease on a mail that is not finished: the attempt died. A
    // RETRY or PENDING over it is a person's request made during that attempt.
    if (state === ("PROCESSING" satisfies State) || state === ("PENDING" satisfies State) || state === ("RETRY" satisfies State)) {
      return planExpiry(doc, state !== "PROCESSING", runtime);
    }
    // A lease left on a finished document would match this query for ever.
    return { doc, kind: "cleaned", patch: { "delivery.leaseExpireTime": null } };
  }, apply);

  const releasing = scan(mail, "delivery.nextAttemptTime", now, budget, (doc) => {
    if (doc.get("delivery.state") === ("PENDING" satisfies State)) {
      // Moved a millisecond back rather than cleared: the write brings
      // processQueue to claim the mail, and if that claim never lands the
      // mail is still due, so the next run finds it again.
      const due = toMillis(doc.get("delivery.nextAttemptTime")) ?? nowMs;
      return { doc, kind: "released", patch: { "delivery.nextAttemptTime": Timestamp.fromMillis(Math.min(due, nowMs) - 1) } };
    }
    // Not waiting any more (a person's RETRY, a finished mail): the time goes,
    // and the write brings processQueue to act on a RETRY whose claim failed.
    return { doc, kind: "cleaned", patch: { "delivery.nextAttemptTime": FieldValue.delete() } };
  }, apply);

  const [a, b] = await Promise.all([expiring, releasing]);
  report.truncated = a || b;
  logs.maintenanceDone(report);
  return report;
}

function endOfMillisecond(ms: number): Timestamp {
  const start = Timestamp.fromMillis(ms);
  return new Timestamp(start.seconds, start.nanoseconds - (start.nanoseconds % 1_000_000) + 999_999);
}

/** Ends a dead attempt in ERROR and, once written, publishes the end of that attempt. */
function planExpiry(doc: QueryDocumentSnapshot, requested: boolean, runtime: Runtime): Plan {
  const data = doc.data();
  const expiry = planLeaseExpiry(data, requested);
  const onWritten = async (written: Timestamp): Promise<void> => {
    const start = { data, createTime: doc.createTime, updateTime: doc.updateTime, firestore: doc.ref.firestore };
    const events = eventBatch(doc.ref.path, start, runtime.lifecycle);
    recordLeaseExpiry(doc.ref.path, expiry, events, written);
    await events.flush();
  };
  return { doc, kind: "expired", patch: expiry.patch, onWritten };
}

interface Budget {
  /** Epoch ms after which no new page is started. */
  endsAt: number;
  pageSize: number;
}

/** One document's write in a sweep, and what to do once it landed. */
interface Plan {
  doc: QueryDocumentSnapshot;
  kind: "expired" | "released" | "cleaned";
  patch: Patch;
  onWritten?: (written: Timestamp) => Promise<void>;
}

/**
 * Pages through the documents whose `field` is at or before `now`, oldest
 * first, until none are left or the budget is spent (then returns true).
 * The next page is read while the current one is written.
 */
async function scan(
  mail: MailCollection,
  field: string,
  now: Timestamp,
  budget: Budget,
  plan: (doc: QueryDocumentSnapshot) => Plan,
  apply: (plans: Plan[]) => Promise<void>,
): Promise<boolean> {
  const base = mail.query.where(field, "<=", now).orderBy(field).limit(budget.pageSize);
  let next = base.get();
  for (;;) {
    const page = await next;
    const full = page.size === budget.pageSize;
    const outOfTime = Date.now() >= budget.endsAt;
    if (full && !outOfTime) next = base.startAfter(page.docs[page.docs.length - 1]).get();
    await apply(page.docs.filter((doc) => mail.contains(doc.ref.path)).map(plan));
    if (!full) return false;
    if (outOfTime) return true;
  }
}

async function applyPlans(store: MailStore, plans: Plan[], report: MaintenanceReport): Promise<void> {
  const results = await store.updateManyIf(
    plans.map(({ doc, patch }) => ({ path: doc.ref.path, patch, updateTime: doc.updateTime })),
  );
  const followUps: Array<Promise<void>> = [];
  plans.forEach((plan, i) => {
    const written = results[i];
    report[written ? plan.kind : "skipped"]++;
    if (written && plan.onWritten) followUps.push(plan.onWritten(written));
  });
  await Promise.all(followUps);
}
