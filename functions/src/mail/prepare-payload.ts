/**
 * A validated mail request (recipients resolved, template rendered) as the options of nodemailer's
 * `sendMail`. Pure: the input is never mutated, and every array and map in the output is a fresh copy.
 */
import type { SendMailOptions } from "nodemailer";
import type { SourcedAttachment } from "../attachments/storage-location";
import type { Config } from "../config";
import { ValidationError } from "../shared/errors";
import type { MailAttachment, MailMessage, MailRequest } from "../shared/types";
import { checkAttachmentLocation, type HeaderMap } from "./validation";

const copyHeaders = (headers: HeaderMap): HeaderMap =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value]));

/** Top-level headers win, compared without case as mail clients do, so "X-Tag" and "x-tag" never both go out. */
function mergeHeaders(fromMessage: HeaderMap = {}, topLevel: HeaderMap = {}): HeaderMap | undefined {
  const overridden = new Set(Object.keys(topLevel).map((name) => name.toLowerCase()));
  const kept = Object.entries(fromMessage).filter(([name]) => !overridden.has(name.toLowerCase()));
  const merged = copyHeaders(Object.fromEntries([...kept, ...Object.entries(topLevel)])); // A header named "__proto__" stays an own property.
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/** Headers added after composition (unsubscribe links, tracking metadata), winning over the document's as top-level ones do. */
export function withHeaders(options: SendMailOptions, extra: HeaderMap): SendMailOptions {
  if (Object.keys(extra).length === 0) return options;
  return { ...options, headers: mergeHeaders(options.headers as HeaderMap | undefined, extra) };
}

const COPIED_ATTACHMENT_FIELDS = ["filename", "contentType", "contentDisposition", "cid", "encoding"] as const;

function toAttachment(source: MailAttachment, index: number): SourcedAttachment {
  // nodemailer sends `raw` as the whole part and ignores every other source, so nothing is fetched for it.
  if (source.raw !== undefined) return { raw: source.raw };
  const attachment: SourcedAttachment = {};
  for (const key of ["path", "href"] as const) {
    // Checked again: rendered templates produce attachments too, and no local file or internal URL may reach nodemailer.
    if (source[key] !== undefined) attachment[key] = checkAttachmentLocation(source[key], `message.attachments[${index}].${key}`);
  }
  const { content } = source;
  if (content !== undefined) {
    // Firestore gives bytes as a Uint8Array, nodemailer wants a Buffer: a view, not a copy.
    attachment.content = typeof content === "string" ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  for (const key of COPIED_ATTACHMENT_FIELDS) if (source[key] !== undefined) (attachment as Record<string, unknown>)[key] = source[key];
  if (source.headers !== undefined) attachment.headers = copyHeaders(source.headers);
  // For attachments/download-attachments.ts, never read by nodemailer.
  if (source.httpHeaders !== undefined) attachment.httpHeaders = { ...source.httpHeaders };
  if (source.storagePath !== undefined) attachment.storagePath = source.storagePath;
  return attachment;
}

const same = <T>(value: T): T => value;

/**
 * The nodemailer option each `message` field becomes (same name; undefined: none). Typed by MailMessage's
 * keys, so that a field added to validation without a line here does not compile rather than being dropped.
 */
const MESSAGE_OPTIONS: { [K in keyof MailMessage]-?: (value: NonNullable<MailMessage[K]>) => unknown } = {
  subject: same, text: same, html: same, amp: same, messageId: same, inReplyTo: same, priority: same,
  references: (value) => (Array.isArray(value) ? [...value] : value),
  date: (value) => new Date(value.getTime()),
  attachments: (value) => (value.length > 0 ? value.map(toAttachment) : undefined),
  headers: () => undefined, // Merged by preparePayload, top-level headers winning.
};

function messageOptions(message: MailMessage): SendMailOptions {
  const options: Record<string, unknown> = {};
  for (const [key, toOption] of Object.entries(MESSAGE_OPTIONS) as Array<[keyof MailMessage, (value: unknown) => unknown]>) {
    const option = message[key] === undefined ? undefined : toOption(message[key]);
    if (option !== undefined) options[key] = option;
  }
  return options;
}

/**
 * nodemailer's message. `sendGrid`, `template`, `categories` and the uid fields are not nodemailer options.
 * @throws ValidationError when there is no recipient in to, cc or bcc.
 */
export function preparePayload(mail: MailRequest, defaults: Pick<Config, "defaultFrom" | "defaultReplyTo">): SendMailOptions {
  if (mail.to.length + mail.cc.length + mail.bcc.length === 0) throw new ValidationError("Failed to deliver email. Expected at least 1 recipient.");
  const options: SendMailOptions = {
    ...messageOptions(mail.message ?? {}),
    from: mail.from || defaults.defaultFrom,
    // Even if a path slipped past validation, nodemailer must not read the disk.
    disableFileAccess: true,
  };
  const replyTo = mail.replyTo || defaults.defaultReplyTo;
  if (replyTo) options.replyTo = replyTo;
  for (const field of ["to", "cc", "bcc"] as const) if (mail[field].length > 0) options[field] = [...mail[field]];
  const headers = mergeHeaders(mail.message?.headers, mail.headers);
  if (headers) options.headers = headers;
  return options;
}
