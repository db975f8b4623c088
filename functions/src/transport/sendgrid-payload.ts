/**
 * Maps a prepared message (nodemailer's SendMailOptions) plus the mail
 * document's `categories` and `sendGrid` block to the JSON body of SendGrid's
 * v3 mail-send API, checking the SendGrid-only fields on the way. Pure: the
 * attachments arrive already read (sendgrid-attachments.ts).
 */
import { randomUUID } from "node:crypto";
import { types } from "node:util";
import type { SendMailOptions } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import { DeliveryError, ValidationError } from "../errors";
import type { MailRequest } from "../types";

/** The parts of a mail document that only SendGrid reads. */
export type SendGridExtras = Pick<MailRequest, "sendGrid" | "categories">;

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

export interface SendGridMail {
  personalizations: Array<{
    to: SendGridAddress[];
    cc?: SendGridAddress[];
    bcc?: SendGridAddress[];
    dynamic_template_data?: Record<string, unknown>;
  }>;
  from: SendGridAddress;
  reply_to?: SendGridAddress;
  reply_to_list?: SendGridAddress[];
  subject?: string;
  content?: Array<{ type: string; value: string }>;
  attachments?: SendGridAttachment[];
  template_id?: string;
  headers?: Record<string, string>;
  categories?: string[];
  custom_args?: Record<string, string>;
  mail_settings?: Record<string, unknown>;
  ip_pool_name?: string;
}

export interface SendGridRequest {
  body: SendGridMail;
  /** The Message-ID header sent, recorded as `delivery.info.messageId`. */
  messageId: string;
  /** Every address the request names, recorded as `delivery.info.accepted` once SendGrid takes it. */
  recipients: string[];
}

/** SendGrid's own limits, checked here so the document gets a readable error instead of a 400. */
const MAX_CATEGORIES = 10;
const MAX_CATEGORY_LENGTH = 255;
const IP_POOL_NAME = /^.{2,64}$/s;

const SENDGRID_FIELDS = ["templateId", "dynamicTemplateData", "mailSettings", "customArgs", "ipPoolName"] as const;

/** nodemailer's `priority` option as the headers it would write. */
const PRIORITY_HEADERS: Record<string, Record<string, string>> = {
  high: { "X-Priority": "1 (Highest)", "X-MSMail-Priority": "High", Importance: "High" },
  low: { "X-Priority": "5 (Lowest)", "X-MSMail-Priority": "Low", Importance: "Low" },
};

function invalid(field: string, expected: string): never {
  throw new ValidationError(`Invalid field "${field}". Expected ${expected}.`);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !types.isUint8Array(value);
}

/** Builds the v3 request body; throws ValidationError for a bad sendGrid block or categories. */
export function buildSendGridMail(
  message: SendMailOptions,
  extras: SendGridExtras,
  attachments: SendGridAttachment[],
): SendGridRequest {
  const seen = new Set<string>();
  // SendGrid refuses an address listed twice in one personalization; SMTP would deliver it once anyway.
  const unique = (list: SendGridAddress[]) =>
    list.filter((entry) => !seen.has(entry.email.toLowerCase()) && seen.add(entry.email.toLowerCase()));
  const to = unique(addresses(message.to));
  const cc = unique(addresses(message.cc));
  const bcc = unique(addresses(message.bcc));

  const from = addresses(message.from)[0] ?? { email: "" };
  const messageId = message.messageId || `<${randomUUID()}@${from.email.split("@").pop() || "localhost"}>`;
  const sendGrid = readSendGridBlock(extras.sendGrid);

  const body: SendGridMail = { personalizations: [{ to }], from };
  if (cc.length > 0) body.personalizations[0].cc = cc;
  if (bcc.length > 0) body.personalizations[0].bcc = bcc;
  if (sendGrid.dynamicTemplateData) body.personalizations[0].dynamic_template_data = sendGrid.dynamicTemplateData;

  const replyTo = addresses(message.replyTo);
  if (replyTo.length === 1) body.reply_to = replyTo[0];
  if (replyTo.length > 1) body.reply_to_list = replyTo;
  if (typeof message.subject === "string" && message.subject !== "") body.subject = message.subject;

  // SendGrid wants text/plain first and text/html last.
  const content = [
    ["text/plain", message.text],
    ["text/x-amp-html", message.amp],
    ["text/html", message.html],
  ].flatMap(([type, value]) => (typeof value === "string" && value !== "" ? [{ type: type as string, value }] : []));
  if (content.length > 0) body.content = content;
  if (attachments.length > 0) body.attachments = attachments;

  body.headers = { ...headers(message), "Message-ID": messageId };
  const categories = readCategories(extras.categories);
  if (categories) body.categories = categories;
  if (sendGrid.templateId) body.template_id = sendGrid.templateId;
  if (sendGrid.customArgs) body.custom_args = sendGrid.customArgs;
  if (sendGrid.mailSettings) body.mail_settings = sendGrid.mailSettings;
  if (sendGrid.ipPoolName) body.ip_pool_name = sendGrid.ipPoolName;

  return { body, messageId, recipients: [...to, ...cc, ...bcc].map((entry) => entry.email) };
}

interface SendGridBlock {
  templateId?: string;
  dynamicTemplateData?: Record<string, unknown>;
  mailSettings?: Record<string, unknown>;
  customArgs?: Record<string, string>;
  ipPoolName?: string;
}

/** Checks the document's `sendGrid` map; null fields count as absent, as everywhere in a mail document. */
export function readSendGridBlock(block: Record<string, unknown> | undefined): SendGridBlock {
  if (!block) return {};
  for (const key of Object.keys(block)) {
    if (block[key] !== null && block[key] !== undefined && !(SENDGRID_FIELDS as readonly string[]).includes(key)) {
      invalid(`sendGrid.${key.slice(0, 100)}`, `one of the supported fields ${SENDGRID_FIELDS.join(", ")}`);
    }
  }
  const result: SendGridBlock = {};
  const { templateId, dynamicTemplateData, mailSettings, customArgs, ipPoolName } = block;
  if (templateId !== null && templateId !== undefined) {
    if (typeof templateId !== "string" || templateId.trim() === "") invalid("sendGrid.templateId", "a non-empty string");
    result.templateId = templateId;
  }
  if (dynamicTemplateData !== null && dynamicTemplateData !== undefined) {
    if (!isMap(dynamicTemplateData)) invalid("sendGrid.dynamicTemplateData", "a map");
    if (!result.templateId) {
      invalid("sendGrid.dynamicTemplateData", 'to come with "sendGrid.templateId": dynamic template data fills a template');
    }
    result.dynamicTemplateData = jsonMap(dynamicTemplateData);
  }
  if (mailSettings !== null && mailSettings !== undefined) {
    if (!isMap(mailSettings)) invalid("sendGrid.mailSettings", 'a map such as {sandboxMode: {enable: true}}');
    result.mailSettings = snakeCaseKeys(mailSettings) as Record<string, unknown>;
  }
  if (customArgs !== null && customArgs !== undefined) {
    if (!isMap(customArgs) || !Object.values(customArgs).every((value) => typeof value === "string")) {
      invalid("sendGrid.customArgs", "a map of strings");
    }
    result.customArgs = { ...(customArgs as Record<string, string>) };
  }
  if (ipPoolName !== null && ipPoolName !== undefined) {
    if (typeof ipPoolName !== "string" || !IP_POOL_NAME.test(ipPoolName)) {
      invalid("sendGrid.ipPoolName", "a string of 2 to 64 characters");
    }
    result.ipPoolName = ipPoolName;
  }
  return result;
}

/**
 * Checks the SendGrid-only fields of a mail document before it is claimed,
 * so that a bad block ends in ERROR in one write, without a lease.
 */
export function checkSendGridFields(extras: SendGridExtras): void {
  readSendGridBlock(extras.sendGrid);
  readCategories(extras.categories);
}

function readCategories(categories: string[] | undefined): string[] | undefined {
  if (!categories || categories.length === 0) return undefined;
  if (categories.length > MAX_CATEGORIES) invalid("categories", `at most ${MAX_CATEGORIES} categories (SendGrid's limit)`);
  if (categories.some((category) => category.trim() === "" || category.length > MAX_CATEGORY_LENGTH)) {
    invalid("categories", `non-empty strings of at most ${MAX_CATEGORY_LENGTH} characters`);
  }
  return [...categories];
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
    if (isMap(entry) && typeof entry.address === "string") return [withName(entry.address, entry.name)];
    return [];
  });
}

function withName(email: string, name: unknown): SendGridAddress {
  return typeof name === "string" && name !== "" ? { email, name } : { email };
}

/** Custom headers plus the threading and priority headers nodemailer would have written. */
function headers(message: SendMailOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const custom = isMap(message.headers) ? message.headers : {};
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

/** @sendgrid/mail accepted camelCase mail settings (`sandboxMode`); the API wants snake_case. */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (!isMap(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(inner)]),
  );
}

/** Firestore values that JSON has no form for: timestamps become ISO strings, bytes base64. */
function jsonMap(map: Record<string, unknown>): Record<string, unknown> {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (types.isDate(value)) return value.toISOString();
    if (types.isUint8Array(value)) return Buffer.from(value).toString("base64");
    if (typeof value === "object" && value !== null && typeof (value as { toDate?: unknown }).toDate === "function") {
      return (value as { toDate: () => Date }).toDate().toISOString();
    }
    if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, convert(inner)]));
    return value;
  };
  return convert(map) as Record<string, unknown>;
}
