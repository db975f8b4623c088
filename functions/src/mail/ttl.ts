/**
 * `delivery.expireAt` for a Firestore TTL policy: the start of processing
 * plus TTL_EXPIRE_VALUE units of TTL_EXPIRE_TYPE, in UTC.
 *
 * Months and years keep the day of the month where it exists and otherwise
 * stop at the last day of the target month: 31 January + 1 month is
 * 28 (or 29) February, not 2 or 3 March as with `Date#setMonth`.
 * A time past the end of year 9999, the last a Timestamp can hold, is
 * written as that last moment: a huge TTL_EXPIRE_VALUE means "keep for ever"
 * rather than a failed write.
 */
import { Timestamp } from "firebase-admin/firestore";
import type { Config } from "../config";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 9999-12-31T23:59:59.999Z, the last millisecond a Firestore Timestamp can hold. */
const MAX_MS = 253_402_300_799_999;

export function expireAtFor(config: Pick<Config, "ttlExpireType" | "ttlExpireValue">, startMs: number): Timestamp | undefined {
  const ms = expireAtMillis(config.ttlExpireType, config.ttlExpireValue, startMs);
  if (ms === undefined) return undefined;
  // NaN (a Date beyond its range) also means "too far".
  return Timestamp.fromMillis(ms <= MAX_MS ? ms : MAX_MS);
}

function expireAtMillis(unit: Config["ttlExpireType"], value: number, startMs: number): number | undefined {
  switch (unit) {
    case "never":
      return undefined;
    case "hour":
      return startMs + value * HOUR_MS;
    case "day":
      return startMs + value * DAY_MS;
    case "week":
      return startMs + value * 7 * DAY_MS;
    case "month":
      return addMonths(startMs, value);
    case "year":
      return addMonths(startMs, 12 * value);
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
