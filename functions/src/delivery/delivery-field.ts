/**
 * The vocabulary of a mail document's `delivery` field: its states, the error
 * a dead attempt ends with, and how its untrusted values are read. Clients
 * and people can write anything into `delivery`, so readers go through these
 * instead of trusting a type.
 */

export { STATES, type State } from "../shared/types";

/** What `delivery.error` says when an attempt's lease ran out before it recorded an outcome. */
export const LEASE_EXPIRED_ERROR = "Message processing lease expired.";

/** The `delivery` field as read from an event: every field optional, and `unknown` until checked. */
export type DeliveryField = {
  [field in "state" | "startTime" | "endTime" | "error" | "attempts" | "leaseExpireTime" | "expireAt" | "info" | "nextAttemptTime" | "attemptId" | "retryRequest"]?: unknown;
};

/** `delivery.attempts` of a document's data: a whole number from 0, else 0. */
export function attemptsOf(data: Record<string, unknown>): number {
  const delivery = data.delivery;
  const attempts = typeof delivery === "object" && delivery !== null ? (delivery as DeliveryField).attempts : undefined;
  return typeof attempts === "number" && Number.isSafeInteger(attempts) && attempts >= 0 ? attempts : 0;
}
