/**
 * Turns whatever nodemailer (or Node's socket layer) threw into a
 * `DeliveryError` with a stable code, a `transient` flag and a short message
 * for `delivery.error`.
 *
 * Classification reads only structured fields: nodemailer's `code`, the
 * `originalCode` it keeps from the socket error it wrapped, the SMTP
 * `responseCode` and the `command` that was in flight. Message text is never
 * parsed; it changes between versions and servers.
 */
import { DeliveryError, type ErrorCode } from "../../shared/errors";
import { redact } from "../../shared/logs";
import { clip } from "../../shared/clip";
import { CERTIFICATE_CODES, CONNECTION_CODES, TIMEOUT_CODES } from "../../shared/network-codes";
import { handedOverWithoutAnswer } from "../shared/unknown-outcome";

/** The fields of a nodemailer error this module reads, each checked for its type. */
interface ErrorFields {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message: string;
  address?: string;
  port?: number;
  /** Which wait a nodemailer ETIMEDOUT ended, such as `GREETING_TIMEOUT`. */
  timeoutType?: string;
}

interface Verdict {
  code: ErrorCode;
  transient: boolean;
  /** What failed, as the start of a sentence. */
  what: string;
  /** What to do about it. */
  advice: string;
}

const CHECK_SERVER = "Check the host and port in SMTP_CONNECTION_URI.";
const CHECK_CREDENTIALS = "Check the user name in SMTP_CONNECTION_URI and SMTP_PASSWORD.";
const CHECK_ADDRESSES = "Check the addresses in to, cc and bcc.";
const CHECK_TLS = "Check that the certificate is valid for the host name, or the tls settings in SMTP_CONNECTION_URI.";
const CHECK_SECURE = "Check the scheme in SMTP_CONNECTION_URI: smtps:// for port 465, smtp:// for ports 587 and 25.";
const CHECK_MESSAGE = "Check the message size and content, and the sender address.";
const LATER = "The server may accept it on a later attempt.";
/** Who may have accepted a message handed over without an answer. */
export const SMTP_SERVER = "The SMTP server";

/** The longest server reply quoted in `delivery.error`; some servers send a page of text. */
const MAX_REPLY_LENGTH = 300;

export function classifySmtpError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const fields = readFields(error);
  const verdict = decide(fields);
  return new DeliveryError(verdict.code, redact(describe(fields, verdict)), {
    responseCode: fields.responseCode,
    transient: verdict.transient,
  });
}

/**
 * A failure after the whole message was handed over (handover.ts). Only a
 * reply says what the server did with it, and a reply is classified as
 * usual; silence (nodemailer's socket timeout, after `socketTimeoutMs`), a
 * closed or reset connection, or a cancelled send leave the outcome unknown.
 */
export function classifySmtpErrorAfterHandover(error: unknown, socketTimeoutMs: number): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const fields = readFields(error);
  if (fields.responseCode !== undefined) return classifySmtpError(error);
  const timedOut = [fields.code, fields.originalCode].some((code) => code !== undefined && TIMEOUT_CODES.has(code));
  return handedOverWithoutAnswer(SMTP_SERVER, timedOut ? socketTimeoutMs : undefined);
}

function decide(e: ErrorFields): Verdict {
  if (e.command === "AUTH XOAUTH2") return oauth2Verdict(e);
  const codes = [e.code, e.originalCode];
  const deferred = e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500;
  if (codes.some((code) => code !== undefined && TIMEOUT_CODES.has(code))) {
    return { code: "timeout", transient: true, what: "The SMTP server did not answer in time", advice: CHECK_SERVER };
  }
  if (codes.some((code) => code !== undefined && CERTIFICATE_CODES.has(code))) {
    return { code: "tls-failed", transient: false, what: "The SMTP server's TLS certificate was not accepted", advice: CHECK_TLS };
  }
  if (codes.some((code) => code?.startsWith("ERR_SSL_"))) {
    // Almost always TLS spoken to a plain-text port, or the other way round.
    return { code: "tls-failed", transient: false, what: "The TLS handshake with the SMTP server failed", advice: CHECK_SECURE };
  }
  switch (e.code) {
    case "EAUTH":
    case "ENOAUTH":
    case "EOAUTH2":
      // 454 is "temporary authentication failure"; 535 and friends will not change on their own.
      return { code: "auth-failed", transient: deferred, what: "SMTP authentication failed", advice: CHECK_CREDENTIALS };
    case "ETLS":
    case "EREQUIRETLS":
      return { code: "tls-failed", transient: false, what: "The TLS connection to the SMTP server failed", advice: CHECK_SECURE };
    case "EENVELOPE":
      return envelopeVerdict(e, deferred);
    case "EMESSAGE":
      return {
        code: "message-rejected",
        transient: deferred,
        what: "The SMTP server refused the message",
        advice: CHECK_MESSAGE,
      };
    case "EMAXRECIPIENTS":
      return { code: "recipients-rejected", transient: false, what: "The message has too many recipients", advice: CHECK_ADDRESSES };
    case "EFILEACCESS":
    case "EURLACCESS":
      // Validation already refuses these; this is the second line of defence.
      return {
        code: "invalid-document",
        transient: false,
        what: "An attachment refers to a local file, which is never read",
        advice: "Give attachments as content, a data: URI or an https: URL.",
      };
    case "EFETCH":
      return {
        code: "unknown",
        transient: true,
        what: "An attachment could not be downloaded",
        advice: "Check that its https: URL is public and reachable.",
      };
    case "ESTREAM":
      // A failing attachment stream keeps the cause's code as originalCode.
      if (e.originalCode && e.originalCode !== "ESTREAM") return decide({ ...e, code: e.originalCode, originalCode: undefined });
      return { code: "unknown", transient: false, what: "The message could not be built", advice: "Check the attachments." };
    case "EDNS":
      return dnsVerdict(e);
    case "ECONNECTION":
    case "ESOCKET":
    case "EPROXY":
    case "EMAXLIMIT":
      return { code: "connection-failed", transient: true, what: "The connection to the SMTP server failed", advice: CHECK_SERVER };
    case "EPROTOCOL":
      return {
        code: "unknown",
        transient: e.responseCode === undefined || deferred,
        what: "The SMTP server gave an unexpected reply",
        advice: CHECK_SERVER,
      };
    case "EABORT":
      return { code: "unknown", transient: true, what: "The send was cancelled", advice: "Try again." };
  }
  if (e.code === "ENOTFOUND") return dnsVerdict(e);
  if (e.code !== undefined && CONNECTION_CODES.has(e.code)) {
    return { code: "connection-failed", transient: true, what: "Could not connect to the SMTP server", advice: CHECK_SERVER };
  }
  if (e.responseCode !== undefined) {
    return { code: "unknown", transient: deferred, what: "The SMTP server refused the request", advice: CHECK_SERVER };
  }
  return { code: "unknown", transient: false, what: "Sending failed", advice: "" };
}

const TOKEN_LATER = "It may answer on a later attempt.";
const CHECK_OAUTH2 =
  "Check CLIENT_ID, CLIENT_SECRET and REFRESH_TOKEN; a revoked or expired refresh token must be replaced (scripts/oauth2-refresh-token.js).";
const CHECK_OAUTH2_ACCOUNT =
  "Check USER, and that the OAuth2 client may send mail as that account (Gmail: scope https://mail.google.com/; Microsoft: SMTP.Send, with SMTP AUTH enabled for the mailbox).";

/**
 * An XOAUTH2 login fails in one of two places: the provider's token endpoint
 * (no SMTP reply; nodemailer keeps the cause's code as originalCode, EOAUTH2
 * when the provider answered with an OAuth2 error, EFETCH when it could not be
 * reached) or the SMTP server, which refused the access token even after
 * nodemailer renewed it once.
 */
function oauth2Verdict(e: ErrorFields): Verdict {
  if (e.responseCode !== undefined) {
    const deferred = e.responseCode >= 400 && e.responseCode < 500;
    return { code: "auth-failed", transient: deferred, what: "The SMTP server refused the OAuth2 access token", advice: CHECK_OAUTH2_ACCOUNT };
  }
  if (e.originalCode === "EOAUTH2") {
    return { code: "auth-failed", transient: false, what: "The OAuth2 provider refused to issue an access token", advice: CHECK_OAUTH2 };
  }
  if (e.originalCode === "EFETCH") {
    return { code: "connection-failed", transient: true, what: "The OAuth2 token endpoint could not be reached", advice: TOKEN_LATER };
  }
  return { code: "provider-error", transient: true, what: "The OAuth2 token endpoint gave an unreadable answer", advice: TOKEN_LATER };
}

/** EENVELOPE covers a refused sender, refused recipients and a refused DATA command. */
function envelopeVerdict(e: ErrorFields, deferred: boolean): Verdict {
  if (e.command === "MAIL FROM") {
    return {
      code: "message-rejected",
      transient: deferred,
      what: "The SMTP server refused the sender",
      advice: "Check the from address and DEFAULT_FROM, and that the SMTP account may send as it.",
    };
  }
  if (e.command === "DATA") {
    return { code: "message-rejected", transient: deferred, what: "The SMTP server refused the message", advice: CHECK_MESSAGE };
  }
  if (e.responseCode === undefined) {
    // Refused by nodemailer before anything was sent (no recipients, a malformed address).
    return { code: "recipients-rejected", transient: false, what: "The message has no valid recipients", advice: CHECK_ADDRESSES };
  }
  return { code: "recipients-rejected", transient: deferred, what: "SMTP server rejected every recipient", advice: CHECK_ADDRESSES };
}

function dnsVerdict(e: ErrorFields): Verdict {
  // EAI_AGAIN is a resolver hiccup; ENOTFOUND almost always means a mistyped host.
  const transient = e.code === "EAI_AGAIN" || e.originalCode === "EAI_AGAIN";
  return { code: "connection-failed", transient, what: "The SMTP server's host name could not be resolved", advice: CHECK_SERVER };
}

/**
 * `What failed (550): 550 5.1.1 <x@y> Recipient rejected. Check ...` when the
 * server replied; otherwise the socket code and the address that was tried, or
 * as a last resort nodemailer's own message.
 */
function describe(e: ErrorFields, verdict: Verdict): string {
  let text: string;
  if (e.response !== undefined && e.responseCode !== undefined) {
    text = `${verdict.what} (${e.responseCode}): ${clip(e.response, MAX_REPLY_LENGTH)}`;
  } else {
    const socketCode = [e.originalCode, e.code].find((code) => code !== undefined && isSystemCode(code));
    const where = e.address ? ` at ${e.address}${e.port ? `:${e.port}` : ""}` : "";
    const detail = [socketCode, e.timeoutType].filter(Boolean).join(", ");
    text = detail ? `${verdict.what}${where} (${detail})` : `${verdict.what}${where}: ${clip(e.message, MAX_REPLY_LENGTH)}`;
  }
  // A 4xx reply is the server's own "try again later"; that is the useful advice then.
  const advice = verdict.transient && e.responseCode !== undefined ? LATER : verdict.advice;
  if (!advice) return text;
  return `${text}${/[.!?]$/.test(text) ? "" : "."} ${advice}`;
}

/** Codes Node sets on socket and TLS errors (ECONNREFUSED, CERT_HAS_EXPIRED), as opposed to nodemailer's own. */
function isSystemCode(code: string): boolean {
  return CONNECTION_CODES.has(code) || TIMEOUT_CODES.has(code) || CERTIFICATE_CODES.has(code) || code.startsWith("ERR_") || code === "ENOTFOUND";
}

function readFields(error: unknown): ErrorFields {
  const source = (typeof error === "object" && error !== null ? error : {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof source[key] === "string" ? (source[key] as string) : undefined);
  const number = (key: string): number | undefined =>
    typeof source[key] === "number" && Number.isFinite(source[key]) ? (source[key] as number) : undefined;
  const message = error instanceof Error ? error.message || error.name : text("message") ?? String(error);
  return {
    code: text("code"),
    originalCode: text("originalCode"),
    responseCode: number("responseCode"),
    response: text("response"),
    command: text("command"),
    message,
    address: text("address"),
    port: number("port"),
    timeoutType: text("timeoutType"),
  };
}
