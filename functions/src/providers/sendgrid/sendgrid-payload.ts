/**
 * A prepared message and the document's SendGrid fields as the body of the
 * v3 mail-send API. Every attachment is base64 (text handed over as it is
 * arrives garbled); `data:` URIs are decoded for callers that skip attachments/.
 */
import { randomUUID } from "node:crypto";
import type { SendMailOptions } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import type { Attachment } from "nodemailer/lib/mailer";
import { detectExtension, detectMimeType } from "nodemailer/lib/mime-funcs";
import { decodeDataUri } from "../../attachments/data-uri";
import { DeliveryError } from "../../shared/errors";
import { isPlainMap } from "../../shared/plain-map";
import type { MailFields } from "../provider";
import { readSendGridFields, type SendGridPolicy } from "./sendgrid-fields";

export interface SendGridAddress {
  email: string;
  name?: string;
}

export interface SendGridAttachment {
  /** Base64, as the API requires for every attachment, text ones included. */
  content: string;
  filename: string;
  type?: string;
  disposition: "attachment" | "inline";
  content_id?: string;
}

/** nodemailer's `priority` option as the headers it would write. */
const PRIORITY_HEADERS: Record<string, Record<string, string>> = {
  high: { "X-Priority": "1 (Highest)", "X-MSMail-Priority": "High", Importance: "High" },
  low: { "X-Priority": "5 (Lowest)", "X-MSMail-Priority": "Low", Importance: "Low" },
};

/**
 * The request `body`, the Message-ID header sent (`delivery.info.messageId`) and every address it names
 * (`delivery.info.accepted` once SendGrid takes it). @throws ValidationError for a bad sendGrid block or categories.
 */
export function buildSendGridMail(message: SendMailOptions, fields: MailFields, attachments: SendGridAttachment[], policy: SendGridPolicy = {}) {
  const seen = new Set<string>();
  // SendGrid refuses an address listed twice in one personalization; SMTP would deliver it once anyway.
  const unique = (list: SendGridAddress[]) =>
    list.filter((entry) => !seen.has(entry.email.toLowerCase()) && seen.add(entry.email.toLowerCase()));
  const to = unique(addresses(message.to));
  const cc = unique(addresses(message.cc));
  const bcc = unique(addresses(message.bcc));
  const from = addresses(message.from)[0] ?? { email: "" };
  const messageId = message.messageId || `<${randomUUID()}@${from.email.split("@").pop() || "localhost"}>`;
  const { sendGrid, categories } = readSendGridFields(fields, policy);
  const replyTo = addresses(message.replyTo);
  // SendGrid wants text/plain first and text/html last.
  const content = [
    ["text/plain", message.text],
    ["text/x-amp-html", message.amp],
    ["text/html", message.html],
  ].flatMap(([type, value]) => (typeof value === "string" && value !== "" ? [{ type: type as string, value }] : []));
  const body = {
    personalizations: [{ to, ...(cc.length > 0 && { cc }), ...(bcc.length > 0 && { bcc }), ...(sendGrid.dynamicTemplateData && { dynamic_template_data: sendGrid.dynamicTemplateData }) }],
    from,
    ...(replyTo.length === 1 && { reply_to: replyTo[0] }),
    ...(replyTo.length > 1 && { reply_to_list: replyTo }),
    ...(typeof message.subject === "string" && message.subject !== "" && { subject: message.subject }),
    ...(content.length > 0 && { content }),
    ...(attachments.length > 0 && { attachments }),
    headers: { ...headers(message), "Message-ID": messageId },
    ...(categories && { categories }),
    ...(sendGrid.templateId && { template_id: sendGrid.templateId }),
    ...(sendGrid.customArgs && { custom_args: sendGrid.customArgs }),
    ...(sendGrid.mailSettings && { mail_settings: sendGrid.mailSettings }),
    ...(sendGrid.ipPoolName && { ip_pool_name: sendGrid.ipPoolName }),
    ...(sendGrid.asm && { asm: sendGrid.asm }),
    ...(sendGrid.trackingSettings && { tracking_settings: sendGrid.trackingSettings }),
  };
  return { body, messageId, recipients: [...to, ...cc, ...bcc].map((entry) => entry.email) };
}

/** to/cc/bcc/from/replyTo as nodemailer takes them: strings that may each list several addresses, or {name, address}. */
function addresses(value: unknown): SendGridAddress[] {
  const entries = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return entries.flatMap((entry: unknown) => {
    if (typeof entry === "string") {
      return addressparser(entry, { flatten: true }).flatMap((parsed) =>
        parsed.address ? [withName(parsed.address, parsed.name)] : [],
      );
    }
    if (isPlainMap(entry) && typeof entry.address === "string") return [withName(entry.address, entry.name)];
    return [];
  });
}

function withName(email: string, name: unknown): SendGridAddress {
  return typeof name === "string" && name !== "" ? { email, name } : { email };
}

/** Custom headers plus the threading and priority headers nodemailer would have written. */
function headers(message: SendMailOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const custom = isPlainMap(message.headers) ? message.headers : {};
  for (const [name, value] of Object.entries(custom)) {
    // The Message-ID is set from `messageId` (see buildSendGridMail); one header per name.
    if (name.toLowerCase() === "message-id") continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.length !== 1 || typeof values[0] !== "string") {
      throw new DeliveryError(
        "invalid-document",
        `Header "${name.slice(0, 100)}" has ${values.length} values; SendGrid takes exactly one string per header.`,
      );
    }
    out[name] = values[0];
  }
  if (typeof message.inReplyTo === "string") out["In-Reply-To"] = message.inReplyTo;
  if (message.references !== undefined) {
    out.References = (Array.isArray(message.references) ? message.references : [message.references]).join(" ");
  }
  Object.assign(out, PRIORITY_HEADERS[message.priority ?? "normal"] ?? {});
  return out;
}

export async function readAttachments(list: Attachment[] | undefined): Promise<SendGridAttachment[]> {
  return (list ?? []).map((attachment, index) => {
    const field = `message.attachments[${index}]`;
    if (attachment.raw !== undefined && attachment.raw !== null) {
      // SendGrid builds the MIME parts itself; a prebuilt part has nowhere to go.
      throw new DeliveryError("invalid-document", `The attachment ${field} is given as "raw", which SendGrid cannot send. Give it as "content" instead.`);
    }
    const location = attachment.path ?? attachment.href;
    const data = typeof location === "string" ? decodeDataUri(location) : undefined;
    if (location !== undefined && !data) {
      throw new DeliveryError("invalid-document", `The attachment ${field} still has a location; attachments must be downloaded before sending.`);
    }
    const type = attachment.contentType || data?.type || detectMimeType(attachment.filename || "bin");
    const cid = typeof attachment.cid === "string" ? attachment.cid.replace(/[<>]/g, "") : undefined;
    const result: SendGridAttachment = {
      content: (data?.bytes ?? contentBytes(attachment)).toString("base64"),
      filename: filename(attachment, type, index),
      type,
      disposition: attachment.contentDisposition === "attachment" || attachment.contentDisposition === "inline"
        ? attachment.contentDisposition
        : cid ? "inline" : "attachment",
    };
    if (cid) result.content_id = cid;
    return result;
  });
}

/** Inline content: bytes as they are, strings decoded with `encoding` (utf-8 by default), as nodemailer does. */
function contentBytes(attachment: Attachment): Buffer {
  const { content } = attachment;
  if (Buffer.isBuffer(content)) return content;
  if (content instanceof Uint8Array) return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const text = typeof content === "string" ? content : "";
  const encoding = (attachment.encoding || "utf8").toLowerCase().replace(/[-_\s]/g, "");
  return Buffer.from(text, encoding === "usascii" ? "ascii" : (encoding as BufferEncoding));
}

/** nodemailer's naming for content: the given name, else attachment-N with an extension from the type. */
function filename(attachment: Attachment, type: string, index: number): string {
  if (typeof attachment.filename === "string" && attachment.filename !== "") return attachment.filename;
  return `attachment-${index + 1}.${detectExtension(type)}`;
}
