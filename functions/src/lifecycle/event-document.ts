/**
 * The mail document as a lifecycle event shows it: the version that the
 * transition's write produced. Reading it back would cost one Firestore read
 * per event, so it is rebuilt in memory from the version the handler acted on
 * and the writes the handler made, applied the way Firestore applies an
 * `update`: dotted keys are field paths, a map value replaces the field
 * whole, increments add and deletes remove. A server timestamp becomes the
 * write's commit time in milliseconds: Firestore stores the time it
 * processed the request, at millisecond precision, which the write result
 * does not return; it precedes the commit by a few milliseconds.
 */
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { Patch } from "../delivery/patches";
import { isPlainMap } from "../shared/plain-map";

export interface DocumentVersion {
  /** The document's path, e.g. `mail/abc123`. */
  path: string;
  /** The project the document belongs to; unknown leaves it out of the snapshot form. */
  projectId?: string;
  /** The document's fields, as `DocumentSnapshot.data()` returns them. */
  data: Record<string, unknown>;
  createTime: Timestamp;
  /** The commit time of the write that produced this version. */
  updateTime: Timestamp;
}

/** What an attachment's `httpHeaders` values become: they often carry credentials. */
export const REDACTED = "[REDACTED]";

/** Marks a field that a write removes. */
const REMOVED = Symbol("removed");

/**
 * The version that `patch`, committed at `commitTime`, makes of `version`.
 * Throws on a transform it cannot model (arrayUnion, arrayRemove), which no
 * delivery patch uses.
 */
export function afterWrite(version: DocumentVersion, patch: Patch, commitTime: Timestamp): DocumentVersion {
  let data = version.data;
  for (const [fieldPath, value] of Object.entries(patch)) {
    data = setField(data, fieldPath.split("."), value, commitTime);
  }
  return { ...version, data, updateTime: commitTime };
}

/**
 * The document's fields with each attachment's `httpHeaders` values
 * replaced: an event reaches whoever subscribes to the channel, and those
 * headers are typically the credentials for fetching the attachment.
 */
export function withoutSecrets(data: Record<string, unknown>): Record<string, unknown> {
  const message = data.message;
  if (!isPlainMap(message) || !Array.isArray(message.attachments)) return data;
  const attachments = message.attachments.map((attachment: unknown) => {
    if (!isPlainMap(attachment) || !isPlainMap(attachment.httpHeaders)) return attachment;
    const httpHeaders = Object.fromEntries(Object.keys(attachment.httpHeaders).map((name) => [name, REDACTED]));
    return { ...attachment, httpHeaders };
  });
  return { ...data, message: { ...message, attachments } };
}

/** Copies only along `segments`, so the version acted on is never changed. */
function setField(
  map: Record<string, unknown>,
  segments: string[],
  value: unknown,
  commitTime: Timestamp,
): Record<string, unknown> {
  const [name, ...rest] = segments;
  const current = map[name];
  if (rest.length > 0) {
    // Deleting below a field that is not a map removes nothing.
    if (isDelete(value) && !isPlainMap(current)) return map;
    return { ...map, [name]: setField(isPlainMap(current) ? current : {}, rest, value, commitTime) };
  }
  const resolved = resolve(value, current, commitTime);
  const copy = { ...map };
  if (resolved === REMOVED) delete copy[name];
  else copy[name] = resolved;
  return copy;
}

/** The stored value that writing `value` over `current` leaves. */
function resolve(value: unknown, current: unknown, commitTime: Timestamp): unknown {
  if (value instanceof FieldValue) {
    if (isDelete(value)) return REMOVED;
    if (value.isEqual(FieldValue.serverTimestamp())) return Timestamp.fromMillis(commitTime.toMillis());
    const operand = incrementOperand(value);
    if (operand !== undefined) return typeof current === "number" ? current + operand : operand;
    throw new Error(`Cannot apply ${String((value as { methodName?: unknown }).methodName)} to an event's document.`);
  }
  if (isPlainMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(value)) {
      // A transform inside a map value that replaces the field starts from nothing.
      const resolved = resolve(inner, undefined, commitTime);
      if (resolved !== REMOVED) out[name] = resolved;
    }
    return out;
  }
  return value;
}

function isDelete(value: unknown): boolean {
  return value instanceof FieldValue && value.isEqual(FieldValue.delete());
}

/**
 * The Admin SDK has no public accessor for an increment's amount; its
 * `operand` property is checked against real `FieldValue.increment` values
 * in test/unit/event-document.test.ts.
 */
function incrementOperand(value: FieldValue): number | undefined {
  const { methodName, operand } = value as unknown as { methodName?: unknown; operand?: unknown };
  return methodName === "FieldValue.increment" && typeof operand === "number" ? operand : undefined;
}
