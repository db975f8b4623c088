/**
 * What a failed conditional write means, from its gRPC status code.
 *
 * @google-cloud/firestore retries a commit by itself on ABORTED,
 * RESOURCE_EXHAUSTED and UNAVAILABLE, after a random wait of up to 100 ms,
 * and does not say so. A retried write whose first call did apply (the answer
 * was lost with the connection) then fails its own precondition, within a
 * few hundred milliseconds: no timing tells it apart from losing a race. So a
 * failed precondition is always "ambiguous": a caller that can recognise its
 * own write (a Mark) reads the document to find out, one that cannot takes
 * it as lost.
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

export function writeOutcome(error: unknown): WriteOutcome {
  const code = statusOf(error);
  if (code === STATUS.NOT_FOUND) return "lost";
  if (code === STATUS.FAILED_PRECONDITION) return "ambiguous-loss";
  if (isTransientStatus(error)) return "transient";
  return "failed";
}
