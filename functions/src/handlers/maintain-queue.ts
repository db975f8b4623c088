/**
 * maintainQueue: the scheduled sweep that keeps mail from getting stuck.
 * - An expired lease (`delivery.leaseExpireTime` in the past on a
 *   PROCESSING document) means its attempt died: the document moves to
 *   ERROR with `Message processing lease expired.`, or to a retry when
 *   automatic retries are on. The original only noticed when something else
 *   wrote the document, so a crash left mail in PROCESSING for ever.
 * - A due `delivery.nextAttemptTime` (a retry backoff or a `sendAt`) on a
 *   PENDING document is released by setting it to null: that write triggers
 *   processQueue, which claims and sends as for any PENDING mail.
 *
 * Both scans are single-field range queries (indexed automatically for a
 * collection), in bounded batches. Every write is conditioned on the update
 * time the query returned, the same compare-and-set guarantee as a
 * one-document transaction without its read: if processQueue, a person or
 * another sweep changed the document since (renewed its lease, claimed it),
 * the write fails and the document is left alone. Concurrent sweeps are safe.
 */
import { FieldValue, Timestamp, type QueryDocumentSnapshot } from "firebase-admin/firestore";
import { getConfig } from "../config";
import { LEASE_EXPIRED_ERROR, toMillis } from "../delivery/decide";
import { mailCollection, type MailCollection } from "../delivery/mail-collection";
import type { Patch } from "../delivery/patches";
import { expiryPatch, type RetrySettings } from "../delivery/retry-policy";
import type { MailStore } from "../delivery/store";
import { ConfigError } from "../errors";
import { eventBatch } from "../event-batch";
import * as logs from "../logs";
import { getStore } from "../runtime";

/** Documents read per query. */
export const BATCH_SIZE = 100;
/** Batches per scan and run: bounds one run to 1,000 documents per scan; the next run continues. */
export const MAX_BATCHES = 10;

export interface MaintenanceReport {
  /** Expired leases moved to ERROR or to a retry. */
  expired: number;
  /** Waiting mail released for sending. */
  released: number;
  /** Stale lease or due times removed from documents no longer in the state they belonged to. */
  cleaned: number;
  /** Documents another writer changed first, left alone. */
  skipped: number;
}

export async function runMaintenance(nowMs = Date.now()): Promise<MaintenanceReport> {
  const report: MaintenanceReport = { expired: 0, released: 0, cleaned: 0, skipped: 0 };
  let config;
  try {
    config = getConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logs.configInvalid(error.message);
    return report;
  }
  const store = getStore(config.database);
  const mail = mailCollection(store.db, config.mailCollection);
  const now = Timestamp.fromMillis(nowMs);

  await scan(mail, "delivery.leaseExpireTime", now, async (doc) => {
    const state = doc.get("delivery.state");
    const lease = toMillis(doc.get("delivery.leaseExpireTime"));
    if (state === "PROCESSING" && lease !== undefined && lease <= nowMs) {
      return expire(store, config, doc, nowMs, report);
    }
    // A lease left on a document that is no longer PROCESSING (a person
    // changed the state by hand) would match this query for ever.
    return count(report, "cleaned", await write(store, doc, { "delivery.leaseExpireTime": null }));
  });

  await scan(mail, "delivery.nextAttemptTime", now, async (doc) => {
    if (doc.get("delivery.state") === "PENDING") {
      return count(report, "released", await write(store, doc, { "delivery.nextAttemptTime": null }));
    }
    const patch = { "delivery.nextAttemptTime": FieldValue.delete() };
    return count(report, "cleaned", await write(store, doc, patch));
  });

  logs.maintenanceDone(report);
  return report;
}

/** Ends a dead attempt (ERROR, or a retry) and publishes the end of that attempt. */
async function expire(
  store: MailStore,
  settings: RetrySettings,
  doc: QueryDocumentSnapshot,
  nowMs: number,
  report: MaintenanceReport,
): Promise<void> {
  const counted = doc.get("delivery.attempts");
  const before = typeof counted === "number" && Number.isSafeInteger(counted) && counted >= 0 ? counted : 0;
  const { state, patch } = expiryPatch(settings, before, nowMs);
  const written = await write(store, doc, patch);
  count(report, "expired", written);
  if (!written) return;
  logs.leaseExpired(doc.ref.path);
  const events = eventBatch(doc.ref.path);
  const ended = { state, attempts: before + 1, error: LEASE_EXPIRED_ERROR };
  events.publish("onError", ended);
  events.publish("onComplete", ended);
  await events.flush();
}

/** Pages through the documents whose `field` is at or before `now`, oldest first. */
async function scan(
  mail: MailCollection,
  field: string,
  now: Timestamp,
  visit: (doc: QueryDocumentSnapshot) => Promise<void>,
): Promise<void> {
  const base = mail.query.where(field, "<=", now).orderBy(field).limit(BATCH_SIZE);
  let last: QueryDocumentSnapshot | undefined;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const page = await (last ? base.startAfter(last) : base).get();
    const docs = page.docs.filter((doc) => mail.contains(doc.ref.path));
    // Documents are handled in parallel: each write stands alone.
    await Promise.all(docs.map(visit));
    if (page.size < BATCH_SIZE) return;
    last = page.docs[page.docs.length - 1];
  }
}

async function write(store: MailStore, doc: QueryDocumentSnapshot, patch: Patch): Promise<boolean> {
  return (await store.updateIf(doc.ref.path, patch, doc.updateTime)) !== null;
}

function count(report: MaintenanceReport, key: "expired" | "released" | "cleaned", written: boolean): void {
  report[written ? key : "skipped"]++;
}
