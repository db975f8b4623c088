/**
 * One scan of the sweep (sweep.ts): the pages of due mail on one timestamp
 * field, their writes, and what is announced once a write landed. Memory
 * stays bounded whatever the size of the mails: pages are read with a field
 * mask, one at a time, and whole documents only to publish the lifecycle
 * events of landed expiries, EVENT_READ_BATCH at a time.
 *
 * A wildcard MAIL_COLLECTION queries a collection group, which also returns
 * same-named collections outside the pattern: those are never written; the
 * scan pages past them and stops after `foreignPageLimit` pages of nothing else.
 */
import type { QueryDocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import { parentOf } from "../shared/path-pattern";
import type { MailCollection } from "./mail-collection";
import type { Patch } from "./patches";
import type { MailStore } from "./store";
import { eventBatch, type StartingVersion } from "../lifecycle/event-batch";
import type { LifecyclePublisher } from "../lifecycle/events";
import * as logs from "../shared/logs";
import { grpcStatus, statusOf } from "../shared/firestore-status";
import { announceLeaseExpiry, type LeaseExpiry } from "./lease-expiry";

/** The fields a page holds besides the queried one: what every decision reads. */
const DECISION_FIELDS = ["delivery.state", "delivery.attempts"];

/** Whole documents read at a time for expiries' events: at most 10 MiB of mail held. */
const EVENT_READ_BATCH = 10;

export interface MaintenanceReport {
  /** Expired leases moved to ERROR or to a retry. */
  expired: number;
  /** Waiting mail released for sending. */
  released: number;
  /** Stale lease or due times removed from documents no longer in the state they belonged to. */
  cleaned: number;
  /** Documents another writer changed first, left alone. */
  skipped: number;
  /** Documents of same-named collections outside a wildcard MAIL_COLLECTION, read and left alone. */
  foreign: number;
  /** Whether due work may remain because a scan stopped early (the time budget ran out, or FOREIGN_PAGE_LIMIT). */
  truncated: boolean;
}

/** What one run shares between its scans. */
export interface Sweep {
  store: MailStore;
  lifecycle: LifecyclePublisher;
  mail: MailCollection;
  report: MaintenanceReport;
  /** Epoch ms after which no new page is started. */
  endsAt: number;
  pageSize: number;
  foreignPageLimit: number;
}

export interface Scan {
  /** The timestamp field queried. */
  field: string;
  /** Documents whose `field` is at or before this are due. */
  upTo: Timestamp;
  /** What does not happen while this scan cannot run: for the log of a missing index. */
  stalled: string;
  /** The write for a due document, or undefined to leave it to a later run. */
  plan(doc: QueryDocumentSnapshot): SweepWrite | undefined;
}

/** One document's write in a sweep. */
export interface SweepWrite {
  path: string;
  /** The version the page returned: the write's precondition. */
  updateTime: Timestamp;
  kind: "expired" | "released" | "cleaned";
  patch: Patch;
  /** An ended attempt, announced once the write landed. */
  expiry?: LeaseExpiry;
}

/**
 * Pages through the documents whose `field` is due, oldest first, until none
 * are left or the run must stop; returns whether it stopped early.
 */
export async function scan(sweep: Sweep, spec: Scan): Promise<boolean> {
  const { store, mail, pageSize } = sweep;
  const fields = [...DECISION_FIELDS, spec.field];
  let after: QueryDocumentSnapshot | undefined;
  let foreignPages = 0;
  let pages = 0;
  for (;;) {
    let page: QueryDocumentSnapshot[];
    try {
      page = await store.duePage(mail.query, spec.field, spec.upTo, fields, pageSize, after);
    } catch (error) {
      if (statusOf(error) !== grpcStatus().FAILED_PRECONDITION) throw error;
      // A missing index fails every run the same way; the other scan can still work.
      logs.sweepIndexMissing({ collectionId: mail.collectionId, field: spec.field, group: mail.group }, consoleLink(error), spec.stalled);
      return false;
    }
    pages++;
    const own = page.filter((doc) => mail.contains(doc.ref.path));
    sweep.report.foreign += page.length - own.length;
    await apply(sweep, own.map(spec.plan).filter((plan): plan is SweepWrite => plan !== undefined));
    if (page.length < pageSize) return false;
    after = page[page.length - 1];
    foreignPages = own.length === 0 ? foreignPages + 1 : 0;
    if (foreignPages >= sweep.foreignPageLimit) {
      logs.sweepStoppedAtForeignDocuments(spec.field, mail.path, foreignPages * pageSize, parentOf(after.ref.path));
      return true;
    }
    if (Date.now() >= sweep.endsAt) {
      logs.sweepOutOfBudget(spec.field, mail.path, pages);
      return true;
    }
  }
}

/** The link to create the index that Firestore puts in its refusal, when it does. */
function consoleLink(error: unknown): string | null {
  const message = error instanceof Error ? error.message : String(error);
  return /https:\/\/console\.firebase\.google\.com\/\S+/.exec(message)?.[0] ?? null;
}

async function apply(sweep: Sweep, plans: SweepWrite[]): Promise<void> {
  const results = await sweep.store.updateManyIf(plans.map(({ path, patch, updateTime }) => ({ path, patch, updateTime })));
  const ended: EndedAttempt[] = [];
  plans.forEach((plan, i) => {
    const written = results[i];
    sweep.report[written ? plan.kind : "skipped"]++;
    if (written && plan.expiry) ended.push({ path: plan.path, expiry: plan.expiry, written });
  });
  for (let i = 0; i < ended.length; i += EVENT_READ_BATCH) {
    await announce(sweep, ended.slice(i, i + EVENT_READ_BATCH));
  }
}

interface EndedAttempt {
  path: string;
  expiry: LeaseExpiry;
  /** The commit time of the expiry's write. */
  written: Timestamp;
}

/**
 * Logs each expiry and publishes its events, which carry the document as the
 * expiry left it: the page lacks the message, so it is read back, only when
 * events are published; a document changed since goes out without `doc`.
 */
async function announce(sweep: Sweep, ended: EndedAttempt[]): Promise<void> {
  const versions = sweep.lifecycle.enabled() ? await writtenVersions(sweep.store, ended) : ended.map(() => null);
  const flushes = ended.map(({ path, expiry }, i) => {
    const events = eventBatch(path, versions[i], sweep.lifecycle);
    announceLeaseExpiry(path, expiry, events);
    return events.flush();
  });
  await Promise.all(flushes);
}

async function writtenVersions(store: MailStore, ended: EndedAttempt[]): Promise<Array<StartingVersion | null>> {
  let snapshots;
  try {
    snapshots = await store.readMany(ended.map(({ path }) => path));
  } catch (error) {
    // The expiries stand; only their events lose `doc`.
    logs.unexpectedError(ended[0].path, error);
    return ended.map(() => null);
  }
  return snapshots.map((snapshot, i) =>
    snapshot.exists && snapshot.updateTime?.isEqual(ended[i].written)
      ? { data: snapshot.data() ?? {}, createTime: snapshot.createTime, updateTime: snapshot.updateTime, firestore: snapshot.ref.firestore }
      : null,
  );
}
