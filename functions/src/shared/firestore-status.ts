/**
 * gRPC status codes of Firestore failures, and which of them a later call may
 * not see: shared by the writes (delivery/write-outcome.ts) and the reads a
 * mail needs (templates, users), so that both agree on what is worth retrying.
 */
export const STATUS = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

const TRANSIENT = new Set<number>([
  STATUS.CANCELLED,
  STATUS.UNKNOWN,
  STATUS.DEADLINE_EXCEEDED,
  STATUS.RESOURCE_EXHAUSTED,
  STATUS.ABORTED,
  STATUS.INTERNAL,
  STATUS.UNAVAILABLE,
]);

/** The gRPC status code of a Firestore error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Whether Firestore was unavailable, overloaded or too slow, rather than refusing the call. */
export function isTransientStatus(error: unknown): boolean {
  const code = statusOf(error);
  return code !== undefined && TRANSIENT.has(code);
}
