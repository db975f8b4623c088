/**
 * What counts as a map in a mail document. Firestore gives maps as plain
 * objects; everything else that is an object (Timestamp, GeoPoint,
 * DocumentReference, bytes, Date) is a value with a type of its own and must
 * never be walked key by key or mistaken for a map a user wrote.
 */

/**
 * A plain object: its prototype is null or a root prototype. Checked by
 * prototype depth rather than against this realm's Object.prototype, so that
 * plain objects made in another realm still count.
 */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
