/**
 * Records delivery reports in their mail's `deliveryStatus`, a field the
 * send path never writes. Per document: one read, the reports merged in
 * memory, one batch (the update, conditioned on the update time read, plus
 * suppression and history documents); a batch that loses its precondition
 * is read and merged again, so no report is lost or applied twice.
 *
 * A signed report vouches for what the provider saw, not for which document
 * or address it may change: it is applied only to a mail that lists its
 * recipient, and suppresses nobody when the mail is missing. A document
 * Firestore refuses has its reports left out; the others are recorded.
 */
import { createHash } from "node:crypto";
import { FieldPath, FieldValue, Timestamp, type DocumentSnapshot, type Firestore, type WriteBatch } from "firebase-admin/firestore";
import addressparser from "nodemailer/lib/addressparser";
import pLimit from "p-limit";
import { grpcStatus, statusOf } from "../shared/firestore-status";
import { isReservedId } from "../shared/firestore-ids";
import * as logs from "../shared/logs";
import { isPlainMap } from "../shared/plain-map";
import { normalizeAddress, suppressionDocId } from "../suppression/addresses";
import { isStreamName, STREAMS_FIELD } from "../suppression/streams";
import { reasonAndCode, type DeliveryReport } from "./delivery-report";
import { mergeReport, readEntry, suppressionReason, type RecipientEntry } from "./recipient-status";

export const DELIVERY_STATUS_FIELD = "deliveryStatus";
/** The opt-in history (EVENT_HISTORY): one document per report under the mail document. */
export const HISTORY_COLLECTION = "deliveryEvents";

/** Recipients tracked per mail: the document stays far below Firestore's 1 MiB whatever arrives. */
export const MAX_RECIPIENTS = 1000;
/** Documents written at once, and read per getAll (so that one slow answer does not hold everything). */
const CONCURRENCY = 25;
const READ_CHUNK = 200;
/** The key of a suppression for every stream, among streams' names (which cannot contain "*"). */
const EVERY = "*";
/** Rounds of read-merge-write per document before giving up (the provider then retries). */
const MAX_ROUNDS = 6;
/** Where a report's recipient must be listed. */
const ADDRESS_FIELDS = ["to", "cc", "bcc", "delivery.info.accepted", "delivery.info.rejected"];
/** `stream`: which stream an unsubscribe or complaint about the mail suppresses (suppression/streams.ts). */
const READ_MASK = [DELIVERY_STATUS_FIELD, "stream", ...ADDRESS_FIELDS];

export interface RecordSettings {
  db: Firestore;
  /** Whether a path is a document of the mail collection. */
  isMailPath(path: string): boolean;
  /** EVENT_HISTORY: also keep every report in the mail's `deliveryEvents` subcollection. */
  eventHistory: boolean;
  /** SUPPRESSION_COLLECTION for a mail (filled from its path when it names the tenant): where hard bounces, complaints and unsubscribes are added. */
  suppressionCollection?: (mailPath: string) => string;
  /** Told about reports left out because Firestore refused their document. */
  onRejected?(count: number, error: unknown): void;
}

/**
 * Reports by outcome: `recorded` applied for the first time; `duplicates`
 * already applied; `untracked` naming no mail document (not sent by this
 * extension); `missing` for mail that no longer exists or recipients past
 * MAX_RECIPIENTS; `strangers` for addresses the mail does not list;
 * `rejected` refused by Firestore. `writes`: documents written.
 */
export type RecordCounts = Record<"received" | "recorded" | "duplicates" | "untracked" | "missing" | "strangers" | "rejected" | "writes", number>;

export async function recordReports(reports: readonly DeliveryReport[], settings: RecordSettings): Promise<RecordCounts> {
  const counts: RecordCounts = { received: reports.length, recorded: 0, duplicates: 0, untracked: 0, missing: 0, strangers: 0, rejected: 0, writes: 0 };
  const byPath = new Map<string, DeliveryReport[]>();
  for (const report of reports) {
    const path = report.mailPath;
    if (path && settings.isMailPath(path) && storablePath(path)) byPath.set(path, [...(byPath.get(path) ?? []), report]);
    else counts.untracked++;
  }
  const paths = [...byPath.keys()];
  const snapshots = new Map<string, DocumentSnapshot>();
  for (let i = 0; i < paths.length; i += READ_CHUNK) {
    const refs = paths.slice(i, i + READ_CHUNK).map((path) => settings.db.doc(path));
    for (const snapshot of await settings.db.getAll(...refs, { fieldMask: READ_MASK })) snapshots.set(snapshot.ref.path, snapshot);
  }
  // After a failure no further document is started; the first failure is thrown once the running ones end.
  const limit = pLimit(CONCURRENCY);
  let failure: unknown;
  const recordOne = async (path: string): Promise<void> => {
    if (failure !== undefined) return;
    const list = byPath.get(path)!;
    try {
      await recordForDocument(path, list, snapshots.get(path), settings, counts);
    } catch (error) {
      // INVALID_ARGUMENT: Firestore refuses the write itself; retrying cannot help.
      if (statusOf(error) !== grpcStatus().INVALID_ARGUMENT) {
        failure ??= error;
        return;
      }
      counts.rejected += list.length;
      settings.onRejected?.(list.length, error);
    }
  };
  await Promise.all(paths.map((path) => limit(recordOne, path)));
  if (failure !== undefined) throw failure;
  return counts;
}

/** A path Firestore accepts: no reserved (`__x__`, `.`, `..`) segment. */
function storablePath(path: string): boolean {
  return path.split("/").every((segment) => segment !== "" && !isReservedId(segment) && Buffer.byteLength(segment) <= 1500);
}

async function recordForDocument(path: string, reports: DeliveryReport[], first: DocumentSnapshot | undefined, settings: RecordSettings, counts: RecordCounts): Promise<void> {
  const { db } = settings;
  const ref = db.doc(path);
  let snapshot = first;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    snapshot ??= (await db.getAll(ref, { fieldMask: READ_MASK }))[0];
    if (!snapshot.exists || !snapshot.updateTime) {
      // Nothing to check the recipient against (deleted by TTL, or never there): nobody is suppressed on its word.
      counts.missing += reports.length;
      return;
    }
    const listed = mailRecipients(snapshot);
    const known = reports.filter((report) => listed.has(report.recipient));
    counts.strangers += reports.length - known.length;
    reports = known;
    if (reports.length === 0) return;
    const plan = planFor(snapshot, reports);
    if (plan.applied.length > 0) {
      const batch = db.batch();
      batch.update(ref, { [DELIVERY_STATUS_FIELD]: { recipients: plan.recipients } }, { lastUpdateTime: snapshot.updateTime });
      const writes = 1 + addSideEffects(batch, path, plan.applied, settings, streamOf(snapshot));
      try {
        await batch.commit();
      } catch (error) {
        const code = statusOf(error);
        if (code !== grpcStatus().FAILED_PRECONDITION && code !== grpcStatus().NOT_FOUND) throw error;
        snapshot = undefined;
        continue;
      }
      counts.recorded += plan.applied.length;
      counts.writes += writes;
      logBouncesAndComplaints(path, plan.applied);
    }
    counts.duplicates += plan.duplicates;
    counts.missing += plan.overflow;
    return;
  }
  throw new Error(`${path} kept changing while its delivery events were recorded`);
}

/** One line per bounce or complaint applied for the first time: what the alerts of docs/operations.md count. */
function logBouncesAndComplaints(path: string, applied: readonly DeliveryReport[]): void {
  for (const { source, status, bounceType } of applied) {
    if (status === "bounced" || status === "complained") logs.recipientReported({ mailPath: path, source, status, bounceType });
  }
}

interface Plan {
  recipients: Record<string, Record<string, unknown>>;
  /** Reports applied for the first time, which call for side effects. */
  applied: DeliveryReport[];
  duplicates: number;
  overflow: number;
}

function planFor(snapshot: DocumentSnapshot, reports: DeliveryReport[]): Plan {
  const stored: unknown = snapshot.get(DELIVERY_STATUS_FIELD);
  const entries = new Map<string, RecipientEntry>();
  const storedRecipients = isPlainMap(stored) ? stored.recipients : undefined;
  // Stored keys are already escaped (suppressionDocId); reports are looked up the same way.
  for (const [key, value] of Object.entries(isPlainMap(storedRecipients) ? storedRecipients : {})) {
    const entry = readEntry(value);
    if (entry) entries.set(key, entry);
  }
  const plan: Plan = { recipients: {}, applied: [], duplicates: 0, overflow: 0 };
  const seen = new Set<string>();
  for (const report of reports) {
    const key = suppressionDocId(report.recipient);
    const current = entries.get(key);
    if (!current && entries.size >= MAX_RECIPIENTS) {
      plan.overflow++;
      continue;
    }
    const reportKey = `${report.source}\u0000${report.eventId}`;
    const merged = mergeReport(current, report);
    if (!merged.isNew || seen.has(reportKey)) {
      plan.duplicates++;
      continue;
    }
    seen.add(reportKey);
    entries.set(key, merged.entry);
    plan.applied.push(report);
  }
  for (const [address, { timeMs, ...rest }] of entries) plan.recipients[address] = { ...rest, time: Timestamp.fromMillis(timeMs) };
  return plan;
}

/** Everyone the mail was for, normalised (an entry may be a list). */
function mailRecipients(snapshot: DocumentSnapshot): Set<string> {
  const found = new Set<string>();
  for (const field of ADDRESS_FIELDS) {
    const value: unknown = snapshot.get(field);
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== "string") continue;
      for (const { address } of addressparser(item, { flatten: true }) as Array<{ address?: string }>) {
        const normalized = normalizeAddress(address);
        if (normalized) found.add(normalized);
      }
    }
  }
  return found;
}

/** The mail's own stream, when it names a valid one; a mail without one is on every stream. */
function streamOf(snapshot: DocumentSnapshot): string | undefined {
  const value: unknown = snapshot.get("stream");
  return isStreamName(value) ? value : undefined;
}

/**
 * The stream a suppressing report stops, or undefined for every stream: a hard bounce stops every stream (the
 * address does not exist), an unsubscribe link the stream its token names, other reports their mail's stream.
 */
function suppressedStream(report: DeliveryReport, mailStream: string | undefined): string | undefined {
  if (report.status === "bounced") return undefined;
  return report.source === "unsubscribe-link" ? report.stream : mailStream;
}

/** Suppression and history writes for newly applied reports; returns how many were added to the batch. */
function addSideEffects(batch: WriteBatch, path: string, reports: DeliveryReport[], settings: RecordSettings, mailStream: string | undefined): number {
  const { db, suppressionCollection } = settings;
  // One write per address (a batch may not name a document twice); per stream (EVERY for all), the latest reason stands.
  const latest = new Map<string, Map<string, DeliveryReport>>();
  for (const report of suppressionCollection ? reports : []) {
    if (!suppressionReason(report)) continue;
    const byStream = latest.get(report.recipient) ?? new Map<string, DeliveryReport>();
    latest.set(report.recipient, byStream);
    const stream = suppressedStream(report, mailStream) ?? EVERY;
    const before = byStream.get(stream);
    if (!before || report.timeMs >= before.timeMs) byStream.set(stream, report);
  }
  const entry = (report: DeliveryReport) => {
    const { timeMs, source, reason } = report;
    return { reason: suppressionReason(report), time: Timestamp.fromMillis(timeMs), mail: path, source, ...(reason && { detail: reason }) };
  };
  for (const [recipient, byStream] of latest) {
    const ref = db.collection(suppressionCollection!(path)).doc(suppressionDocId(recipient));
    const every = byStream.get(EVERY);
    if (every) {
      // Replaces any per-stream entries: they are covered.
      batch.set(ref, { address: recipient, ...entry(every) });
      continue;
    }
    // Merged into the address's document: a document for every stream stays so, other streams' entries stay.
    const streams = Object.fromEntries([...byStream].map(([stream, report]) => [stream, entry(report)]));
    batch.set(ref, { address: recipient, [STREAMS_FIELD]: streams }, { mergeFields: ["address", ...Object.keys(streams).map((stream) => new FieldPath(STREAMS_FIELD, stream))] });
  }
  // Provider ids are free text: hashed into a valid, fixed-size document id.
  const history = new Map<string, DeliveryReport>();
  for (const report of settings.eventHistory ? reports : []) {
    const id = `${report.source}-${createHash("sha256").update(report.eventId).digest("base64url").slice(0, 27)}`;
    if (!history.has(id)) history.set(id, report);
  }
  for (const [id, { source, eventId, recipient, status, timeMs, bounceType, reason, code }] of history) {
    const record = { source, eventId, recipient, status, time: Timestamp.fromMillis(timeMs), receivedAt: FieldValue.serverTimestamp(), ...(bounceType && { bounceType }), ...reasonAndCode(reason, code) };
    batch.set(db.doc(`${path}/${HISTORY_COLLECTION}/${id}`), record);
  }
  return latest.size + history.size;
}
