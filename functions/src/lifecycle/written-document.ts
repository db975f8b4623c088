/**
 * The mail document as a lifecycle event shows it: the version the
 * transition's write produced, in the JSON shapes firebase-admin objects take
 * through `JSON.stringify`, which existing event handlers parse.
 *
 * Why rebuilt in memory: reading the version back would cost a Firestore read
 * per event. So the version the handler acted on gets the handler's own
 * writes applied as Firestore applies an `update` (dotted keys are field
 * paths, a map replaces the field whole, increments add, deletes remove; a
 * server timestamp becomes the commit time). Both JSON forms are pinned
 * against the real library, field type by field type, in
 * test/integration/snapshot-json.test.ts.
 */
import { DocumentReference, FieldValue, GeoPoint, Timestamp, type Firestore } from "firebase-admin/firestore";
import { isPlainMap } from "../shared/plain-map";

/** A Firestore `update` map: field paths to values or transforms. */
export type UpdateData = Record<string, unknown>;

export interface DocumentVersion {
  path: string;
  /** Unknown leaves it out of the snapshot form. */
  projectId?: string;
  /** The fields, as `DocumentSnapshot.data()` returns them. */
  data: Record<string, unknown>;
  createTime: Timestamp;
  /** The commit time of the write that produced this version. */
  updateTime: Timestamp;
}

/** What an attachment's `httpHeaders` values become: they often carry credentials. */
export const REDACTED = "[REDACTED]";

const REMOVED = Symbol("removed");

/** The version `patch`, committed at `commitTime`, makes of `version`; throws on arrayUnion/arrayRemove, which no delivery write uses. */
export function afterWrite(version: DocumentVersion, patch: UpdateData, commitTime: Timestamp): DocumentVersion {
  let data = version.data;
  for (const [fieldPath, value] of Object.entries(patch)) data = setField(data, fieldPath.split("."), value, commitTime);
  return { ...version, data, updateTime: commitTime };
}

/** The fields with attachments' `httpHeaders` values redacted: an event reaches every subscriber of the channel. */
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
function setField(map: Record<string, unknown>, segments: string[], value: unknown, commitTime: Timestamp): Record<string, unknown> {
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

function resolve(value: unknown, current: unknown, commitTime: Timestamp): unknown {
  if (value instanceof FieldValue) {
    if (isDelete(value)) return REMOVED;
    // Stored at millisecond precision.
    if (value.isEqual(FieldValue.serverTimestamp())) return Timestamp.fromMillis(commitTime.toMillis());
    const operand = incrementOperand(value);
    if (operand !== undefined) return typeof current === "number" ? current + operand : operand;
    throw new Error(`Cannot apply ${String((value as { methodName?: unknown }).methodName)} to an event's document.`);
  }
  if (isPlainMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(value)) {
      // A transform inside a map that replaces the field starts from nothing.
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

/** firebase-admin has no public accessor for an increment's amount; the unit test checks `operand` against real increments. */
function incrementOperand(value: FieldValue): number | undefined {
  const { methodName, operand } = value as unknown as { methodName?: unknown; operand?: unknown };
  return methodName === "FieldValue.increment" && typeof operand === "number" ? operand : undefined;
}

// The two JSON forms: a `DocumentSnapshot` read from Firestore, and what `data()` becomes.

/** firebase-admin does not export the class of `FieldValue.vector` values. */
const VectorValue = FieldValue.vector([]).constructor;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `JSON.parse(JSON.stringify(snapshot))` for a snapshot of `version` read at its update time. */
export function snapshotJson(version: DocumentVersion): { [key: string]: Json } {
  const firestore: { [key: string]: Json } = version.projectId === undefined ? {} : { projectId: version.projectId };
  return {
    _fieldsProto: encodeFields(version.data),
    _ref: { _firestore: firestore, _path: { segments: version.path.split("/") }, _converter: {} },
    _serializer: { allowUndefined: false },
    _readTime: timeJson(version.updateTime),
    _createTime: timeJson(version.createTime),
    _updateTime: timeJson(version.updateTime),
  };
}

/** `JSON.parse(JSON.stringify(snapshot.data()))`: the firebase-admin classes serialise themselves. */
export function dataJson(data: Record<string, unknown>): { [key: string]: Json } {
  return JSON.parse(JSON.stringify(data)) as { [key: string]: Json };
}

/** A client's project id as its JSON form shows it (no public accessor). */
export function projectIdOf(firestore: Firestore): string | undefined {
  const shown = JSON.parse(JSON.stringify(firestore)) as { projectId?: unknown };
  return typeof shown.projectId === "string" ? shown.projectId : undefined;
}
function encodeFields(map: Record<string, unknown>): { [key: string]: Json } {
  const fields: { [key: string]: Json } = {};
  for (const [name, value] of Object.entries(map)) fields[name] = encodeValue(value);
  return fields;
}

/** One Firestore `Value` as the client library holds it after a read: the value plus its `valueType`. */
function encodeValue(value: unknown): Json {
  if (value === null || value === undefined) return typed("nullValue", "NULL_VALUE");
  switch (typeof value) {
    case "boolean":
      return typed("booleanValue", value);
    case "string":
      return typed("stringValue", value);
    case "number":
      // As the library writes a JS number: a safe integer is an integer, anything else a double.
      return Number.isSafeInteger(value) && !Object.is(value, -0)
        ? typed("integerValue", String(value))
        : typed("doubleValue", Number.isFinite(value) ? value + 0 : null); // JSON has no -0, NaN or Infinity
  }
  if (value instanceof Timestamp) return typed("timestampValue", { seconds: String(value.seconds), nanos: value.nanoseconds });
  if (value instanceof Date) return encodeValue(Timestamp.fromDate(value));
  if (value instanceof GeoPoint) return typed("geoPointValue", { latitude: value.latitude, longitude: value.longitude });
  if (value instanceof DocumentReference) {
    const { databaseId } = value.firestore;
    return typed("referenceValue", `projects/${projectIdOf(value.firestore)}/databases/${databaseId}/documents/${value.path}`);
  }
  if (value instanceof Uint8Array) return typed("bytesValue", { type: "Buffer", data: Array.from(value) });
  if (value instanceof VectorValue) {
    const values = (value as FieldValue & { toArray(): number[] }).toArray().map((n) => typed("doubleValue", n));
    const fields = { __type__: typed("stringValue", "__vector__"), value: typed("arrayValue", { values }) };
    return typed("mapValue", { fields });
  }
  if (Array.isArray(value)) return typed("arrayValue", { values: value.map(encodeValue) });
  if (isPlainMap(value)) return typed("mapValue", { fields: encodeFields(value) });
  throw new TypeError(`A ${describe(value)} is not a Firestore value.`);
}

function typed(valueType: string, value: Json): Json {
  return { [valueType]: value, valueType };
}

function timeJson(time: Timestamp): Json {
  return { _seconds: time.seconds, _nanoseconds: time.nanoseconds };
}

function describe(value: unknown): string {
  if (typeof value !== "object" || value === null) return typeof value;
  return (value.constructor as { name?: string } | undefined)?.name ?? "object";
}
