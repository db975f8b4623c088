/** Comparisons of secrets and signatures whose timing tells an attacker nothing about a guess. */
import { createHash, timingSafeEqual } from "node:crypto";

/** Equal strings; hashed first, so that their lengths do not leak either. */
export function sameSecret(received: string, expected: string): boolean {
  return timingSafeEqual(createHash("sha256").update(received).digest(), createHash("sha256").update(expected).digest());
}

/** Equal byte strings of a fixed, public length (signatures, MACs). */
export function sameBytes(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** Whether a signed time (whole seconds since the epoch, in digits) is within `windowSeconds` of now, either way. */
export function withinWindow(timestamp: string | number, nowMs: number, windowSeconds: number): boolean {
  const seconds = Number(timestamp);
  return /^[0-9]{1,12}$/.test(String(timestamp)) && Number.isFinite(seconds) && Math.abs(nowMs / 1000 - seconds) <= windowSeconds;
}
