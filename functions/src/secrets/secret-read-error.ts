/**
 * What a failed secret read says in `delivery.error`: the secret version's
 * resource name (a name, never a value), the status, the server's own words
 * and what to do. Classified by the status the server answered (the gRPC
 * code, or the status name of the HTTP/JSON form), never by message text. A version that is missing, disabled or destroyed, or a
 * service account without access, stays so until someone changes it
 * (permanent); Secret Manager being unavailable, slow or over quota may pass
 * (transient).
 */
import { clip, sentence } from "../shared/clip";
import { formatDuration } from "../shared/deadline";
import { DeliveryError } from "../shared/errors";
import { redact } from "../shared/logs";

/** gRPC status codes by number, fixed by the protocol (the library's own enum would load google-gax). */
const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** The answers that a later attempt gets again unless someone changes the secret, its name or the access to it. */
const PERMANENT: Readonly<Record<string, string>> = {
  NOT_FOUND: "Check that the secret and this version exist in that project, or name another version.",
  FAILED_PRECONDITION: "The version is disabled or destroyed: enable it, or name another version (such as latest).",
  PERMISSION_DENIED:
    "Grant the extension's service account the Secret Manager Secret Accessor role (roles/secretmanager.secretAccessor) on the secret or its project.",
  INVALID_ARGUMENT: "Check the secret version's name.",
  OUT_OF_RANGE: "Check the secret version's name.",
  UNIMPLEMENTED: "Check the secret version's name.",
};

const LATER = "It may be readable on a later attempt.";

/** Most of a server's message; Secret Manager's name the resource and its state in far less. */
const DETAIL_LENGTH = 200;

/** `secret NAME could not be read: what. advice`, redacted: every failure of this folder says it so. */
export const secretFailure = (name: string, what: string, advice: string, transient: boolean): DeliveryError =>
  new DeliveryError("lookup-failed", redact(sentence(`secret ${name} could not be read: ${what}`, advice)), { transient });

/** The DeliveryError for a read of `name` that the client library (or the network under it) failed. */
export function secretReadError(name: string, error: unknown): DeliveryError {
  const answer = grpcAnswer(error) ?? httpAnswer(error);
  if (answer) {
    const what = answer.detail ? `${answer.status} (${clip(answer.detail, DETAIL_LENGTH)})` : answer.status;
    const advice = PERMANENT[answer.status];
    return advice ? secretFailure(name, what, advice, false) : secretFailure(name, what, LATER, true);
  }
  // No answer: a refused connection, a reset, an unreadable reply, credentials not found.
  const reason = networkCode(error) ?? (error instanceof Error ? clip(error.message, DETAIL_LENGTH) : "");
  return secretFailure(name, `Secret Manager could not be reached${reason ? ` (${reason})` : ""}`, LATER, true);
}

/** A system error's code (`ECONNREFUSED`), on the error or the causes fetch and its wrappers put it under. */
function networkCode(error: unknown): string | undefined {
  for (let at = error, depth = 0; at && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

interface Answer {
  status: string;
  detail: string;
}

/** The gRPC form (the library's default): a numeric `code`, and a message prefixed `5 NOT_FOUND: `. */
function grpcAnswer(error: unknown): Answer | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code >= STATUS_NAMES.length) return undefined;
  const status = STATUS_NAMES[code];
  const message = error instanceof Error ? error.message : "";
  return { status, detail: message.replace(`${code} ${status}: `, "") };
}

/** Google's HTTP status for each status name, for an answer whose body does not say its name. */
const FROM_HTTP: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/**
 * The HTTP/JSON form (`fallback`, which the tests' fake speaks): an HTTP `status`, and the body
 * `{"error": {"code", "message", "status"}}` as the message. Its status name tells a disabled
 * version (FAILED_PRECONDITION) from a malformed request, which share HTTP 400.
 */
function httpAnswer(error: unknown): Answer | undefined {
  const httpStatus = (error as { status?: unknown } | null)?.status;
  if (typeof httpStatus !== "number") return undefined;
  const body = googleErrorBody(error instanceof Error ? error.message : "");
  const named = body?.status !== undefined && (STATUS_NAMES as readonly string[]).includes(body.status) ? body.status : undefined;
  const status = named ?? FROM_HTTP[httpStatus] ?? (httpStatus >= 500 ? "UNAVAILABLE" : "UNKNOWN");
  return { status, detail: body?.message ?? `HTTP ${httpStatus}` };
}

function googleErrorBody(text: string): { status?: string; message?: string } | undefined {
  try {
    const error = (JSON.parse(text) as { error?: { status?: unknown; message?: unknown } } | null)?.error;
    if (typeof error !== "object" || error === null) return undefined;
    return {
      status: typeof error.status === "string" ? error.status : undefined,
      message: typeof error.message === "string" ? error.message : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The version was read, but its value cannot be a password or key. */
export const secretUnusable = (name: string, problem: string): DeliveryError =>
  secretFailure(name, problem, "Add a version holding the password or key as text, and name it (or latest).", false);

/** The read took longer than `deadlineMs`, the client library's retries included. */
export const secretReadTimeout = (name: string, deadlineMs: number): DeliveryError =>
  secretFailure(name, `Secret Manager did not answer within ${formatDuration(deadlineMs)}`, LATER, true);
