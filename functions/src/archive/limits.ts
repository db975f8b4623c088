/** Bounds of the archive of sent mail (archive-message.ts). */
export const ARCHIVE_LIMITS = {
  /**
   * The largest record, as canonical JSON bytes, kept in a Firestore document; a larger one goes to
   * ARCHIVE_STORAGE_PATH. Firestore's limit is 1 MiB, counted differently (field names, 8-byte numbers,
   * the document's name): JSON's quotes and escapes are never smaller than that, and the rest is within the margin.
   */
  documentBytes: 900 * 1024,
} as const;
