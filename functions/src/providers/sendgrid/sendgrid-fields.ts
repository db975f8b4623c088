/**
 * The mail document's SendGrid fields: the `sendGrid` block (dynamic
 * templates, mail settings, custom args, IP pool) and SendGrid's limits on
 * `categories`. validation.ts has already checked their shape (a map, an
 * array of strings); this checks what SendGrid itself requires, once, for
 * both the check before the claim and the request body, so that a document
 * gets a readable error instead of the API's 400.
 */
import { types } from "node:util";
import { ValidationError } from "../../shared/errors";
import { isPlainMap } from "../../shared/plain-map";
import type { MailFields } from "../provider";

/** SendGrid's own limits. */
const MAX_CATEGORIES = 10;
const MAX_CATEGORY_LENGTH = 255;
const IP_POOL_NAME = /^.{2,64}$/s;

const SENDGRID_FIELDS = ["templateId", "dynamicTemplateData", "mailSettings", "customArgs", "ipPoolName"] as const;

/** The SendGrid fields of a document, checked and in the API's shapes. */
export interface SendGridFields {
  sendGrid: SendGridBlock;
  categories?: string[];
}

/**
 * What else is checked beside SendGrid's own rules: `document` when the
 * fields are the document's as written (the send path adds its tracking
 * arguments after that check); `allowBypass` when the operator's choice on
 * ALLOW_SENDGRID_BYPASS is known (at send time).
 */
export interface SendGridPolicy {
  document?: boolean;
  allowBypass?: boolean;
}

/**
 * Custom arguments SendGrid repeats as top-level fields of every event, beside
 * the fields of its own: one named like those would change what the event
 * says (its address, type, id or time), or name another mail document
 * (`fse_…`, the extension's tracking value).
 */
const EVENT_FIELDS = new Set([
  "email", "event", "timestamp", "sg_event_id", "sg_message_id", "smtp-id", "category", "reason", "status", "type",
  "response", "attempt", "useragent", "ip", "url", "url_offset", "asm_group_id", "tls", "cert_err", "pool",
  "marketing_campaign_id", "marketing_campaign_name", "sg_template_id", "sg_template_name", "sg_machine_open",
  "bounce_classification", "send_at",
]);

/** Mail settings that send past SendGrid's suppression lists (bounces, spam reports, unsubscribes). */
const BYPASS_SETTING = /^bypass_[a-z_]*management$/;

/** @throws ValidationError naming the field and what SendGrid expects. */
export function readSendGridFields(mail: MailFields, policy: SendGridPolicy = {}): SendGridFields {
  const sendGrid = readSendGridBlock(mail.sendGrid);
  if (policy.document && sendGrid.customArgs) {
    for (const key of Object.keys(sendGrid.customArgs)) {
      const lower = key.toLowerCase();
      if (EVENT_FIELDS.has(lower) || lower.startsWith("fse_")) {
        invalid(`sendGrid.customArgs.${key.slice(0, 100)}`, "a custom argument not named like a field of SendGrid's events (email, event, timestamp, sg_event_id, sg_message_id, category…) nor starting with fse_, which the extension uses for tracking");
      }
    }
  }
  if (policy.allowBypass === false && sendGrid.mailSettings) {
    for (const [name, setting] of Object.entries(sendGrid.mailSettings)) {
      if (BYPASS_SETTING.test(name) && isPlainMap(setting) && setting.enable === true) {
        invalid(`sendGrid.mailSettings.${name}`, "absent or {enable: false}: it sends past SendGrid's bounce, spam-report and unsubscribe lists; an operator can allow it with ALLOW_SENDGRID_BYPASS");
      }
    }
  }
  const categories = readCategories(mail.categories);
  return categories ? { sendGrid, categories } : { sendGrid };
}

function invalid(field: string, expected: string): never {
  throw new ValidationError(`Invalid field "${field}". Expected ${expected}.`);
}

export interface SendGridBlock {
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
    if (!isPlainMap(dynamicTemplateData)) invalid("sendGrid.dynamicTemplateData", "a map");
    if (!result.templateId) {
      invalid("sendGrid.dynamicTemplateData", 'to come with "sendGrid.templateId": dynamic template data fills a template');
    }
    result.dynamicTemplateData = jsonMap(dynamicTemplateData);
  }
  if (mailSettings !== null && mailSettings !== undefined) {
    if (!isPlainMap(mailSettings)) invalid("sendGrid.mailSettings", 'a map such as {sandboxMode: {enable: true}}');
    result.mailSettings = snakeCaseKeys(mailSettings) as Record<string, unknown>;
  }
  if (customArgs !== null && customArgs !== undefined) {
    if (!isPlainMap(customArgs) || !Object.values(customArgs).every((value) => typeof value === "string")) {
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

function readCategories(categories: string[] | undefined): string[] | undefined {
  if (!categories || categories.length === 0) return undefined;
  if (categories.length > MAX_CATEGORIES) invalid("categories", `at most ${MAX_CATEGORIES} categories (SendGrid's limit)`);
  if (categories.some((category) => category.trim() === "" || category.length > MAX_CATEGORY_LENGTH)) {
    invalid("categories", `non-empty strings of at most ${MAX_CATEGORY_LENGTH} characters`);
  }
  return [...categories];
}

/** @sendgrid/mail accepted camelCase mail settings (`sandboxMode`); the API wants snake_case. */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (!isPlainMap(value)) return value;
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
    if (isPlainMap(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, convert(inner)]));
    return value;
  };
  return convert(map) as Record<string, unknown>;
}
