/**
 * Mail streams (docs/webhooks.md#mail-streams): a mail may name the kind of mail it is (`stream`), so that an
 * unsubscribe or complaint about a newsletter does not stop a password reset. A suppression document is either
 * for every stream (what this extension always wrote before streams, what a hard bounce or a report about a mail
 * without a stream writes, and any document a person wrote) or for some streams only: a `streams` map, one key per
 * stream, and no top-level `reason`. Merging a stream's key into a document for every stream leaves it for every
 * stream, so a narrower report can never lift a wider suppression.
 */
import { isPlainMap } from "../shared/plain-map";

/** A stream's name: short, lower-case, usable as a field name without quoting. */
export const STREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The stream that never gets an unsubscribe link unless the mail asks for one (`unsubscribe: true`). */
export const TRANSACTIONAL_STREAM = "transactional";

/** The map of a suppression document that limits it to some streams. */
export const STREAMS_FIELD = "streams";

/** The fields of a suppression document that say which mail it stops: the send path reads only these. */
export const SCOPE_FIELDS: readonly string[] = ["reason", STREAMS_FIELD];

export const isStreamName = (value: unknown): value is string => typeof value === "string" && STREAM_NAME.test(value);

/**
 * Whether an existing suppression document (its SCOPE_FIELDS) stops a mail on `stream`. A mail that names no
 * stream is stopped by any suppression of the address, whatever its streams: exactly as before streams existed.
 */
export function suppressesStream(data: Record<string, unknown>, stream: string | undefined): boolean {
  const streams = data[STREAMS_FIELD];
  if (!isPlainMap(streams) || data.reason !== undefined) return true;
  const listed = (key: string) => streams[key] !== undefined && streams[key] !== null && streams[key] !== false;
  return stream === undefined ? Object.keys(streams).some(listed) : Object.hasOwn(streams, stream) && listed(stream);
}
