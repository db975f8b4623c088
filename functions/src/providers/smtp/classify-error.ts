/**
 * Whatever nodemailer (or the socket) threw, as a DeliveryError. Only
 * structured fields are read (`code`, the socket's `originalCode`,
 * `responseCode`, `command`): message text changes between versions and servers.
 */
import { DeliveryError, type ErrorCode } from "../../shared/errors";
import { redact } from "../../shared/logs";
import { clip, sentence } from "../../shared/clip";
import { CERTIFICATE_CODES, CONNECTION_CODES, TIMEOUT_CODES } from "../../shared/network-codes";
import { handedOverWithoutAnswer } from "../shared/unknown-outcome";

const TEXT_FIELDS = ["code", "originalCode", "response", "command", "address", "timeoutType"] as const;
const NUMBER_FIELDS = ["responseCode", "port"] as const;
/** The fields of a nodemailer error read here; `timeoutType` is which wait an ETIMEDOUT ended (`GREETING_TIMEOUT`). */
type ErrorFields = Partial<Record<(typeof TEXT_FIELDS)[number], string> & Record<(typeof NUMBER_FIELDS)[number], number>> & { message: string };

/** `what` failed, as the start of a sentence, and the `advice` that follows. */
const failure = (code: ErrorCode, transient: boolean, what: string, advice: string) => ({ code, transient, what, advice });
type SmtpFailure = ReturnType<typeof failure>;

const CHECK_SERVER = "Check the host and port in SMTP_CONNECTION_URI.";
const CHECK_CREDENTIALS = "Check the user name in SMTP_CONNECTION_URI and SMTP_PASSWORD.";
const CHECK_ADDRESSES = "Check the addresses in to, cc and bcc.";
const CHECK_TLS = "Check that the certificate is valid for the host name, or the tls settings in SMTP_CONNECTION_URI.";
const CHECK_SECURE = "Check the scheme in SMTP_CONNECTION_URI: smtps:// for port 465, smtp:// for ports 587 and 25.";
const CHECK_MESSAGE = "Check the message size and content, and the sender address.";
const LATER = "The server may accept it on a later attempt.";
const TOKEN_LATER = "It may answer on a later attempt.";
const CHECK_OAUTH2 =
  "Check CLIENT_ID, CLIENT_SECRET and REFRESH_TOKEN; a revoked or expired refresh token must be replaced (scripts/oauth2-refresh-token.js).";
const CHECK_OAUTH2_ACCOUNT =
  "Check USER, and that the OAuth2 client may send mail as that account (Gmail: scope https://mail.google.com/; Microsoft: SMTP.Send, with SMTP AUTH enabled for the mailbox).";
/** Who may have accepted a message handed over without an answer. */
export const SMTP_SERVER = "The SMTP server";

/** The longest server reply quoted in `delivery.error`; some servers send a page of text. */
const MAX_REPLY_LENGTH = 300;

export function classifySmtpError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const fields = readFields(error);
  const found = classifyFields(fields);
  return new DeliveryError(found.code, redact(failureText(fields, found)), { responseCode: fields.responseCode, transient: found.transient });
}

/**
 * A failure after the whole message was handed over (handover.ts): a reply
 * is classified as usual; silence, a closed or reset connection or a
 * cancelled send leave the outcome unknown.
 */
export function classifySmtpErrorAfterHandover(error: unknown, socketTimeoutMs: number): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const fields = readFields(error);
  if (fields.responseCode !== undefined) return classifySmtpError(error);
  const timedOut = [fields.code, fields.originalCode].some((code) => code !== undefined && TIMEOUT_CODES.has(code));
  return handedOverWithoutAnswer(SMTP_SERVER, timedOut ? socketTimeoutMs : undefined);
}

function classifyFields(e: ErrorFields): SmtpFailure {
  if (e.command === "AUTH XOAUTH2") return oauth2Failure(e);
  const codes = [e.code, e.originalCode];
  const deferred = e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500;
  if (codes.some((code) => code !== undefined && TIMEOUT_CODES.has(code))) {
    return failure("timeout", true, "The SMTP server did not answer in time", CHECK_SERVER);
  }
  if (codes.some((code) => code !== undefined && CERTIFICATE_CODES.has(code))) {
    return failure("tls-failed", false, "The SMTP server's TLS certificate was not accepted", CHECK_TLS);
  }
  if (codes.some((code) => code?.startsWith("ERR_SSL_"))) {
    // Almost always TLS spoken to a plain-text port, or the other way round.
    return failure("tls-failed", false, "The TLS handshake with the SMTP server failed", CHECK_SECURE);
  }
  switch (e.code) {
    case "EAUTH":
    case "ENOAUTH":
    case "EOAUTH2":
      // 454 is "temporary authentication failure"; 535 and friends will not change on their own.
      return failure("auth-failed", deferred, "SMTP authentication failed", CHECK_CREDENTIALS);
    case "ETLS":
    case "EREQUIRETLS":
      return failure("tls-failed", false, "The TLS connection to the SMTP server failed", CHECK_SECURE);
    case "EENVELOPE":
      return envelopeFailure(e, deferred);
    case "EMESSAGE":
      return failure("message-rejected", deferred, "The SMTP server refused the message", CHECK_MESSAGE);
    case "EMAXRECIPIENTS":
      return failure("recipients-rejected", false, "The message has too many recipients", CHECK_ADDRESSES);
    case "EFILEACCESS":
    case "EURLACCESS":
      // Validation already refuses these; this is the second line of defence.
      return failure("invalid-document", false, "An attachment refers to a local file, which is never read", "Give attachments as content, a data: URI or an https: URL.");
    case "EFETCH":
      return failure("unknown", true, "An attachment could not be downloaded", "Check that its https: URL is public and reachable.");
    case "ESTREAM":
      // A failing attachment stream keeps the cause's code as originalCode.
      if (e.originalCode && e.originalCode !== "ESTREAM") return classifyFields({ ...e, code: e.originalCode, originalCode: undefined });
      return failure("unknown", false, "The message could not be built", "Check the attachments.");
    case "EDNS":
    case "ENOTFOUND":
      // EAI_AGAIN is a resolver hiccup; ENOTFOUND almost always means a mistyped host.
      return failure("connection-failed", codes.includes("EAI_AGAIN"), "The SMTP server's host name could not be resolved", CHECK_SERVER);
    case "ECONNECTION":
    case "ESOCKET":
    case "EPROXY":
    case "EMAXLIMIT":
      return failure("connection-failed", true, "The connection to the SMTP server failed", CHECK_SERVER);
    case "EPROTOCOL":
      return failure("unknown", e.responseCode === undefined || deferred, "The SMTP server gave an unexpected reply", CHECK_SERVER);
    case "EABORT":
      return failure("unknown", true, "The send was cancelled", "Try again.");
  }
  if (e.code !== undefined && CONNECTION_CODES.has(e.code)) {
    return failure("connection-failed", true, "Could not connect to the SMTP server", CHECK_SERVER);
  }
  if (e.responseCode !== undefined) return failure("unknown", deferred, "The SMTP server refused the request", CHECK_SERVER);
  return failure("unknown", false, "Sending failed", "");
}

/**
 * An XOAUTH2 login fails at the provider's token endpoint (no SMTP reply;
 * the cause's code is kept as originalCode: EOAUTH2 for an OAuth2 error,
 * EFETCH when unreachable) or at the SMTP server, which refused the token
 * even after nodemailer renewed it once.
 */
function oauth2Failure(e: ErrorFields): SmtpFailure {
  if (e.responseCode !== undefined) {
    const deferred = e.responseCode >= 400 && e.responseCode < 500;
    return failure("auth-failed", deferred, "The SMTP server refused the OAuth2 access token", CHECK_OAUTH2_ACCOUNT);
  }
  if (e.originalCode === "EOAUTH2") return failure("auth-failed", false, "The OAuth2 provider refused to issue an access token", CHECK_OAUTH2);
  if (e.originalCode === "EFETCH") return failure("connection-failed", true, "The OAuth2 token endpoint could not be reached", TOKEN_LATER);
  return failure("provider-error", true, "The OAuth2 token endpoint gave an unreadable answer", TOKEN_LATER);
}

/** EENVELOPE covers a refused sender, refused recipients and a refused DATA command. */
function envelopeFailure(e: ErrorFields, deferred: boolean): SmtpFailure {
  if (e.command === "MAIL FROM") {
    return failure("message-rejected", deferred, "The SMTP server refused the sender", "Check the from address and DEFAULT_FROM, and that the SMTP account may send as it.");
  }
  if (e.command === "DATA") return failure("message-rejected", deferred, "The SMTP server refused the message", CHECK_MESSAGE);
  // Without a reply, nodemailer refused before anything was sent (no recipients, a malformed address).
  if (e.responseCode === undefined) return failure("recipients-rejected", false, "The message has no valid recipients", CHECK_ADDRESSES);
  return failure("recipients-rejected", deferred, "SMTP server rejected every recipient", CHECK_ADDRESSES);
}

/**
 * `What failed (550): 550 5.1.1 <x@y> Recipient rejected. Check ...` when the
 * server replied; otherwise the socket code and the address tried, or as a
 * last resort nodemailer's own message.
 */
function failureText(e: ErrorFields, found: SmtpFailure): string {
  let text: string;
  if (e.response !== undefined && e.responseCode !== undefined) {
    text = `${found.what} (${e.responseCode}): ${clip(e.response, MAX_REPLY_LENGTH)}`;
  } else {
    const socketCode = [e.originalCode, e.code].find((code) => code !== undefined && isSystemCode(code));
    const where = e.address ? ` at ${e.address}${e.port ? `:${e.port}` : ""}` : "";
    const detail = [socketCode, e.timeoutType].filter(Boolean).join(", ");
    text = detail ? `${found.what}${where} (${detail})` : `${found.what}${where}: ${clip(e.message, MAX_REPLY_LENGTH)}`;
  }
  // A 4xx reply is the server's own "try again later"; that is the useful advice then.
  const advice = found.transient && e.responseCode !== undefined ? LATER : found.advice;
  return advice ? sentence(text, advice) : text;
}

/** Codes Node sets on socket and TLS errors (ECONNREFUSED, CERT_HAS_EXPIRED), as opposed to nodemailer's own. */
function isSystemCode(code: string): boolean {
  return CONNECTION_CODES.has(code) || TIMEOUT_CODES.has(code) || CERTIFICATE_CODES.has(code) || code.startsWith("ERR_") || code === "ENOTFOUND";
}

function readFields(error: unknown): ErrorFields {
  const source = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of TEXT_FIELDS) if (typeof source[key] === "string") fields[key] = source[key];
  for (const key of NUMBER_FIELDS) if (typeof source[key] === "number" && Number.isFinite(source[key])) fields[key] = source[key];
  const message = error instanceof Error ? error.message || error.name : typeof source.message === "string" ? source.message : String(error);
  return { ...fields, message };
}
