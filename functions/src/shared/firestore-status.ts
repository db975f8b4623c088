/** Which Firestore failures a later call may not see, so that writes and reads agree on what is worth retrying. */
import { GrpcStatus } from "firebase-admin/firestore";

/** The library's gRPC status codes, under the name the callers use. */
export { GrpcStatus as STATUS };

const { CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE } = GrpcStatus;
const TRANSIENT = new Set<number>([CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE]);

export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Whether Firestore was unavailable, overloaded or too slow, rather than refusing the call. */
export function isTransientStatus(error: unknown): boolean {
  const code = statusOf(error);
  return code !== undefined && TRANSIENT.has(code);
}
