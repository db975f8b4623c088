/**
 * The one serialisation an archived message is hashed in, so that anyone can
 * check a copy against `delivery.info.archive.sha256` from the copy alone
 * (the Firestore document read back, or the Cloud Storage object): JSON
 * without white space, object keys sorted by UTF-16 code units at every
 * level, strings escaped as JSON.stringify escapes them, numbers only as
 * integers. For these values that is the JSON Canonicalization Scheme
 * (RFC 8785). Keys whose value is undefined are left out, as Firestore
 * leaves them out.
 */
import { createHash } from "node:crypto";

export type CanonicalValue = null | boolean | number | string | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

/** @throws TypeError for a value that has no canonical form (a fraction, NaN, a function, a Buffer). */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`Only safe integers have a canonical form here, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as CanonicalValue)}`).join(",")}}`;
  }
  throw new TypeError(`No canonical form for ${typeof value === "object" ? "this object" : typeof value}`);
}

/** Hex SHA-256 of `text`'s UTF-8 bytes. */
export function sha256Hex(bytes: string | Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
