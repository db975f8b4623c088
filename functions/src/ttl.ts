/**
 * `delivery.expireAt` for a Firestore TTL policy: the start of processing
 * plus TTL_EXPIRE_VALUE units of TTL_EXPIRE_TYPE, in UTC.
 *
 * Months and years keep the day of the month where it exists and otherwise
 * stop at the last day of the target month: 31 January + 1 month is
 * 28 (or 29) February, not 2 or 3 March as with `Date#setMonth`.
 */
import { Timestamp } from "firebase-admin/firestore";
import type { Config } from "./config";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function expireAtFor(config: Pick<Config, "ttlExpireType" | "ttlExpireValue">, startMs: number): Timestamp | undefined {
  const value = config.ttlExpireValue;
  switch (config.ttlExpireType) {
    case "never":
      return undefined;
    case "hour":
      return Timestamp.fromMillis(startMs + value * HOUR_MS);
    case "day":
      return Timestamp.fromMillis(startMs + value * DAY_MS);
    case "week":
      return Timestamp.fromMillis(startMs + value * 7 * DAY_MS);
    case "month":
      return Timestamp.fromMillis(addMonths(startMs, value));
    case "year":
      return Timestamp.fromMillis(addMonths(startMs, 12 * value));
  }
}

function addMonths(startMs: number, months: number): number {
  const start = new Date(startMs);
  const monthIndex = start.getUTCMonth() + months;
  const year = start.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(start.getUTCDate(), lastDay);
  return Date.UTC(
    year,
    month,
    day,
    start.getUTCHours(),
    start.getUTCMinutes(),
    start.getUTCSeconds(),
    start.getUTCMilliseconds(),
  );
}
