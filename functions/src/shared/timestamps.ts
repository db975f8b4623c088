/** Reads a Firestore Timestamp (or anything with `toMillis`) as milliseconds; anything else is undefined. */
export function toMillis(value: unknown): number | undefined {
  if (value && typeof (value as { toMillis?: unknown }).toMillis === "function") {
    const ms = (value as { toMillis(): number }).toMillis();
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}
