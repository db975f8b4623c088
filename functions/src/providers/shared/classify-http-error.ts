/**
 * Turns the outcome of a call to a provider's HTTP API into a DeliveryError:
 * by the HTTP status when it answered, by the socket or TLS error code when
 * it could not be reached. The provider's own messages are only quoted.
 */
import { DeliveryError } from "../../shared/errors";
import { redact } from "../../shared/logs";
import { clip, sentence } from "../../shared/clip";
import { CONNECTION_CODES, isTlsFailureCode, TIMEOUT_CODES } from "../../shared/network-codes";

/** The longest provider text quoted in `delivery.error`. */
const MAX_DETAIL_LENGTH = 500;

export interface HttpFailure {
  /** The provider's name, for people: "SendGrid". */
  provider: string;
  status: number;
  /** The provider's error messages, from its response body. */
  messages: string[];
  /** What to check when the credentials were refused, such as "Check the API key in SMTP_PASSWORD". */
  credentialsAdvice: string;
}

/** What to do when the provider refused the message, by status. */
const REFUSAL_ADVICE: Record<number, string> = {
  403: "Check that the sender is a verified sender identity and that the API key may send mail.",
  413: "Make the message or its attachments smaller.",
};

/** 401: the key was refused; 429 and 5xx: worth another attempt; any other 4xx will be refused again. */
export function classifyHttpStatus(failure: HttpFailure): DeliveryError {
  const { provider, status } = failure;
  const detail = clip(failure.messages.join("; "), MAX_DETAIL_LENGTH);
  const quoted = detail ? `: ${detail}` : "";
  if (status === 401) {
    return new DeliveryError("auth-failed", redact(sentence(`${provider} refused the API key (${status})${quoted}`, `${failure.credentialsAdvice}.`)));
  }
  if (status === 429 || status >= 500) {
    const what = status === 429 ? `${provider} is rate-limiting requests` : `${provider} failed to handle the request`;
    return new DeliveryError("provider-error", redact(sentence(`${what} (${status})${quoted}`, "It may accept the message on a later attempt.")), { transient: true });
  }
  const advice = REFUSAL_ADVICE[status] ?? "Check the mail document's fields named above.";
  return new DeliveryError("provider-error", redact(sentence(`${provider} refused the message (${status})${quoted}`, advice)));
}

/** A request that got no answer: refused, reset, timed out, or stopped by a TLS problem. */
export function classifyHttpNetworkError(provider: string, error: unknown, endpoint: string): DeliveryError {
  // Node puts the socket error's code on the error itself, or on its `cause` (fetch).
  const code = [error, (error as { cause?: unknown } | undefined)?.cause]
    .map((candidate) => (candidate as { code?: unknown } | undefined)?.code)
    .find((candidate): candidate is string => typeof candidate === "string");
  const where = ` at ${endpoint}`;
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new DeliveryError("timeout", `${provider} did not answer in time${where} (${code}).`, { transient: true });
  }
  if (code !== undefined && isTlsFailureCode(code)) {
    return new DeliveryError(
      "tls-failed",
      `${provider}'s TLS certificate was not accepted${where} (${code}). Check TLS_OPTIONS: a "ca" there replaces the public root certificates.`,
    );
  }
  const detail = code ?? (error instanceof Error ? clip(error.message, MAX_DETAIL_LENGTH) : "network error");
  return new DeliveryError("connection-failed", redact(`Could not reach ${provider}${where} (${detail}). It may answer on a later attempt.`), {
    transient: code === undefined || CONNECTION_CODES.has(code) || code === "ENOTFOUND",
  });
}
