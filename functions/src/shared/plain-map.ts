/**
 * A map in a mail document: a plain object, its prototype null or a root
 * prototype (by depth, so that another realm's plain objects count). Other
 * objects (Timestamp, GeoPoint, bytes, Date) are values and are never
 * walked key by key.
 */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
