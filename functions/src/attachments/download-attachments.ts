/**
 * The one place attachments are fetched, for every transport: between
 * composing and sending, each `data:` URI, https URL and Cloud Storage object
 * becomes content, so a transport only ever sees bytes (nodemailer's own URL
 * access stays off).
 * A failed download fails the send with a DeliveryError naming the
 * attachment and the reason; never the URL's path or query (they often
 * carry tokens), never an httpHeaders value.
 */
import type { SendMailOptions } from "nodemailer";
import type { Attachment } from "nodemailer/lib/mailer";
import { detectExtension, detectMimeType } from "nodemailer/lib/mime-funcs";
import ipaddr from "ipaddr.js";
import type { Config } from "../config";
import { DeliveryError } from "../shared/errors";
import { checkedLookup, type Lookup } from "./address-policy";
import { decodeDataUri } from "./data-uri";
import { DownloadFailure, downloadUrl, filteringAgent, TooLargeFailure, type Connector } from "./https-download";
import { DOWNLOAD_LIMITS } from "./limits";
import { namesStorageObject, storageObject, storageScope, StorageLocationRefused, type SourcedAttachment, type StorageScope } from "./storage-location";
import { loadBuckets, readStorageObject, type BucketOf } from "./storage-read";

export type DownloadLimits = { readonly [K in keyof typeof DOWNLOAD_LIMITS]: number };

/** How downloads connect. Production uses none of these; tests use them to reach servers on loopback. */
export interface DownloadOptions {
  /** Resolves host names instead of the system resolver; its answers are still checked. */
  lookup?: Lookup;
  /** Certificate authorities to trust instead of Node's, for a test server's certificate. */
  ca?: string | Buffer;
  /** Exact addresses exempt from the address policy. */
  allowAddresses?: readonly string[];
  limits?: Partial<DownloadLimits>;
}

/**
 * `call.deadlineMs` shortens the downloads' deadline to what the attempt has left; `mailPath` and `config` say
 * which Cloud Storage location the mail may read (STORAGE_ATTACHMENTS_PATH filled from the mail's path).
 */
export type AttachmentDownloader = (message: SendMailOptions, call?: DownloadCall) => Promise<SendMailOptions>;

export interface DownloadCall {
  deadlineMs?: number;
  mailPath?: string;
  config?: Pick<Config, "mailCollection" | "storageAttachments">;
}

/**
 * A copy of `message` whose attachments carry content instead of a
 * location; a message without a `data:` or URL attachment comes back as it is.
 * @throws DeliveryError when an attachment cannot be downloaded or is too large.
 */
export function createAttachmentDownloader(options: DownloadOptions = {}): AttachmentDownloader {
  // Exemptions are for tests' loopback servers: even a stray one cannot open the project's network.
  for (const address of options.allowAddresses ?? []) {
    if (!ipaddr.isValid(address) || ipaddr.parse(address).range() !== "loopback") {
      throw new Error("Only loopback addresses can be exempted from the attachment address policy");
    }
  }
  const limits: DownloadLimits = { ...DOWNLOAD_LIMITS, ...options.limits };
  const allowed = [...(options.allowAddresses ?? [])];
  let connector: Promise<Connector> | undefined;
  const connect = (): Promise<Connector> => {
    connector ??= filteringAgent({ ca: options.ca, allowed }).then((agent) => ({
      agent, lookup: checkedLookup(options.lookup, allowed), allowed, idleMs: limits.idleMs, redirects: limits.redirects, deadlineMs: limits.deadlineMs,
    }));
    // A failed load is not kept, so the next message tries again.
    connector.catch(() => (connector = undefined));
    return connector;
  };
  let buckets: Promise<BucketOf> | undefined;
  const storage = (): Promise<BucketOf> => {
    buckets ??= loadBuckets();
    buckets.catch(() => (buckets = undefined));
    return buckets;
  };

  return async (message, call = {}) => {
    const list = message.attachments;
    if (!Array.isArray(list) || !list.some((attachment) => locationOf(attachment) !== undefined || namesStorageObject(attachment))) return message;
    const stored = list.filter(namesStorageObject).length;
    const urls = list.filter((attachment) => !namesStorageObject(attachment) && isUrl(locationOf(attachment))).length;
    if (urls + stored > limits.urlAttachments) {
      const what = stored === 0 ? "given as URLs" : "given as URLs or Cloud Storage objects";
      throw new DeliveryError("invalid-document", `The message has ${urls + stored} attachments ${what}; at most ${limits.urlAttachments} are downloaded.`);
    }
    const deadlineMs = Math.max(1, Math.min(limits.deadlineMs, call.deadlineMs ?? limits.deadlineMs));
    const signal = AbortSignal.timeout(deadlineMs);
    const download: Download = {
      signal, limits, deadlineMs,
      connect: urls > 0 ? async () => ({ ...(await connect()), deadlineMs }) : undefined,
      storage: { scope: () => scopeOf(call), buckets: storage },
    };
    let used = 0;
    const attachments: Attachment[] = [];
    for (const [index, attachment] of list.entries()) {
      const resolved = await resolveOne(attachment, index, limits.mailBytes - used, download);
      used += sizeOf(resolved);
      if (used > limits.mailBytes) throw tooLargeTogether(attachment, index, limits);
      attachments.push(resolved);
    }
    return { ...message, attachments };
  };
}

type Download = {
  signal: AbortSignal;
  limits: DownloadLimits;
  deadlineMs: number;
  connect?: () => Promise<Connector>;
  storage: { scope: () => StorageScope; buckets: () => Promise<BucketOf> };
};

/** Where this mail may read Cloud Storage objects. @throws StorageAttachmentsOff when STORAGE_ATTACHMENTS_PATH is not set. */
function scopeOf({ config, mailPath }: DownloadCall): StorageScope {
  if (!config?.storageAttachments || mailPath === undefined) throw new StorageAttachmentsOff();
  return storageScope(config.storageAttachments, config.mailCollection, mailPath);
}

/** The instance has not opted in: its error names the param rather than the object. */
class StorageAttachmentsOff extends Error {}

async function resolveOne(attachment: Attachment, index: number, budget: number, download: Download): Promise<Attachment> {
  if (namesStorageObject(attachment)) return resolveStored(attachment, index, budget, download);
  const { signal, limits, connect } = download;
  const location = locationOf(attachment);
  if (location === undefined) return attachment;
  const { path: _path, href: _href, httpHeaders, ...rest } = attachment;
  if (location.startsWith("data:")) {
    const decoded = decodeDataUri(location);
    if (!decoded) throw attachmentError(attachment, index, new DownloadFailure("its data: URI is not validly encoded", "invalid-document", false));
    return { ...rest, content: decoded.bytes, ...(rest.contentType || !decoded.type ? {} : { contentType: decoded.type }) };
  }
  if (!isUrl(location) || !connect) throw attachmentError(attachment, index, new DownloadFailure("its location is neither a data: URI nor an https URL", "invalid-document", false));
  const maxBytes = Math.min(limits.attachmentBytes, budget);
  const headers = Object.fromEntries(Object.entries(httpHeaders ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  try {
    const bytes = await downloadUrl(location, headers, maxBytes, signal, await connect());
    const { encoding: _encoding, ...kept } = rest;
    return { ...kept, content: bytes, filename: filenameFor(attachment, location, index) };
  } catch (error) {
    if (error instanceof TooLargeFailure && maxBytes < limits.attachmentBytes) throw tooLargeTogether(attachment, index, limits);
    throw attachmentError(attachment, index, error);
  }
}

/** An attachment named as a Cloud Storage object: checked against the mail's location, then read with the Admin SDK. */
async function resolveStored(attachment: SourcedAttachment, index: number, budget: number, { signal, limits, deadlineMs, storage }: Download): Promise<Attachment> {
  const { path: _path, href: _href, httpHeaders: _headers, storagePath: _storagePath, encoding: _encoding, ...rest } = attachment;
  const maxBytes = Math.min(limits.attachmentBytes, budget);
  try {
    const object = storageObject(attachment, storage.scope());
    const read = await readStorageObject(object, maxBytes, signal, deadlineMs, await storage.buckets());
    const filename = typeof attachment.filename === "string" && attachment.filename !== "" ? attachment.filename : object.name.split("/").pop();
    return { ...rest, content: read.bytes, filename, ...(rest.contentType || !read.contentType ? {} : { contentType: read.contentType }) };
  } catch (error) {
    if (error instanceof StorageAttachmentsOff) {
      throw new DeliveryError(
        "invalid-document",
        `The attachment ${attachmentName(attachment, index)} names a Cloud Storage object, but STORAGE_ATTACHMENTS_PATH is not set, so Cloud Storage attachments are off. Set STORAGE_ATTACHMENTS_PATH, or give the attachment as content or a public https URL.`,
      );
    }
    if (error instanceof StorageLocationRefused) {
      throw new DeliveryError("invalid-document", `The attachment ${attachmentName(attachment, index)} was not read from Cloud Storage: ${error.message}.`);
    }
    if (error instanceof TooLargeFailure && maxBytes < limits.attachmentBytes) throw tooLargeTogether(attachment, index, limits);
    throw attachmentError(attachment, index, error, "read from Cloud Storage");
  }
}

/** nodemailer reads `raw` before `path`, and `path` before `href`: the location it would have used. */
function locationOf(attachment: Attachment): string | undefined {
  if (attachment.raw !== undefined && attachment.raw !== null) return undefined;
  const location = attachment.path ?? attachment.href;
  return typeof location === "string" ? location : undefined;
}

const isUrl = (location: string | undefined): boolean => location !== undefined && /^https:/i.test(location);

/** nodemailer's naming for URLs: the last path segment, with an extension from its type when it has none. */
function filenameFor(attachment: Attachment, location: string, index: number): string {
  if (typeof attachment.filename === "string" && attachment.filename !== "") return attachment.filename;
  let segment = new URL(location).pathname.split("/").pop() ?? "";
  try {
    segment = decodeURIComponent(segment);
  } catch {
    // Kept as it is.
  }
  const name = segment || `attachment-${index + 1}`;
  return name.includes(".") ? name : `${name}.${detectExtension(attachment.contentType || detectMimeType(name))}`;
}

/** Bytes an attachment adds to the message, for the per-message limit. */
function sizeOf(attachment: Attachment): number {
  const { content, raw } = attachment;
  const value = raw ?? content;
  if (typeof value === "string") {
    const encoding = (attachment.encoding || "utf8").toLowerCase().replace(/[-_\s]/g, "");
    return Buffer.byteLength(value, Buffer.isEncoding(encoding) && raw === undefined ? encoding : "utf8");
  }
  return value instanceof Uint8Array ? value.byteLength : 0;
}

/** `message.attachments[2] ("report.pdf")`: the index always, the filename when there is one. */
function attachmentName(attachment: Attachment, index: number): string {
  const { filename } = attachment;
  const shown = typeof filename === "string" && filename !== "" ? ` (${JSON.stringify(filename.length > 100 ? `${filename.slice(0, 100)}…` : filename)})` : "";
  return `message.attachments[${index}]${shown}`;
}

function attachmentError(attachment: Attachment, index: number, error: unknown, verb = "downloaded"): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const failure = error instanceof DownloadFailure ? error : new DownloadFailure("of an unexpected error", "unknown", true);
  const advice = failure.transient
    ? "It will be tried again if retries are enabled."
    : verb === "downloaded" ? "Give the attachment as content or a public https URL." : "Check the object, or give the attachment as content.";
  return new DeliveryError(failure.code, `The attachment ${attachmentName(attachment, index)} could not be ${verb}: ${failure.message}. ${advice}`, {
    transient: failure.transient,
  });
}

function tooLargeTogether(attachment: Attachment, index: number, limits: DownloadLimits): DeliveryError {
  return new DeliveryError(
    "invalid-document",
    `The attachment ${attachmentName(attachment, index)} takes the message's attachments over ${limits.mailBytes / 1024 / 1024} MB together. Send fewer or smaller attachments.`,
  );
}
