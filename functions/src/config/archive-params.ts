/**
 * ARCHIVE_SENT_MAIL and ARCHIVE_STORAGE_PATH: whether every accepted message
 * is kept (docs/mail-documents.md#the-archive-of-what-was-sent), and where one
 * too large for a Firestore document goes. Off by default: an instance that
 * does not opt in writes nothing more than before.
 */
import { readBoolean, type Env } from "./env-values";
import { parseStoragePath, type StorageAttachments } from "./storage-attachments";

export interface ArchiveSettings {
  /**
   * ARCHIVE_STORAGE_PATH: `gs://BUCKET/PREFIX` (its `{name}` segments filled from the mail's path, as
   * STORAGE_ATTACHMENTS_PATH's are) for messages whose archive does not fit a document. Unset: such a message
   * is not archived, and a warning says so.
   */
  readonly storage?: StorageAttachments;
}

/** Undefined unless ARCHIVE_SENT_MAIL is `true`; ARCHIVE_STORAGE_PATH is checked whenever it is set. */
export function parseArchiveParams(env: Env, mailCollection: string, problems: string[]): ArchiveSettings | undefined {
  const enabled = readBoolean(env, "ARCHIVE_SENT_MAIL", false, problems);
  const storage = parseStoragePath(env, "ARCHIVE_STORAGE_PATH", "sent-mail", mailCollection, problems);
  return enabled ? Object.freeze({ storage }) : undefined;
}
