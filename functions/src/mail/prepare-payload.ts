/**
 * Turns a validated mail request (recipients resolved, template rendered)
 * into the options nodemailer's `sendMail` takes. Pure: the input is never
 * mutated, and every array and map in the output is a fresh copy.
 */
import type { SendMailOptions } from "nodemailer";
import type { Attachment } from "nodemailer/lib/mailer";
import { ValidationError } from "../shared/errors";
import type { MailAttachment, MailMessage, MailRequest } from "../shared/types";
import { checkAttachmentLocation } from "./validation";

export interface PayloadDefaults {
  /** The extension's default sender, used when the document has no `from`. */
  defaultFrom: string;
  /** The extension's default reply-to, used when the document has no `replyTo`. */
  defaultReplyTo?: string;
}

type HeaderMap = Record<string, string | string[]>;

const copyHeaders = (headers: HeaderMap): HeaderMap =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? [...value] : value]));

/**
 * Top-level headers win over message headers. Header names are compared
 * without case, as mail clients do, so "X-Tag" and "x-tag" never both go out.
 */
function mergeHeaders(fromMessage: HeaderMap | undefined, topLevel: HeaderMap | undefined): HeaderMap | undefined {
  const top = topLevel ?? {};
  const overridden = new Set(Object.keys(top).map((name) => name.toLowerCase()));
  const merged = [
    ...Object.entries(copyHeaders(fromMessage ?? {})).filter(([name]) => !overridden.has(name.toLowerCase())),
    ...Object.entries(copyHeaders(top)),
  ];
  // fromEntries keeps a header named "__proto__" as an own property.
  return merged.length > 0 ? Object.fromEntries(merged) : undefined;
}

/**
 * `options` (as preparePayload built them, headers a map) with `extra`
 * headers added after the composition (unsubscribe links, providers'
 * tracking metadata); they replace same-named headers of the document,
 * compared without case, as top-level headers do.
 */
export function withHeaders(options: SendMailOptions, extra: HeaderMap): SendMailOptions {
  if (Object.keys(extra).length === 0) return options;
  return { ...options, headers: mergeHeaders(options.headers as HeaderMap | undefined, extra) };
}

function toAttachment(source: MailAttachment, index: number): Attachment {
  // nodemailer sends `raw` as the whole part and ignores every other source; so is nothing fetched for it.
  if (source.raw !== undefined) return { raw: source.raw };
  const attachment: Attachment = {};
  // Checked again here, not only in validation, because rendered templates
  // also produce attachments: no local file or internal URL reaches nodemailer.
  for (const key of ["path", "href"] as const) {
    const location = source[key];
    if (location !== undefined) {
      checkAttachmentLocation(location, `message.attachments[${index}].${key}`);
      attachment[key] = location;
    }
  }
  const { content } = source;
  if (content !== undefined) {
    // Firestore returns bytes as Uint8Array; nodemailer wants a Buffer. A view, not a copy.
    attachment.content = typeof content === "string" ? content : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  if (source.filename !== undefined) attachment.filename = source.filename;
  if (source.contentType !== undefined) attachment.contentType = source.contentType;
  if (source.contentDisposition !== undefined) attachment.contentDisposition = source.contentDisposition;
  if (source.cid !== undefined) attachment.cid = source.cid;
  if (source.encoding !== undefined) attachment.encoding = source.encoding;
  if (source.headers !== undefined) attachment.headers = copyHeaders(source.headers);
  // Used by attachments/download-attachments.ts for the download, never by nodemailer.
  if (source.httpHeaders !== undefined) attachment.httpHeaders = { ...source.httpHeaders };
  return attachment;
}

type FieldCopier<K extends keyof MailMessage> = (options: SendMailOptions, value: NonNullable<MailMessage[K]>) => void;

/**
 * How each field of a validated `message` becomes a nodemailer option. Typed
 * by MailMessage's keys, so a field added to validation without a line here
 * does not compile, instead of being dropped on the way to the server.
 */
const MESSAGE_FIELDS: { [K in keyof MailMessage]-?: FieldCopier<K> } = {
  subject: (options, value) => (options.subject = value),
  text: (options, value) => (options.text = value),
  html: (options, value) => (options.html = value),
  amp: (options, value) => (options.amp = value),
  messageId: (options, value) => (options.messageId = value),
  inReplyTo: (options, value) => (options.inReplyTo = value),
  priority: (options, value) => (options.priority = value),
  references: (options, value) => (options.references = Array.isArray(value) ? [...value] : value),
  date: (options, value) => (options.date = new Date(value.getTime())),
  attachments: (options, value) => {
    if (value.length > 0) options.attachments = value.map(toAttachment);
  },
  // Merged with the top-level headers by preparePayload, which lets those win.
  headers: () => undefined,
};

function messageFields(message: MailMessage): SendMailOptions {
  const options: SendMailOptions = {};
  for (const key of Object.keys(MESSAGE_FIELDS) as Array<keyof MailMessage>) {
    const value = message[key];
    if (value !== undefined) (MESSAGE_FIELDS[key] as FieldCopier<typeof key>)(options, value as never);
  }
  return options;
}

/**
 * Builds nodemailer's message. `sendGrid`, `template`, `categories` and the
 * uid fields are not nodemailer options and are left out.
 * @throws ValidationError when there is no recipient in to, cc or bcc.
 */
export function preparePayload(mail: MailRequest, defaults: PayloadDefaults): SendMailOptions {
  if (mail.to.length + mail.cc.length + mail.bcc.length === 0) {
    throw new ValidationError("Failed to deliver email. Expected at least 1 recipient.");
  }
  const options: SendMailOptions = {
    ...messageFields(mail.message ?? {}),
    from: mail.from || defaults.defaultFrom,
    // Belt and braces: even if a path slipped past validation, nodemailer must not read the disk.
    disableFileAccess: true,
  };
  const replyTo = mail.replyTo || defaults.defaultReplyTo;
  if (replyTo) options.replyTo = replyTo;
  if (mail.to.length > 0) options.to = [...mail.to];
  if (mail.cc.length > 0) options.cc = [...mail.cc];
  if (mail.bcc.length > 0) options.bcc = [...mail.bcc];
  const headers = mergeHeaders(mail.message?.headers, mail.headers);
  if (headers) options.headers = headers;
  return options;
}
