/**
 * How each write recognises its own result when Firestore's answer was lost
 * (see write-outcome.ts). A mark uses only values chosen before the write
 * (client timestamps, texts, counts), never server timestamps, and is
 * specific enough that another writer's version does not match it: the
 * claim's lease carries random microseconds so that two invocations
 * claiming in the same millisecond still hold different leases.
 */
import { randomInt } from "node:crypto";
import { Timestamp, type DocumentData } from "firebase-admin/firestore";
import type { Mark } from "./write-outcome";

function delivery(data: DocumentData): Record<string, unknown> {
  const value = data.delivery;
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function same(value: unknown, expected: Timestamp): boolean {
  return value instanceof Timestamp && value.isEqual(expected);
}

/**
 * Random sub-millisecond microseconds, to make a client-chosen timestamp
 * unique. Below half a millisecond, so that `Timestamp.toDate()` (which
 * rounds) still shows the millisecond the attempt started in.
 */
export function nonceMicros(): number {
  return randomInt(1, 500);
}

/** The PENDING write of a new document: PENDING, no attempt, this write's start time. */
export function pendingMark(startTime: Timestamp): Mark {
  return (data) => {
    const d = delivery(data);
    return d.state === "PENDING" && d.attempts === 0 && same(d.startTime, startTime);
  };
}

/** The claim: PROCESSING under exactly this attempt's lease. */
export function claimMark(lease: Timestamp): Mark {
  return (data) => {
    const d = delivery(data);
    return d.state === "PROCESSING" && same(d.leaseExpireTime, lease);
  };
}

/**
 * An attempt's outcome: the attempt's own start time still in place (only a
 * new claim replaces it), its lease released, its end state and error, and
 * the attempt counted.
 */
export function outcomeMark(startTime: Timestamp, state: string, error: string | null, attempts: number): Mark {
  return (data) => {
    const d = delivery(data);
    return (
      d.state === state &&
      same(d.startTime, startTime) &&
      (d.leaseExpireTime === null || d.leaseExpireTime === undefined) &&
      (d.error ?? null) === error &&
      d.attempts === attempts
    );
  };
}
