/**
 * What a failed conditional write means, from its gRPC status code.
 *
 * @google-cloud/firestore retries a commit by itself on ABORTED,
 * RESOURCE_EXHAUSTED and UNAVAILABLE, and does not say so. A retried write
 * whose first call did apply (the answer was lost with the connection) then
 * fails its own precondition: FAILED_PRECONDITION is a real loss only when
 * no earlier call of the same write can have applied. The library does not
 * expose its retries, so a failed precondition is taken as possibly this
 * write's own when it came after one of our own retries, or when the call
 * took long enough to have hidden one (CLIENT_RETRY_SUSPECT_MS); a fast one,
 * the common case of two invocations racing for the same version, costs no read.
 */
import type { DocumentData } from "firebase-admin/firestore";
import { isTransientStatus, STATUS, statusOf } from "../shared/firestore-status";

/** Recognises the version of a document that a given write produced. */
export type Mark = (data: DocumentData) => boolean;

export type WriteOutcome =
  /** Another writer changed the document first (or it was deleted): final. */
  | "lost"
  /** The precondition failed, but possibly because this write already applied. */
  | "ambiguous-loss"
  /** Firestore was unavailable, overloaded or too slow: the write may or may not have applied; worth retrying. */
  | "transient"
  /** Anything else (permission denied, invalid argument): not worth retrying. */
  | "failed";

/**
 * A commit that failed its precondition this long after it started may have
 * been retried inside the client library (its first retry waits up to 100 ms,
 * after a failed call). A genuine loss answers in one round trip.
 */
export const CLIENT_RETRY_SUSPECT_MS = 1_000;

export function writeOutcome(error: unknown, context: { mayHaveApplied: boolean; elapsedMs: number }): WriteOutcome {
  const code = statusOf(error);
  if (code === STATUS.NOT_FOUND) return "lost";
  if (code === STATUS.FAILED_PRECONDITION) {
    return context.mayHaveApplied || context.elapsedMs >= CLIENT_RETRY_SUSPECT_MS ? "ambiguous-loss" : "lost";
  }
  if (isTransientStatus(error)) return "transient";
  return "failed";
}
