/**
 * The record an accepted attempt archives: the message as it was handed to
 * the provider, after templates, suppression, the unsubscribe link, tracking
 * and downloads. Pure, and made only of strings, integers, null, arrays and
 * maps, so that it reads back from Firestore exactly as it was written and
 * hashes the same (canonical-json.ts).
 *
 * Attachments are kept as name, type, size and SHA-256 of the bytes sent,
 * never their content, and never how they were fetched (`path`, `href`,
 * `storagePath`, `httpHeaders`, which may carry credentials). Headers are the
 * message's own, as sent. Bcc recipients are listed in `bcc`: no Bcc header
 * goes out, but they did receive the message, and the archive says who did
 * (the mail document already holds them, readable by the same people).
 */
import type { SendMailOptions } from "nodemailer";
import type { Attachment } from "nodemailer/lib/mailer";
import { detectMimeType } from "nodemailer/lib/mime-funcs";
import { sha256Hex } from "./canonical-json";

/** Increased when the record's shape changes, so a reader knows which fields to expect. */
export const ARCHIVE_FORMAT = 1;

export interface ArchivedAttachment {
  /** As the message named it; null for a `raw` MIME part or an unnamed one. */
  filename: string | null;
  /** As sent: the attachment's contentType, or the one nodemailer derives from its name; null for a `raw` part. */
  contentType: string | null;
  /** Bytes of the content sent (of the whole part for `raw`). */
  size: number;
  /** Hex SHA-256 of those bytes. */
  sha256: string;
}

export interface ArchivedHeader {
  name: string;
  value: string | string[];
}

export interface ArchivedMessage {
  format: typeof ARCHIVE_FORMAT;
  mailPath: string;
  attemptId: string;
  /** The provider's id for the message (`delivery.info.messageId`). */
  messageId: string | null;
  from: string | null;
  replyTo: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  /** Every other header the message carried (the document's, `List-Unsubscribe`, tracking, `In-Reply-To`, `References`), in order. */
  headers: ArchivedHeader[];
  text: string | null;
  html: string | null;
  amp: string | null;
  attachments: ArchivedAttachment[];
}

export interface SentMessage {
  mailPath: string;
  attemptId: string;
  /** As given to the transport: attachments hold their content. */
  message: SendMailOptions;
  messageId: string | null;
}

export function archivedMessage({ mailPath, attemptId, message, messageId }: SentMessage): ArchivedMessage {
  return {
    format: ARCHIVE_FORMAT,
    mailPath,
    attemptId,
    messageId,
    from: addresses(message.from).join(", ") || null,
    replyTo: addresses(message.replyTo).join(", ") || null,
    to: addresses(message.to),
    cc: addresses(message.cc),
    bcc: addresses(message.bcc),
    subject: typeof message.subject === "string" ? message.subject : null,
    headers: headersOf(message),
    text: body(message.text),
    html: body(message.html),
    amp: body(message.amp),
    attachments: (message.attachments ?? []).map(archivedAttachment),
  };
}

type AddressField = SendMailOptions["to"];

/** The pipeline gives strings; nodemailer also takes `{ name, address }`, kept in the form a header shows it. */
function addresses(value: AddressField): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((entry) => addresses(entry));
  if (typeof value === "string") return [value];
  const address = value.address ?? "";
  return [value.name ? `"${value.name.replace(/(["\\])/g, "\\$1")}" <${address}>` : address];
}

function headersOf(message: SendMailOptions): ArchivedHeader[] {
  const out: ArchivedHeader[] = [];
  if (typeof message.inReplyTo === "string") out.push({ name: "In-Reply-To", value: message.inReplyTo });
  if (message.references !== undefined) out.push({ name: "References", value: Array.isArray(message.references) ? [...message.references] : String(message.references) });
  const { headers } = message;
  const entries: Array<[string, unknown]> = Array.isArray(headers) ? headers.map((header) => [header.key, header.value]) : Object.entries(headers ?? {});
  for (const [name, value] of entries) out.push({ name, value: Array.isArray(value) ? value.map(headerText) : headerText(value) });
  return out;
}

/** nodemailer takes `{ prepared, value }` too. */
function headerText(value: unknown): string {
  if (typeof value === "object" && value !== null && "value" in value) return String((value as { value: unknown }).value);
  return String(value);
}

/** Bodies are strings after validation and templates; bytes are read as UTF-8, as nodemailer sends them. */
function body(value: SendMailOptions["text"]): string | null {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return null;
}

function archivedAttachment(attachment: Attachment): ArchivedAttachment {
  const bytes = contentBytes(attachment);
  const filename = typeof attachment.filename === "string" && attachment.filename !== "" ? attachment.filename : null;
  const raw = attachment.raw !== undefined && attachment.raw !== null;
  const contentType = raw ? null : typeof attachment.contentType === "string" ? attachment.contentType : detectMimeType(filename ?? "bin");
  return { filename, contentType, size: bytes.length, sha256: sha256Hex(bytes) };
}

/** The bytes nodemailer sends for an attachment: `raw` wins, then `content` decoded with its `encoding`. */
function contentBytes(attachment: Attachment): Buffer {
  const source = attachment.raw !== undefined && attachment.raw !== null ? attachment.raw : attachment.content;
  if (Buffer.isBuffer(source)) return source;
  if (source instanceof Uint8Array) return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source === "string") {
    const encoding = typeof attachment.encoding === "string" && Buffer.isEncoding(attachment.encoding) ? attachment.encoding : "utf8";
    return Buffer.from(source, encoding);
  }
  // After the download step every attachment holds bytes: anything else is not archived rather than guessed at.
  throw new TypeError("an attachment's content was not bytes or text, so its size and hash are unknown");
}
