/**
 * Every failure written to `delivery.error` has a class and a stable `code`,
 * so that code and tests branch on identity, never on text. The `message`
 * is for people: what failed and what to do.
 */
export type ErrorCode =
  | "invalid-config" // a param is missing or malformed
  | "invalid-document" // the mail document cannot be sent as written
  | "auth-failed" // the server refused the credentials
  | "connection-failed" // the server could not be reached, or dropped the connection
  | "timeout" // the server did not answer in time
  | "tls-failed" // the TLS handshake or certificate check failed
  | "recipients-rejected" // the server refused every recipient
  | "message-rejected" // the server refused the message itself (after DATA, or the sender)
  | "provider-error" // a provider's HTTP API refused the request
  | "lookup-failed" // the templates, users or suppression collection could not be read
  | "recipients-suppressed" // every recipient is in SUPPRESSION_COLLECTION
  | "outcome-unknown" // handed over in full, then no answer: it may have been accepted; never retried automatically
  | "unknown";

export abstract class SendEmailError extends Error {
  abstract readonly code: ErrorCode;
  /** True when a later attempt may succeed without anyone changing anything. */
  readonly transient: boolean = false;
}

/** A param is invalid; every mail fails with this until the extension is reconfigured. */
export class ConfigError extends SendEmailError {
  readonly code = "invalid-config" as const;
  override name = "ConfigError";
}

/** The mail document is malformed; the message names the field and what was expected. */
export class ValidationError extends SendEmailError {
  readonly code = "invalid-document" as const;
  override name = "ValidationError";
}

/** Delivery failed; `code` says how, `responseCode` keeps the SMTP reply code. */
export class DeliveryError extends SendEmailError {
  readonly code: ErrorCode;
  readonly responseCode?: number;
  override readonly transient: boolean;
  constructor(code: ErrorCode, message: string, options: { responseCode?: number; transient?: boolean } = {}) {
    super(message);
    this.name = "DeliveryError";
    this.code = code;
    this.responseCode = options.responseCode;
    this.transient = options.transient ?? false;
  }
}

/** The text written to `delivery.error` for any thrown value. */
export function errorText(error: unknown): string {
  if (error instanceof SendEmailError) return error.message;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
