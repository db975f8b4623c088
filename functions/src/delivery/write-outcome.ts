/**
 * What a failed conditional write means, from its gRPC status code.
 * @google-cloud/firestore silently retries a commit on ABORTED,
 * RESOURCE_EXHAUSTED and UNAVAILABLE; a retried write whose first call did
 * apply (its answer lost) then fails its own precondition, indistinguishable
 * by timing from a lost race. So a failed precondition is "ambiguous": a
 * caller with a Mark reads the document to find out, one without takes it as lost.
 */
import type { DocumentData } from "firebase-admin/firestore";
import { isTransientStatus, grpcStatus, statusOf } from "../shared/firestore-status";

/** Recognises the version of a document that a given write produced. */
export type Mark = (data: DocumentData) => boolean;

/**
 * `lost`: another writer changed (or deleted) the document first, final.
 * `transient`: unavailable, overloaded or too slow; may have applied, worth retrying.
 * `failed`: anything else (permission denied, invalid argument), not worth retrying.
 */
export function writeOutcome(error: unknown): "lost" | "ambiguous-loss" | "transient" | "failed" {
  const code = statusOf(error);
  if (code === grpcStatus().NOT_FOUND) return "lost";
  if (code === grpcStatus().FAILED_PRECONDITION) return "ambiguous-loss";
  return isTransientStatus(error) ? "transient" : "failed";
}
