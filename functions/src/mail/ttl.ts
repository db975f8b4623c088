/**
 * `delivery.expireAt` for a Firestore TTL policy: the start of processing plus TTL_EXPIRE_VALUE units of
 * TTL_EXPIRE_TYPE, in UTC. A month later than 31 January is the last day of February, not early March as
 * with `Date#setMonth`. Past year 9999, the last a Timestamp holds, it is that last moment: a huge value
 * means "keep for ever" rather than a failed write.
 */
import { Timestamp } from "firebase-admin/firestore";
import type { Config, TtlUnit } from "../config";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 9999-12-31T23:59:59.999Z. */
const MAX_MS = 253_402_300_799_999;

const ADD_UNITS: Record<TtlUnit, ((startMs: number, count: number) => number) | undefined> = {
  never: undefined,
  hour: (startMs, count) => startMs + count * HOUR_MS,
  day: (startMs, count) => startMs + count * DAY_MS,
  week: (startMs, count) => startMs + count * 7 * DAY_MS,
  month: addMonths,
  year: (startMs, count) => addMonths(startMs, 12 * count),
};

export function expireAtFor(config: Pick<Config, "ttlExpireType" | "ttlExpireValue">, startMs: number): Timestamp | undefined {
  const ms = ADD_UNITS[config.ttlExpireType]?.(startMs, config.ttlExpireValue);
  if (ms === undefined) return undefined;
  return Timestamp.fromMillis(ms <= MAX_MS ? ms : MAX_MS); // NaN (beyond Date's range) is too far too.
}

function addMonths(startMs: number, months: number): number {
  const start = new Date(startMs);
  const monthIndex = start.getUTCMonth() + months;
  const year = start.getUTCFullYear() + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const day = Math.min(start.getUTCDate(), new Date(Date.UTC(year, month + 1, 0)).getUTCDate());
  return Date.UTC(year, month, day, start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds(), start.getUTCMilliseconds());
}
