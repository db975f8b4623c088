/**
 * The archive of what was sent (ARCHIVE_SENT_MAIL): after a provider accepts
 * a message and before the outcome is written, one write keeps its record
 * (archived-message.ts): the document `{mail}/archive/{attempt id}`, or, when
 * the record would not fit a document, the object
 * `ARCHIVE_STORAGE_PATH/{mail id}/{attempt id}.json`. Never both: one write
 * per accepted attempt. The attempt id names it, so the record is written
 * once per attempt and a later attempt (a RETRY) gets its own.
 *
 * It never fails the outcome: every failure (too large without a storage
 * path, Firestore or Cloud Storage refusing, too little lease left, too
 * slow) is logged and the outcome is recorded without `delivery.info.archive`.
 * A write cut off by its deadline may still land; it is then simply not
 * referenced.
 */
import type { ArchiveSettings } from "../config/archive-params";
import { storageScope } from "../attachments/storage-location";
import { loadBuckets } from "../attachments/storage-read";
import { archiveTimeLeft, MIN_ARCHIVE_MS } from "../shared/budget";
import { withDeadline } from "../shared/deadline";
import { clip } from "../shared/clip";
import { errorText } from "../shared/errors";
import * as logs from "../shared/logs";
import type { ArchiveReference } from "../shared/types";
import { archivedMessage, type ArchivedMessage, type SentMessage } from "./archived-message";
import { canonicalJson, sha256Hex, type CanonicalValue } from "./canonical-json";
import { ARCHIVE_LIMITS } from "./limits";

/** The subcollection of a mail document that holds its archived messages. */
export const ARCHIVE_SUBCOLLECTION = "archive";

/** Where archive documents are written: the attempt's MailStore, which counts the write. */
export interface DocumentWriter {
  writeDocument(path: string, data: Record<string, unknown>): Promise<void>;
}

export interface ArchiveCall {
  store: DocumentWriter;
  settings: ArchiveSettings;
  mailCollection: string;
  /** When the attempt's lease ends: the write is cut to keep the outcome's margin. */
  leaseEnds: number;
}

/** Why an archive was not written, as the log line's `code`. */
export type ArchiveFailure = "archive-too-large" | "archive-no-time" | "archive-timeout" | "archive-write-failed";

class ArchiveNotWritten extends Error {
  constructor(
    readonly code: ArchiveFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Where the record went and its hash, for `delivery.info.archive`; undefined when it was not written (and logged). Never throws. */
export async function archiveMessage(sent: SentMessage, call: ArchiveCall): Promise<ArchiveReference | undefined> {
  try {
    const deadlineMs = archiveTimeLeft(call.leaseEnds, Date.now());
    if (deadlineMs < MIN_ARCHIVE_MS) throw new ArchiveNotWritten("archive-no-time", "the attempt's lease had too little time left after the send");
    const record = archivedMessage(sent);
    const json = canonicalJson(record as unknown as CanonicalValue);
    const sha256 = sha256Hex(json);
    const where = () => write(sent, call, record, json, sha256);
    const timedOut = () => new ArchiveNotWritten("archive-timeout", `the write did not finish within ${deadlineMs / 1000} s`);
    return { sha256, ...(await withDeadline(where, deadlineMs, timedOut)) };
  } catch (error) {
    const code = error instanceof ArchiveNotWritten ? error.code : "archive-write-failed";
    logs.archiveFailed(sent.mailPath, code, logs.redact(clip(errorText(error), 500)));
    return undefined;
  }
}

async function write(sent: SentMessage, call: ArchiveCall, record: ArchivedMessage, json: string, sha256: string): Promise<Omit<ArchiveReference, "sha256">> {
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= ARCHIVE_LIMITS.documentBytes) {
    const path = `${sent.mailPath}/${ARCHIVE_SUBCOLLECTION}/${sent.attemptId}`;
    await call.store.writeDocument(path, { ...record });
    return { path };
  }
  const { storage } = call.settings;
  if (!storage) {
    throw new ArchiveNotWritten(
      "archive-too-large",
      `the record is ${bytes} bytes, more than a document holds (${ARCHIVE_LIMITS.documentBytes}); set ARCHIVE_STORAGE_PATH to keep such messages in Cloud Storage`,
    );
  }
  const scope = storageScope(storage, call.mailCollection, sent.mailPath);
  const mailId = sent.mailPath.split("/").pop() ?? "";
  // A document id may hold characters an object name should not (line breaks): encoded, names stay one-to-one.
  const name = [...scope.prefix, encodeURIComponent(mailId), `${sent.attemptId}.json`].join("/");
  const buckets = await loadBuckets();
  await buckets(scope.bucket)
    .file(name)
    .save(Buffer.from(json, "utf8"), { resumable: false, contentType: "application/json", metadata: { metadata: { sha256 } } });
  return { storageUri: `gs://${scope.bucket}/${name}` };
}
