/**
 * Every failure the extension writes to `delivery.error` has a class and a
 * stable `code`, so that code (and tests) branch on identity, never on text.
 * The `message` is for people: it says what failed and what to do.
 */

export type ErrorCode =
  /** A param of the extension is missing or malformed. */
  | "invalid-config"
  /** The mail document cannot be sent as written. */
  | "invalid-document"
  /** The SMTP server refused the credentials. */
  | "auth-failed"
  /** The server could not be reached, or dropped the connection. */
  | "connection-failed"
  /** The server did not answer in time. */
  | "timeout"
  /** The TLS handshake or certificate check failed. */
  | "tls-failed"
  /** The server refused every recipient. */
  | "recipients-rejected"
  /** The server refused the message itself (after DATA, or a sender refusal). */
  | "message-rejected"
  /** A provider's HTTP API refused the request. */
  | "provider-error"
  /** The templates or users collection could not be read. */
  | "lookup-failed"
  /** Every recipient is in SUPPRESSION_COLLECTION (bounced, complained or unsubscribed before). */
  | "recipients-suppressed"
  /**
   * The message was handed over in full, then the server or API gave no
   * answer: it may have been accepted. Never retried automatically.
   */
  | "outcome-unknown"
  /** Anything not classified above. */
  | "unknown";

export abstract class SendEmailError extends Error {
  abstract readonly code: ErrorCode;
  /** True when a later attempt may succeed without anyone changing anything. */
  readonly transient: boolean = false;
}

/** A param is invalid; every mail fails with this until the extension is reconfigured. */
export class ConfigError extends SendEmailError {
  readonly code = "invalid-config" as const;
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The mail document is malformed; the message names the field and what was expected. */
export class ValidationError extends SendEmailError {
  readonly code = "invalid-document" as const;
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
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
