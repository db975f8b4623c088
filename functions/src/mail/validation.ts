/**
 * Validation of mail documents, which anyone with write access to the mail collection writes: every field is
 * checked for type and size before nodemailer sees it, and only known message fields are passed on. Errors
 * name the field, never its value: values may be huge or personal, and errors end up in `delivery.error`.
 * `null` means absent for every optional field, as Firestore clients often write null instead of deleting.
 */
import { isIP } from "node:net";
import { types } from "node:util";
import addressparser from "nodemailer/lib/addressparser";
import { DOWNLOAD_LIMITS } from "../attachments/limits";
import { ValidationError } from "../shared/errors";
import { isPlainMap } from "../shared/plain-map";
import { isStreamName } from "../suppression/streams";
import type { MailAttachment, MailDsn, MailMessage, MailRequest, TemplateRequest } from "../shared/types";
import { canonicalLocale, canonicalTimeZone, LOCALE_EXPECTED, TIME_ZONE_EXPECTED } from "./locale";

/** Bounds that keep one malicious document from costing much memory, CPU or network. */
export const LIMITS = Object.freeze({
  recipients: 1000, // Parsed addresses in to/cc/bcc plus user ids in toUids/ccUids/bccUids.
  addressEntryLength: 10_000, // Characters in one entry of to/cc/bcc (an entry may list several addresses).
  attachments: 100, // URL attachments are limited further (attachments/limits.ts).
  headerValues: 100, // In one headers map, each element of an array value counting.
  headerNameLength: 200,
  references: 100,
  categories: 100,
  templateName: 1500, // Firestore indexes only the first 1500 bytes of a string.
  uidLength: 1500, // A Firestore document id.
  ignoredFieldsReported: 20, // So that a document with thousands of keys cannot flood the logs.
  envidLength: 100, // RFC 3461 section 4.4: an envelope identifier is at most 100 characters.
  /**
   * Recipients of a mail with `separateMessages` (to plus toUids). Each gets an entry in `delivery.recipients`
   * (about 1 KiB at most, so 100 stay near 100 KiB of the 1 MiB document) and its own send: 100 messages take a
   * few seconds over a pooled connection, one lease or two when the server is slow. Larger lists are what
   * several documents are for.
   */
  separateRecipients: 100,
});

export interface ValidationResult {
  mail: MailRequest;
  /** Dotted names of unsupported fields that were dropped, e.g. `message.raw`; the caller logs them. */
  ignoredFields: string[];
}

export type HeaderMap = Record<string, string | string[]>;

/** `ignored` collects dropped fields below this one (a message's attachments). */
type FieldParser<T = unknown> = (value: unknown, path: string, ignored: string[]) => T;

/** Users rely on these two forms: message fields and top-level fields differ. */
function fail(path: string, expected: string): never {
  if (path === "message" || path.startsWith("message.")) throw new ValidationError(`Invalid message configuration: Field '${path}' must be ${expected}`);
  throw new ValidationError(`Invalid field "${path}". Expected ${expected}.`);
}

const hasLineBreak = (value: string): boolean => /[\r\n]/.test(value);

/**
 * nodemailer folds header lines only at white space, and a line may not exceed 998 characters: a server
 * that splits a longer one could turn its tail into a header of the sender's choosing.
 */
const LONGEST_HEADER_WORD = 900;
const OVERLONG_WORD = new RegExp(`\\S{${LONGEST_HEADER_WORD + 1}}`);
export const hasOverlongWord = (value: string): boolean => OVERLONG_WORD.test(value);
const OVERLONG = `without words longer than ${LONGEST_HEADER_WORD} characters`;

function expectString(value: unknown, path: string): string {
  if (typeof value !== "string") fail(path, "a string");
  return value;
}

/** Text that becomes a folded header: only its words are bounded. */
function expectHeaderText(value: unknown, path: string): string {
  const text = expectString(value, path);
  if (hasOverlongWord(text)) fail(path, `a string ${OVERLONG}`);
  return text;
}

function expectLine(value: unknown, path: string): string {
  if (hasLineBreak(expectString(value, path))) fail(path, "a string without line breaks");
  return expectHeaderText(value, path);
}

function expectStringArray(value: unknown, path: string, what: string, max = Infinity): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) fail(path, what);
  if (value.length > max) fail(path, `an array of at most ${max} strings`);
  return [...value];
}

function expectChoice<T extends string>(allowed: readonly T[]): (value: unknown, path: string) => T {
  const expected = `one of ${allowed.map((option) => `"${option}"`).join(", ")}`;
  return (value, path) => ((allowed as readonly unknown[]).includes(value) ? (value as T) : fail(path, expected));
}

/** Field names can be 1500 bytes long: a reported one is shortened. */
function reportIgnored(ignored: string[], prefix: string, key: string): void {
  if (ignored.length < LIMITS.ignoredFieldsReported) ignored.push(`${prefix}.${key.length > 100 ? `${key.slice(0, 100)}…` : key}`);
}

const REFUSED_HEADERS: ReadonlyArray<[RegExp, string]> = [
  // nodemailer takes the SMTP envelope from these headers too: `{Bcc: …}` would add a hidden recipient.
  [/^(from|sender|to|cc|bcc|reply-to)$/i, "absent: senders and recipients are set by the document's from, replyTo, to, cc and bcc, which are checked"],
  // Providers repeat these in their delivery events (docs/webhooks.md): a document setting one could point another mail's
  // events at a document of its choosing. Refused rather than removed, so that the author learns why.
  [/^(x-pm-metadata-.*|x-mailgun-variables|x-smtpapi)$/i, "absent: providers repeat this header in their delivery events, and the extension sets its own tracking value"],
];
const HEADER_NAME = new RegExp(`^[\\x21-\\x39\\x3b-\\x7e]{1,${LIMITS.headerNameLength}}$`); // RFC 5322: printable ASCII but ':'.

/**
 * Values must be strings or arrays of strings: nodemailer writes an object `{prepared: true, value}`
 * unfolded and unescaped, and CR/LF would start a new header.
 */
function parseHeaders(value: unknown, path: string): HeaderMap {
  if (!isPlainMap(value)) fail(path, "a map of header names to strings or arrays of strings");
  const entries: Array<[string, string | string[]]> = [];
  let count = 0;
  for (const [name, raw] of Object.entries(value)) {
    if (raw === null || raw === undefined) continue;
    if (!HEADER_NAME.test(name)) fail(path, `a map whose keys are header names (1-${LIMITS.headerNameLength} printable ASCII characters without spaces or ':')`);
    const valuePath = `${path}.${name}`;
    const refused = REFUSED_HEADERS.find(([pattern]) => pattern.test(name));
    if (refused) fail(valuePath, refused[1]);
    const values = Array.isArray(raw) ? raw : [raw];
    for (const item of values) {
      if (typeof item !== "string" || hasLineBreak(item)) fail(valuePath, "a string or an array of strings without line breaks");
      if (hasOverlongWord(item)) fail(valuePath, `a string or an array of strings ${OVERLONG}`);
    }
    count += values.length;
    if (count > LIMITS.headerValues) fail(path, `a map of at most ${LIMITS.headerValues} header values`);
    entries.push([name, Array.isArray(raw) ? [...(raw as string[])] : (raw as string)]);
  }
  return Object.fromEntries(entries); // Own properties: a header named "__proto__" stays a header.
}

/**
 * An https URL to a public domain name, or a `data:` URI; anything else could be a local file (`/proc/self/environ`).
 * The address connected to is checked again at connection time (attachments/address-policy.ts). The raw text is
 * checked too, as nodemailer reads `https:host`, ` https://…` and `DATA:…` as file names.
 */
export function checkAttachmentLocation(value: string, path: string): string {
  // A Cloud Storage object: the downloader checks it against STORAGE_ATTACHMENTS_PATH and the mail's own path, or refuses it.
  if (/^gs:/i.test(value)) return value;
  if (value.startsWith("data:")) {
    // Without a comma nodemailer cannot parse the URI and falls back to reading a file.
    if (!value.includes(",")) fail(path, "a data URI of the form data:[<type>][;base64],<data>");
    return value;
  }
  const url = /^https:\/\//i.test(value) && URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== "https:") fail(path, "an https URL or a data URI (local files, http: and other URL schemes are not allowed)");
  // "https://files.example.com@evil.example/x" is a request to evil.example.
  if (url.username || url.password || /^https:\/\/[^/?#]*@/i.test(value)) fail(path, "an https URL without user information (no user@ before the host)");
  // The URL parser has already turned forms such as 0x7f.1 or 2130706433 into 127.0.0.1.
  const host = url.hostname.replace(/\.$/, "");
  const internal =
    host.startsWith("[") || isIP(host) !== 0 || /^\d+(\.\d+)*$/.test(host) || !host.includes(".") || /(^|\.)(localhost|local|internal)$/.test(host);
  if (internal) fail(path, "an https URL whose host is a public domain name (IP addresses, localhost and internal hosts are not allowed)");
  return value;
}

const attachmentLocation = (value: unknown, path: string): string => checkAttachmentLocation(expectString(value, path), path);

// Normalised as nodemailer normalises an encoding before Buffer.from.
function expectEncoding(value: unknown, path: string): string {
  const text = expectString(value, path);
  const normalised = text.toLowerCase().replace(/[-_\s]/g, "");
  if (normalised !== "usascii" && !Buffer.isEncoding(normalised)) fail(path, "a known encoding such as \"base64\", \"hex\" or \"utf8\"");
  return text;
}

const HTTP_HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/; // RFC 9110 tokens.
/** Headers that shape the connection or the framing rather than ask for a file; the downloader sets them. */
const CONNECTION_HEADERS = /^(host|content-length|transfer-encoding|connection|keep-alive|upgrade|te|trailer|expect|proxy-.*)$/i;

/** `httpHeaders` for downloading an https attachment (`Authorization`, say). Errors never quote a value: it is usually a credential. */
function parseHttpHeaders(value: unknown, path: string): Record<string, string> {
  if (!isPlainMap(value)) fail(path, "a map of HTTP header names to strings");
  const entries = Object.entries(value).filter(([, header]) => header !== null && header !== undefined);
  if (entries.length > DOWNLOAD_LIMITS.httpHeaders) fail(path, `a map of at most ${DOWNLOAD_LIMITS.httpHeaders} headers`);
  const limit = DOWNLOAD_LIMITS.httpHeaderValueLength;
  for (const [name, header] of entries) {
    if (!HTTP_HEADER_NAME.test(name)) fail(path, "a map whose keys are HTTP header names (letters, digits and !#$%&'*+.^_`|~-)");
    if (CONNECTION_HEADERS.test(name)) fail(`${path}.${name}`, "absent: connection headers are set by the extension");
    if (typeof header !== "string" || /[\r\n\0]/.test(header) || header.length > limit) fail(`${path}.${name}`, `a string of at most ${limit} characters without line breaks`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

const ATTACHMENT_PARSERS: { [K in keyof MailAttachment]-?: FieldParser<MailAttachment[K]> } = {
  filename: expectString,
  content: (value, path) => (typeof value === "string" || types.isUint8Array(value) ? value : fail(path, "a string or bytes")),
  path: attachmentLocation,
  href: attachmentLocation,
  contentType: expectLine,
  contentDisposition: expectChoice(["attachment", "inline"] as const),
  cid: expectLine,
  encoding: expectEncoding,
  headers: parseHeaders,
  httpHeaders: parseHttpHeaders,
  raw: expectString,
  storagePath: (value, path) => {
    const text = expectString(value, path);
    if (text === "" || Buffer.byteLength(text, "utf8") > STORAGE_PATH_BYTES) fail(path, `a Cloud Storage object name of 1 to ${STORAGE_PATH_BYTES} bytes`);
    return text;
  },
};

/** Cloud Storage's own limit on an object name. */
const STORAGE_PATH_BYTES = 1024;

/** Copies the fields a table knows, validating each; reports and drops the rest. */
function pickFields(source: Record<string, unknown>, parsers: Record<string, FieldParser>, prefix: string, ignored: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value === null || value === undefined) continue;
    if (Object.hasOwn(parsers, key)) out[key] = parsers[key](value, `${prefix}.${key}`, ignored);
    else reportIgnored(ignored, prefix, key);
  }
  return out;
}

/** Also checks the attachments a template renders (templates.ts), by the same rules. */
export function parseAttachments(value: unknown, path: string, ignored: string[]): MailAttachment[] {
  if (!Array.isArray(value)) fail(path, "an array of maps");
  if (value.length > LIMITS.attachments) fail(path, `an array of at most ${LIMITS.attachments} attachments`);
  const attachments = value.map((item: unknown, index): MailAttachment => {
    const itemPath = `${path}[${index}]`;
    if (!isPlainMap(item)) fail(itemPath, "a map");
    const attachment = pickFields(item, ATTACHMENT_PARSERS, itemPath, ignored) as MailAttachment;
    const sources = (["content", "path", "href", "raw"] as const).filter((key) => attachment[key] !== undefined);
    if (attachment.storagePath !== undefined && sources.length > 0) {
      fail(itemPath, `a map with "storagePath" or ${sources.map((key) => `"${key}"`).join(" or ")}, not both`);
    }
    if (sources.length === 0 && attachment.storagePath === undefined) fail(itemPath, "a map with \"content\", \"path\", \"href\", \"storagePath\" or \"raw\"");
    return attachment;
  });
  // Each URL or Cloud Storage attachment is at least one read within the send's time budget.
  const urls = attachments.filter((attachment) => attachment.raw === undefined && /^https:/i.test(attachment.path ?? attachment.href ?? "")).length;
  const stored = attachments.filter((attachment) => attachment.raw === undefined && (attachment.storagePath !== undefined || /^gs:/i.test(attachment.path ?? attachment.href ?? ""))).length;
  if (urls + stored > DOWNLOAD_LIMITS.urlAttachments) {
    fail(path, `an array with at most ${DOWNLOAD_LIMITS.urlAttachments} attachments given as https URLs${stored > 0 ? " or Cloud Storage objects" : ""}`);
  }
  return attachments;
}

// ISO 8601 date, optionally with a time and zone; Date.parse then checks the calendar.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseDate(value: unknown, path: string): Date {
  let date: unknown;
  if (types.isDate(value)) date = new Date(value.getTime());
  else if (typeof value === "string" && ISO_DATE.test(value)) date = new Date(value);
  else if (typeof value === "object" && value !== null && typeof (value as { toDate?: unknown }).toDate === "function") {
    try {
      date = (value as { toDate: () => unknown }).toDate(); // A Firestore Timestamp, or something shaped like one.
    } catch {
      date = undefined;
    }
  }
  if (!types.isDate(date) || Number.isNaN(date.getTime())) fail(path, "a timestamp or an ISO 8601 date string");
  return date;
}

function parseReferences(value: unknown, path: string): string | string[] {
  if (typeof value === "string") return expectLine(value, path);
  const list = expectStringArray(value, path, "a string or an array of strings", LIMITS.references);
  list.forEach((item) => expectLine(item, path));
  return list;
}

const MESSAGE_PARSERS: { [K in keyof MailMessage]-?: FieldParser<MailMessage[K]> } = {
  subject: expectHeaderText,
  text: expectString,
  html: expectString,
  amp: expectString,
  messageId: expectLine,
  inReplyTo: expectLine,
  references: parseReferences,
  priority: expectChoice(["high", "normal", "low"] as const),
  headers: parseHeaders,
  date: parseDate,
  attachments: parseAttachments,
};

function parseTemplate(value: unknown, path: string, ignored: string[]): TemplateRequest {
  if (!isPlainMap(value)) fail("template", "a map");
  const name = value.name;
  if (typeof name !== "string" || name.length === 0) fail("template.name", "a non-empty string");
  // A template's name is its document id or its `name` field (which may hold "/").
  if (name.length > LIMITS.templateName) fail("template.name", `a template name of at most ${LIMITS.templateName} characters`);
  const data = value.data ?? {};
  if (!isPlainMap(data)) fail("template.data", "a map");
  for (const key of Object.keys(value)) if (key !== "name" && key !== "data") reportIgnored(ignored, "template", key);
  return { name, data };
}

/** to/cc/bcc: a string or an array of strings; empty entries mean "nobody". */
function parseAddresses(value: unknown, field: string): string[] {
  if (value === null || value === undefined) return [];
  const what = "a string or an array of strings";
  const list = typeof value === "string" ? [value] : expectStringArray(value, field, what);
  for (const entry of list) {
    if (entry.length > LIMITS.addressEntryLength) fail(field, `${what} of at most ${LIMITS.addressEntryLength} characters each`);
    if (hasLineBreak(entry)) fail(field, `${what} without line breaks`);
  }
  return list.filter((entry) => entry.trim() !== "");
}

function parseUids(value: unknown, field: string): string[] {
  if (value === null || value === undefined) return [];
  const list = expectStringArray(value, field, "an array of strings");
  if (list.some((uid) => uid.length === 0 || uid.length > LIMITS.uidLength || uid.includes("/"))) {
    fail(field, `an array of user ids (non-empty strings of at most ${LIMITS.uidLength} characters without "/")`);
  }
  return list;
}

/** Addresses and uids, counted as nodemailer will: one entry such as "a@x, b@y" is two. Stops once past `max`. */
export function countRecipients(mail: MailRequest, max = Infinity): number {
  let count = mail.toUids.length + mail.ccUids.length + mail.bccUids.length;
  for (const entry of [...mail.to, ...mail.cc, ...mail.bcc]) {
    if (count > max) break;
    count += Math.max(1, addressparser(entry, { flatten: true }).length);
  }
  return count;
}

const DSN_NOTIFY = ["success", "failure", "delay"] as const;
const NOTIFY_EXPECTED = 'an array of "success", "failure" and "delay", each at most once, or "never"';

/** NOTIFY=NEVER means no report at all, so RFC 3461 allows it only alone; servers refuse the RCPT otherwise. */
function parseNotify(value: unknown, path: string): NonNullable<MailDsn["notify"]> {
  if (value === "never" || (Array.isArray(value) && value.length === 1 && value[0] === "never")) return "never";
  if (!Array.isArray(value) || value.length === 0) fail(path, NOTIFY_EXPECTED);
  if (value.includes("never")) fail(path, `${NOTIFY_EXPECTED} ("never" cannot be combined with other values)`);
  if (!value.every((item) => (DSN_NOTIFY as readonly unknown[]).includes(item)) || new Set(value).size !== value.length) fail(path, NOTIFY_EXPECTED);
  return [...(value as Array<(typeof DSN_NOTIFY)[number]>)];
}

/** Printable ASCII only: xtext carries nothing else (RFC 3461 section 4), and a line break must never reach an SMTP command. */
function parseEnvid(value: unknown, path: string): string {
  if (typeof value !== "string" || !/^[\x20-\x7e]+$/.test(value) || value.length > LIMITS.envidLength) {
    fail(path, `a string of 1 to ${LIMITS.envidLength} printable ASCII characters (RFC 3461)`);
  }
  return value;
}

const DSN_PARSERS: { [K in keyof MailDsn]-?: FieldParser<MailDsn[K]> } = {
  notify: parseNotify,
  ret: expectChoice(["full", "headers"] as const),
  envid: parseEnvid,
};

/** `dsn`: an unknown key is refused rather than dropped, since a misspelt one would silently ask for nothing. */
function parseDsn(value: unknown, path: string): MailDsn {
  if (!isPlainMap(value)) fail(path, 'a map such as {notify: ["failure", "delay"], ret: "headers", envid: "order-42"}');
  const dsn: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === null || field === undefined) continue;
    if (!Object.hasOwn(DSN_PARSERS, key)) fail(`${path}.${key.slice(0, 100)}`, 'absent: "dsn" takes only "notify", "ret" and "envid"');
    dsn[key] = DSN_PARSERS[key as keyof MailDsn](field, `${path}.${key}`, []);
  }
  return dsn as MailDsn;
}

/** `recipientData`: a map of maps, one per recipient at most; each is template data, bounded as a whole by the document's size. */
function parseRecipientData(value: unknown, path: string): Record<string, Record<string, unknown>> {
  const expected = `a map of at most ${LIMITS.separateRecipients} recipients (addresses or uids) to maps of template data`;
  if (!isPlainMap(value)) fail(path, expected);
  const entries = Object.entries(value).filter(([, data]) => data !== null && data !== undefined);
  if (entries.length > LIMITS.separateRecipients) fail(path, expected);
  for (const [key, data] of entries) if (!isPlainMap(data)) fail(`${path}.${key.slice(0, 100)}`, "a map of template data");
  return Object.fromEntries(entries) as Record<string, Record<string, unknown>>; // Own properties: a key "__proto__" stays a key.
}

/**
 * `from` and `replyTo`: any one-line string, passed on as written, so that every form nodemailer accepts
 * (`"ACME <Support>" <help@acme.test>`, several reply-to addresses) keeps working. "" means absent.
 */
const optionalLine = (value: unknown, path: string): string | undefined => (value === "" ? undefined : expectLine(value, path));

type OptionalField = Exclude<keyof MailRequest, "to" | "cc" | "bcc" | "toUids" | "ccUids" | "bccUids" | "locale" | "timeZone">;

/** The optional top-level fields, checked in this order. */
const TOP_LEVEL_PARSERS: { [K in OptionalField]-?: FieldParser<MailRequest[K]> } = {
  from: optionalLine,
  replyTo: optionalLine,
  headers: parseHeaders,
  message: (value, path, ignored) => pickFields(isPlainMap(value) ? value : fail(path, "a map"), MESSAGE_PARSERS, path, ignored) as MailMessage,
  template: parseTemplate,
  sendGrid: (value, path) => (isPlainMap(value) ? value : fail(path, "a map")),
  categories: (value, path) => expectStringArray(value, path, "an array of strings", LIMITS.categories),
  unsubscribe: (value, path) => (typeof value === "boolean" ? value : fail(path, "true or false")),
  dsn: parseDsn,
  stream: (value, path) => (isStreamName(value) ? value : fail(path, `a stream name: 1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit, such as "transactional" or "newsletter"`)),
  separateMessages: (value, path) => (typeof value === "boolean" ? value : fail(path, "true or false")),
  recipientData: parseRecipientData,
};

/** Read for a template only: documents without one keep whatever their clients store under these names, as before. */
const TEMPLATE_FIELD_PARSERS: { [K in "locale" | "timeZone"]-?: FieldParser<MailRequest[K]> } = {
  locale: (value, path) => canonicalLocale(value) ?? fail(path, LOCALE_EXPECTED),
  timeZone: (value, path) => canonicalTimeZone(value) ?? fail(path, TIME_ZONE_EXPECTED),
};

/**
 * The mail document in the shape the pipeline relies on. Other top-level fields (`delivery`, clients' own)
 * are ignored without a report.
 * @throws ValidationError naming the first invalid field.
 */
export function validateMailDocument(data: Record<string, unknown>): ValidationResult {
  if (!isPlainMap(data)) throw new ValidationError("Invalid mail document. Expected a map.");
  const ignoredFields: string[] = [];
  const [to, cc, bcc] = (["to", "cc", "bcc"] as const).map((field) => parseAddresses(data[field], field));
  const [toUids, ccUids, bccUids] = (["toUids", "ccUids", "bccUids"] as const).map((field) => parseUids(data[field], field));
  const mail: MailRequest = { to, cc, bcc, toUids, ccUids, bccUids };
  if (countRecipients(mail, LIMITS.recipients) > LIMITS.recipients) {
    throw new ValidationError(`Invalid recipients. Expected at most ${LIMITS.recipients} addresses and user ids across to, cc, bcc, toUids, ccUids and bccUids.`);
  }
  for (const [field, parse] of Object.entries(TOP_LEVEL_PARSERS) as Array<[OptionalField, FieldParser]>) {
    const value = data[field] === null || data[field] === undefined ? undefined : parse(data[field], field, ignoredFields);
    if (value !== undefined) (mail as unknown as Record<string, unknown>)[field] = value;
  }
  for (const [field, parse] of mail.template ? Object.entries(TEMPLATE_FIELD_PARSERS) : []) {
    const value = data[field] === null || data[field] === undefined ? undefined : parse(data[field], field, ignoredFields);
    if (value !== undefined) (mail as unknown as Record<string, unknown>)[field] = value;
  }
  // Skipping such a document silently would leave its author guessing.
  if (!mail.message && !mail.template && !mail.sendGrid) {
    throw new ValidationError('Invalid mail document. Expected at least one of "message", "template" or "sendGrid".');
  }
  checkSeparateMessages(mail);
  return { mail, ignoredFields };
}

/** `separateMessages` and `recipientData` against the rest of the document: each recipient's message names that recipient alone. */
function checkSeparateMessages(mail: MailRequest): void {
  if (mail.recipientData !== undefined && mail.separateMessages !== true) fail("recipientData", 'absent unless "separateMessages" is true');
  if (mail.recipientData !== undefined && mail.template === undefined) fail("recipientData", 'absent without "template": its data only reaches a template');
  if (mail.separateMessages !== true) return;
  for (const field of ["cc", "bcc", "ccUids", "bccUids"] as const) {
    if (mail[field].length > 0) fail(field, 'absent with "separateMessages": each recipient of "to" and "toUids" gets a message of its own, which names nobody else');
  }
  const count = countRecipients(mail, LIMITS.separateRecipients);
  if (count > LIMITS.separateRecipients) {
    fail("separateMessages", `at most ${LIMITS.separateRecipients} recipients across "to" and "toUids" (got more): split the recipients over several mail documents`);
  }
}
