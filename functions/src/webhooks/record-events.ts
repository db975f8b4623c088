/**
 * Records delivery events on their mail documents, in `deliveryStatus`, a
 * field beside `delivery` that the send path never reads or writes.
 *
 * Per mail document: one read (batched with the others through getAll, only
 * the `deliveryStatus` field), the events merged in memory
 * (recipient-status.ts), then one atomic batch: the document's update,
 * conditioned on the update time that was read, plus the suppression and
 * history documents the new events call for. A batch that loses its
 * precondition (the send path, or another webhook call, wrote in between) is
 * read and merged again, so no event is lost and none is applied twice. The
 * send path's own writes are conditioned the same way and fall back to a
 * transaction that ignores foreign fields, so neither side can undo the other.
 *
 * An event is applied only to a mail that lists its recipient (in `to`,
 * `cc`, `bcc`, or the addresses the send resolved, `delivery.info.accepted`
 * and `rejected`), and suppresses nobody when its mail document is missing:
 * a signed event vouches for what the provider saw, not for which document
 * or address it may change. Ids and keys Firestore refuses are escaped
 * (suppression/addresses.ts), and a document Firestore still refuses has its
 * events left out, so that one bad event never fails the whole request.
 */
import { createHash } from "node:crypto";
import { FieldValue, Timestamp, type DocumentSnapshot, type Firestore, type WriteBatch } from "firebase-admin/firestore";
import addressparser from "nodemailer/lib/addressparser";
import { STATUS, statusOf } from "../shared/firestore-status";
import { isReservedId } from "../shared/firestore-ids";
import { isPlainMap } from "../shared/plain-map";
import { normalizeAddress, suppressionDocId } from "../suppression/addresses";
import type { DeliveryEvent } from "./delivery-event";
import { mergeEvent, readEntry, suppressionReason, type RecipientEntry } from "./recipient-status";

/** The mail document's field for events; `delivery` stays the send path's. */
export const DELIVERY_STATUS_FIELD = "deliveryStatus";
/** The opt-in history: one document per event under the mail document. */
export const HISTORY_COLLECTION = "deliveryEvents";

/** Recipients tracked per mail: keeps the document far below Firestore's 1 MiB whatever arrives. */
export const MAX_RECIPIENTS = 1000;
/** Documents whose batches are in flight at once. */
const CONCURRENCY = 25;
/** getAll is one RPC; its size is bounded so that one slow answer does not hold everything. */
const READ_CHUNK = 200;
/** Rounds of read-merge-write per document before giving up (the provider then retries). */
const MAX_ROUNDS = 6;
/** What is read of a mail document: the events so far, and whom it was sent to. */
const READ_MASK = [DELIVERY_STATUS_FIELD, "to", "cc", "bcc", "delivery.info.accepted", "delivery.info.rejected"];

export interface RecordSettings {
  db: Firestore;
  /** Whether a path is a document of the mail collection; events naming anything else are ignored. */
  isMailPath(path: string): boolean;
  /** EVENT_HISTORY: also keep every event in the mail's `deliveryEvents` subcollection. */
  eventHistory: boolean;
  /** SUPPRESSION_COLLECTION: where hard bounces, complaints and unsubscribes are added. */
  suppressionCollection?: string;
  /** Told about events left out because Firestore refused their document (for the log). */
  onRejected?(count: number, error: unknown): void;
}

export interface RecordReport {
  received: number;
  /** Events applied for the first time. */
  recorded: number;
  /** Events already applied (a provider's retry). */
  duplicates: number;
  /** Events without tracking metadata naming a mail document: not sent by this extension. */
  untracked: number;
  /** Events for mail documents that no longer exist (or recipients past MAX_RECIPIENTS). */
  missing: number;
  /** Events for an address their mail document does not list: not applied. */
  strangers: number;
  /** Events whose document Firestore refused to write: left out, the others recorded. */
  rejected: number;
  /** Documents written, mail documents, suppressions and history together. */
  writes: number;
}

export async function recordEvents(events: readonly DeliveryEvent[], settings: RecordSettings): Promise<RecordReport> {
  const report: RecordReport = { received: events.length, recorded: 0, duplicates: 0, untracked: 0, missing: 0, strangers: 0, rejected: 0, writes: 0 };
  const byPath = new Map<string, DeliveryEvent[]>();
  for (const event of events) {
    if (!event.mailPath || !settings.isMailPath(event.mailPath) || !storablePath(event.mailPath)) {
      report.untracked++;
      continue;
    }
    const list = byPath.get(event.mailPath) ?? [];
    list.push(event);
    byPath.set(event.mailPath, list);
  }
  const paths = [...byPath.keys()];
  const snapshots = new Map<string, DocumentSnapshot>();
  for (let i = 0; i < paths.length; i += READ_CHUNK) {
    const refs = paths.slice(i, i + READ_CHUNK).map((path) => settings.db.doc(path));
    for (const snapshot of await settings.db.getAll(...refs, { fieldMask: READ_MASK })) {
      snapshots.set(snapshot.ref.path, snapshot);
    }
  }
  await inParallel(paths, CONCURRENCY, async (path) => {
    const list = byPath.get(path)!;
    try {
      await recordForDocument(path, list, snapshots.get(path), settings, report);
    } catch (error) {
      // INVALID_ARGUMENT: Firestore refuses the write itself; retrying cannot help.
      if (statusOf(error) !== STATUS.INVALID_ARGUMENT) throw error;
      report.rejected += list.length;
      settings.onRejected?.(list.length, error);
    }
  });
  return report;
}

/** A path Firestore accepts: no reserved (`__x__`, `.`, `..`) segment. */
function storablePath(path: string): boolean {
  return path.split("/").every((segment) => segment !== "" && !isReservedId(segment) && Buffer.byteLength(segment) <= 1500);
}

async function recordForDocument(
  path: string,
  events: DeliveryEvent[],
  first: DocumentSnapshot | undefined,
  settings: RecordSettings,
  report: RecordReport,
): Promise<void> {
  const { db } = settings;
  const ref = db.doc(path);
  let snapshot = first;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    snapshot ??= (await db.getAll(ref, { fieldMask: READ_MASK }))[0];
    const batch = db.batch();
    if (!snapshot.exists || !snapshot.updateTime) {
      // Nothing to check the recipient against (deleted by TTL, or never there): nobody is suppressed on its word.
      report.missing += events.length;
      return;
    }
    const listed = mailRecipients(snapshot);
    const known = events.filter((event) => listed.has(event.recipient));
    report.strangers += events.length - known.length;
    events = known;
    if (events.length === 0) return;
    const plan = planFor(snapshot, events);
    if (plan.applied.length === 0) {
      report.duplicates += plan.duplicates;
      report.missing += plan.overflow;
      return;
    }
    batch.update(ref, { [DELIVERY_STATUS_FIELD]: { recipients: plan.recipients } }, { lastUpdateTime: snapshot.updateTime });
    const writes = 1 + addSideEffects(batch, path, plan.applied, settings, true);
    try {
      await batch.commit();
    } catch (error) {
      const code = statusOf(error);
      if (code !== STATUS.FAILED_PRECONDITION && code !== STATUS.NOT_FOUND) throw error;
      snapshot = undefined;
      continue;
    }
    report.recorded += plan.applied.length;
    report.duplicates += plan.duplicates;
    report.missing += plan.overflow;
    report.writes += writes;
    return;
  }
  throw new Error(`${path} kept changing while its delivery events were recorded`);
}

interface Plan {
  recipients: Record<string, Record<string, unknown>>;
  /** Events applied for the first time, which call for side effects. */
  applied: DeliveryEvent[];
  duplicates: number;
  overflow: number;
}

function planFor(snapshot: DocumentSnapshot, events: DeliveryEvent[]): Plan {
  const stored: unknown = snapshot.get(DELIVERY_STATUS_FIELD);
  const entries = new Map<string, RecipientEntry>();
  const storedRecipients = isPlainMap(stored) ? stored.recipients : undefined;
  if (isPlainMap(storedRecipients)) {
    // Stored keys are already escaped (suppressionDocId); events are looked up the same way.
    for (const [key, value] of Object.entries(storedRecipients)) {
      const entry = readEntry(value);
      if (entry) entries.set(key, entry);
    }
  }
  const result: Plan = { recipients: {}, applied: [], duplicates: 0, overflow: 0 };
  const seen = new Set<string>();
  for (const event of events) {
    const key = suppressionDocId(event.recipient);
    const current = entries.get(key);
    if (!current && entries.size >= MAX_RECIPIENTS) {
      result.overflow++;
      continue;
    }
    const eventKey = `${event.source}\u0000${event.eventId}`;
    const merged = mergeEvent(current, event);
    if (!merged.isNew || seen.has(eventKey)) {
      result.duplicates++;
      continue;
    }
    seen.add(eventKey);
    entries.set(key, merged.entry);
    result.applied.push(event);
  }
  for (const [address, entry] of entries) result.recipients[address] = storedEntry(entry);
  return result;
}

/**
 * Everyone the mail was for, normalised: the document's own address fields
 * (a string or an array, each entry possibly a list with display names), and
 * the addresses the send resolved (uids included), as `delivery.info` lists them.
 */
function mailRecipients(snapshot: DocumentSnapshot): Set<string> {
  const found = new Set<string>();
  const add = (value: unknown): void => {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== "string") continue;
      for (const { address } of addressparser(item, { flatten: true }) as Array<{ address?: string }>) {
        const normalized = normalizeAddress(address);
        if (normalized) found.add(normalized);
      }
    }
  };
  for (const field of ["to", "cc", "bcc", "delivery.info.accepted", "delivery.info.rejected"]) add(snapshot.get(field));
  return found;
}

function storedEntry(entry: RecipientEntry): Record<string, unknown> {
  const { timeMs, ...rest } = entry;
  return { ...rest, time: Timestamp.fromMillis(timeMs) };
}

/** Suppression and history writes for newly applied events; returns how many were added to the batch. */
function addSideEffects(batch: WriteBatch, path: string, events: DeliveryEvent[], settings: RecordSettings, history: boolean): number {
  const { db, suppressionCollection } = settings;
  let writes = 0;
  if (suppressionCollection) {
    // One write per address: a batch may not name a document twice; the latest reason stands.
    const latest = new Map<string, DeliveryEvent>();
    for (const event of events) {
      if (!suppressionReason(event)) continue;
      const before = latest.get(event.recipient);
      if (!before || event.timeMs >= before.timeMs) latest.set(event.recipient, event);
    }
    for (const event of latest.values()) {
      const record: Record<string, unknown> = {
        address: event.recipient,
        reason: suppressionReason(event),
        time: Timestamp.fromMillis(event.timeMs),
        mail: path,
        source: event.source,
      };
      if (event.reason) record.detail = event.reason;
      batch.set(db.collection(suppressionCollection).doc(suppressionDocId(event.recipient)), record);
      writes++;
    }
  }
  if (history && settings.eventHistory) {
    const ids = new Set<string>();
    for (const event of events) {
      const id = historyDocId(event);
      if (ids.has(id)) continue;
      ids.add(id);
      const record: Record<string, unknown> = {
        source: event.source,
        eventId: event.eventId,
        recipient: event.recipient,
        status: event.status,
        time: Timestamp.fromMillis(event.timeMs),
        receivedAt: FieldValue.serverTimestamp(),
      };
      if (event.bounceType) record.bounceType = event.bounceType;
      if (event.reason) record.reason = event.reason;
      if (event.code) record.code = event.code;
      batch.set(db.doc(`${path}/${HISTORY_COLLECTION}/${id}`), record);
      writes++;
    }
  }
  return writes;
}

/** Provider event ids are free text: hashed into a valid, fixed-size document id. */
function historyDocId(event: Pick<DeliveryEvent, "source" | "eventId">): string {
  return `${event.source}-${createHash("sha256").update(event.eventId).digest("base64url").slice(0, 27)}`;
}

async function inParallel<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++];
      try {
        await run(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
