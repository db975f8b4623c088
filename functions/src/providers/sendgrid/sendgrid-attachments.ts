/**
 * A message's attachments as SendGrid's v3 API takes them: every one
 * base64-encoded (text handed over as it is arrives garbled or is refused),
 * named, typed, and `inline` with a content id when it has a `cid`. URLs were
 * downloaded before (attachments/download-attachments.ts); `data:` URIs are
 * still decoded for callers that hand the transport a message directly.
 */
import type { Attachment } from "nodemailer/lib/mailer";
import { detectExtension, detectMimeType } from "nodemailer/lib/mime-funcs";
import { decodeDataUri } from "../../attachments/data-uri";
import { DeliveryError } from "../../shared/errors";
import type { SendGridAttachment } from "./sendgrid-payload";

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
