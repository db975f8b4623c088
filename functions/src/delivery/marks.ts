/**
 * How each write recognises its own result when Firestore's answer was lost
 * (see write-outcome.ts). Every write of an attempt carries the attempt's id,
 * 128 random bits: no other writer's version can match it, whatever the
 * timing (timestamps collide; two claims in one millisecond are common).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Mark } from "./write-outcome";

/** A new attempt's identity: 128 random bits, base64url (22 characters). */
export function newAttemptId(): string {
  return randomBytes(16).toString("base64url");
}

/**
 * The id a new mail's PENDING write carries, derived from the trigger event's
 * id so that the same event delivered again recognises the PENDING its earlier
 * delivery wrote and goes on to claim instead of waiting for the sweep. Claims
 * keep random ids: two deliveries that both see this PENDING as theirs still
 * race one conditional claim, which only one wins.
 */
export function initializationId(eventId: string): string {
  return createHash("sha256").update(`pending:${eventId}`).digest().subarray(0, 16).toString("base64url");
}

/** A `delivery` in `state` under exactly this attempt, for which `also` holds. */
function deliveryMark(attemptId: string, state: string, also: (delivery: Record<string, unknown>) => boolean = () => true): Mark {
  return (data) => {
    const d: Record<string, unknown> = data.delivery && typeof data.delivery === "object" ? data.delivery : {};
    return d.state === state && d.attemptId === attemptId && also(d);
  };
}

/** The PENDING write of a new document, made by the invocation that will claim it as `attemptId`. */
export function pendingMark(attemptId: string): Mark {
  return deliveryMark(attemptId, "PENDING");
}

export function claimMark(attemptId: string): Mark {
  return deliveryMark(attemptId, "PROCESSING");
}

/** An attempt's outcome: its lease released, its end state and error, and the attempt counted. */
export function outcomeMark(attemptId: string, state: string, error: string | null, attempts: number): Mark {
  return deliveryMark(attemptId, state, (d) => (d.leaseExpireTime === null || d.leaseExpireTime === undefined) && (d.error ?? null) === error && d.attempts === attempts);
}
