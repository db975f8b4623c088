/**
 * Comparisons of secrets and signatures that take the same time whatever
 * the input, so that response times tell an attacker nothing about how much
 * of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** Equal strings; both are hashed first, so that their lengths do not leak either. */
export function sameSecret(received: string, expected: string): boolean {
  const a = createHash("sha256").update(received).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Equal byte strings of a fixed, public length (signatures, MACs). */
export function sameBytes(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** Whether a signed time (seconds since the epoch) is within `windowSeconds` of now, either way. */
export function withinWindow(seconds: number, nowMs: number, windowSeconds: number): boolean {
  return Number.isFinite(seconds) && Math.abs(nowMs / 1000 - seconds) <= windowSeconds;
}
