/**
 * The two JSON forms a document takes when firebase-admin objects go through
 * `JSON.stringify` (as the Eventarc client does with an event's data), built
 * from a document held in memory:
 * - `snapshotJson`: a `DocumentSnapshot` read from Firestore — its typed
 *   `_fieldsProto`, `_ref`, `_serializer` and the three times;
 * - `dataJson`: what `DocumentSnapshot.data()` becomes.
 * Both are pinned against the real library, field type by field type, in
 * test/integration/snapshot-json.test.ts.
 */
import { DocumentReference, FieldValue, GeoPoint, Timestamp, type Firestore } from "firebase-admin/firestore";
import type { DocumentVersion } from "./event-document";
import { isPlainMap } from "../shared/plain-map";

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

/**
 * The project id of a Firestore client, as its JSON form shows it (the
 * library has no public accessor; `_ref._firestore` is that JSON form).
 */
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
