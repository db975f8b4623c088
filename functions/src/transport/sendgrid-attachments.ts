/**
 * Reads a message's attachments into what SendGrid's v3 API takes: the bytes
 * base64-encoded, a file name, a type, and `inline` with a content id when
 * the attachment has a `cid`.
 *
 * Deviation from the original, which handed text content to the API as it
 * was: the API requires base64 for every attachment, so plain-text
 * attachments arrived garbled or were refused.
 *
 * `content` is decoded with its `encoding` the way nodemailer does; `path` and
 * `href` (already limited by validation to data: URIs and public https: URLs)
 * are read here, since no nodemailer runs to fetch them. Every redirect target
 * is checked like the original URL, so a redirect cannot reach an internal host.
 */
import type { Attachment } from "nodemailer/lib/mailer";
import { detectExtension, detectMimeType } from "nodemailer/lib/mime-funcs";
import { DeliveryError, ValidationError } from "../errors";
import { checkAttachmentLocation } from "../validation";
import type { SendGridAttachment } from "./sendgrid-payload";

/** SendGrid refuses messages over 30 MB; reading more into the function's memory would be pointless. */
const MAX_DOWNLOAD_BYTES = 30 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export async function readAttachments(list: Attachment[] | undefined, signal: AbortSignal): Promise<SendGridAttachment[]> {
  const out: SendGridAttachment[] = [];
  for (const [index, attachment] of (list ?? []).entries()) {
    const field = `message.attachments[${index}]`;
    const location = typeof attachment.path === "string" ? attachment.path : typeof attachment.href === "string" ? attachment.href : undefined;
    const read = location === undefined ? { bytes: contentBytes(attachment) } : await readLocation(location, field, signal);
    const type = attachment.contentType || read.type || detectMimeType(attachment.filename || location || "bin");
    const cid = typeof attachment.cid === "string" ? attachment.cid.replace(/[<>]/g, "") : undefined;
    const result: SendGridAttachment = {
      content: read.bytes.toString("base64"),
      filename: filename(attachment, location, type, index),
      type,
      disposition: attachment.contentDisposition === "attachment" || attachment.contentDisposition === "inline"
        ? attachment.contentDisposition
        : cid ? "inline" : "attachment",
    };
    if (cid) result.content_id = cid;
    out.push(result);
  }
  return out;
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

/** nodemailer's naming: the given name, else the URL's last path segment, else attachment-N, with an extension. */
function filename(attachment: Attachment, location: string | undefined, type: string, index: number): string {
  if (typeof attachment.filename === "string" && attachment.filename !== "") return attachment.filename;
  const fromUrl = location && !location.startsWith("data:") ? location.split(/[/\\]/).pop()?.split("?").shift() : "";
  const name = fromUrl || `attachment-${index + 1}`;
  return name.includes(".") ? name : `${name}.${detectExtension(type)}`;
}

async function readLocation(location: string, field: string, signal: AbortSignal): Promise<{ bytes: Buffer; type?: string }> {
  if (location.startsWith("data:")) return readDataUri(location, field);
  let url = location;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    checked(url, field);
    const response = await fetch(url, { signal, redirect: "manual" }).catch((error: unknown) => {
      if (signal.aborted) {
        throw new DeliveryError("timeout", `The attachment ${field} was not downloaded before the send deadline.`, { transient: true });
      }
      throw downloadFailed(field, describeFetchError(error), true);
    });
    const next = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && next) {
      await response.body?.cancel();
      url = new URL(next, url).href;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw downloadFailed(field, `HTTP ${response.status}`, response.status >= 500 || response.status === 429);
    }
    return { bytes: await readCapped(response, field), type: response.headers.get("content-type") ?? undefined };
  }
  throw downloadFailed(field, `more than ${MAX_REDIRECTS} redirects`, false);
}

/** The same rule as validation, applied to every URL actually fetched. */
function checked(url: string, field: string): void {
  try {
    checkAttachmentLocation(url, field);
  } catch (error) {
    if (error instanceof ValidationError) throw new DeliveryError("invalid-document", error.message);
    throw error;
  }
}

async function readCapped(response: Response, field: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_DOWNLOAD_BYTES) {
      throw new DeliveryError("invalid-document", `The attachment ${field} is larger than SendGrid's 30 MB message limit.`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** data:[<type>][;base64],<data>; validation has already made sure there is a comma. */
function readDataUri(uri: string, field: string): { bytes: Buffer; type?: string } {
  const comma = uri.indexOf(",");
  const meta = uri.slice(5, comma).split(";");
  const data = uri.slice(comma + 1);
  const base64 = meta.slice(1).some((part) => part.toLowerCase() === "base64");
  try {
    const bytes = base64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data), "utf8");
    return { bytes, type: meta[0] || undefined };
  } catch {
    throw new DeliveryError("invalid-document", `The attachment ${field} is not a valid data URI.`);
  }
}

function downloadFailed(field: string, why: string, transient: boolean): DeliveryError {
  return new DeliveryError(
    transient ? "unknown" : "invalid-document",
    `The attachment ${field} could not be downloaded (${why}). Check that its https: URL is public and reachable.`,
    { transient },
  );
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === "string" ? cause.code : "network error";
}
