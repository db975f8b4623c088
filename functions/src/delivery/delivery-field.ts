/**
 * The vocabulary of a mail document's `delivery` field, in one place: its
 * states, the error a dead attempt ends with, and how its untrusted values
 * (attempts, timestamps) are read. Clients and people can write anything
 * into `delivery`, so every reader goes through these functions instead of
 * trusting a type.
 */

/**
 * The states of `delivery.state`, as promised to users in the delivery
 * contract. `RETRY` is only ever written by a person or a client, to ask for
 * another attempt; the extension writes the other four.
 */
export const STATES = ["PENDING", "PROCESSING", "SUCCESS", "ERROR", "RETRY"] as const;
export type State = (typeof STATES)[number];

/** What `delivery.error` says when an attempt's lease ran out before it recorded an outcome. */
export const LEASE_EXPIRED_ERROR = "Message processing lease expired.";

/**
 * The `delivery` field as read from an event. Every field is optional and
 * untrusted, so each is `unknown` until one of the readers below checks it.
 */
export interface DeliveryField {
  state?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  error?: unknown;
  attempts?: unknown;
  leaseExpireTime?: unknown;
  expireAt?: unknown;
  info?: unknown;
  nextAttemptTime?: unknown;
  attemptId?: unknown;
  retryRequest?: unknown;
}

/** `delivery.attempts` of a document's data: a whole number from 0, else 0. */
export function attemptsOf(data: Record<string, unknown>): number {
  const delivery = data.delivery;
  const attempts = typeof delivery === "object" && delivery !== null ? (delivery as DeliveryField).attempts : undefined;
  return typeof attempts === "number" && Number.isSafeInteger(attempts) && attempts >= 0 ? attempts : 0;
}
