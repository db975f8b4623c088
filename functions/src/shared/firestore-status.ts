/** Which Firestore failures a later call may not see, so that writes and reads agree on what is worth retrying. */
import type { GrpcStatus } from "firebase-admin/firestore";

/**
 * The library's gRPC status codes. Read on first use, not at import: the
 * enum's module loads google-gax (about 280 modules), which a cold start
 * should pay for only with its first Firestore call, and which every caller
 * here has made already (they classify a Firestore failure).
 */
export const grpcStatus = (): typeof GrpcStatus => (require("firebase-admin/firestore") as typeof import("firebase-admin/firestore")).GrpcStatus;

export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Whether Firestore was unavailable, overloaded or too slow, rather than refusing the call. */
export function isTransientStatus(error: unknown): boolean {
  const code = statusOf(error);
  if (code === undefined) return false;
  const { CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE } = grpcStatus();
  return [CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE].includes(code);
}
