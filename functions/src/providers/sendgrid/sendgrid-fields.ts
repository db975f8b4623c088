/**
 * The document's SendGrid fields checked against SendGrid's rules, once for
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
const MAX_GROUPS_TO_DISPLAY = 25;

/** Bounds of the extension's own on tracking-setting strings, which SendGrid does not document: a footer, a tag, a UTM value. */
const MAX_TRACKING_TEXT_LENGTH = 10_000;
const MAX_TRACKING_VALUE_LENGTH = 1000;

export interface SendGridBlock {
  templateId?: string;
  dynamicTemplateData?: Record<string, unknown>;
  mailSettings?: Record<string, unknown>;
  customArgs?: Record<string, string>;
  ipPoolName?: string;
  /** The unsubscribe group, in the API's names. */
  asm?: { group_id: number; groups_to_display?: number[] };
  /** In the API's names (`click_tracking`…). */
  trackingSettings?: Record<string, Record<string, unknown>>;
}

/**
 * Further checks: `document` for the fields as written (the send path adds
 * its tracking arguments after that check); `allowBypass` once
 * ALLOW_SENDGRID_BYPASS is known (at send time).
 */
export interface SendGridPolicy {
  document?: boolean;
  allowBypass?: boolean;
}

/**
 * SendGrid repeats custom arguments as top-level fields of every delivery
 * report: one named like its own fields would change what the report says,
 * and `fse_…` would name another mail document (tracking-value.ts).
 */
const REPORT_FIELDS = new Set([
  "email", "event", "timestamp", "sg_event_id", "sg_message_id", "smtp-id", "category", "reason", "status", "type",
  "response", "attempt", "useragent", "ip", "url", "url_offset", "asm_group_id", "tls", "cert_err", "pool",
  "marketing_campaign_id", "marketing_campaign_name", "sg_template_id", "sg_template_name", "sg_machine_open",
  "bounce_classification", "send_at",
]);

/** Mail settings that send past SendGrid's suppression lists (bounces, spam reports, unsubscribes). */
const BYPASS_SETTING = /^bypass_[a-z_]*management$/;

/** The SendGrid fields of a document, checked and in the API's shapes. @throws ValidationError naming the field and what SendGrid expects. */
export function readSendGridFields(mail: MailFields, policy: SendGridPolicy = {}): { sendGrid: SendGridBlock; categories?: string[] } {
  const sendGrid = readSendGridBlock(mail.sendGrid);
  if (policy.document && sendGrid.customArgs) {
    for (const key of Object.keys(sendGrid.customArgs)) {
      const lower = key.toLowerCase();
      if (REPORT_FIELDS.has(lower) || lower.startsWith("fse_")) {
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

/** Each field's check and conversion, in the order they are checked (dynamicTemplateData needs templateId). */
const BLOCK_FIELDS: { [K in keyof SendGridBlock]-?: (value: unknown, read: SendGridBlock) => NonNullable<SendGridBlock[K]> } = {
  templateId: (value) => (typeof value === "string" && value.trim() !== "" ? value : invalid("sendGrid.templateId", "a non-empty string")),
  dynamicTemplateData: (value, read) => {
    if (!isPlainMap(value)) invalid("sendGrid.dynamicTemplateData", "a map");
    if (!read.templateId) invalid("sendGrid.dynamicTemplateData", 'to come with "sendGrid.templateId": dynamic template data fills a template');
    return jsonMap(value) as Record<string, unknown>;
  },
  mailSettings: (value) =>
    isPlainMap(value) ? (snakeCaseKeys(value) as Record<string, unknown>) : invalid("sendGrid.mailSettings", "a map such as {sandboxMode: {enable: true}}"),
  customArgs: (value) =>
    isPlainMap(value) && Object.values(value).every((arg) => typeof arg === "string")
      ? { ...(value as Record<string, string>) }
      : invalid("sendGrid.customArgs", "a map of strings"),
  ipPoolName: (value) => (typeof value === "string" && IP_POOL_NAME.test(value) ? value : invalid("sendGrid.ipPoolName", "a string of 2 to 64 characters")),
  asm: (value) => {
    const asm = readSettings(value, "sendGrid.asm", ASM, "a map such as {groupId: 123, groupsToDisplay: [123, 456]}");
    if (asm.group_id === undefined) invalid("sendGrid.asm.groupId", "a positive integer: the unsubscribe group this mail belongs to");
    return asm as NonNullable<SendGridBlock["asm"]>;
  },
  trackingSettings: (value) =>
    readSettings(value, "sendGrid.trackingSettings", TRACKING_SETTINGS, "a map such as {clickTracking: {enable: false}}") as NonNullable<SendGridBlock["trackingSettings"]>,
};
const SENDGRID_FIELDS = Object.keys(BLOCK_FIELDS) as Array<keyof SendGridBlock>;

/** Checks the document's `sendGrid` map; null fields count as absent, as everywhere in a mail document. */
export function readSendGridBlock(block: Record<string, unknown> | undefined): SendGridBlock {
  if (!block) return {};
  for (const key of Object.keys(block)) {
    if (block[key] !== null && block[key] !== undefined && !(SENDGRID_FIELDS as string[]).includes(key)) {
      invalid(`sendGrid.${key.slice(0, 100)}`, `one of the supported fields ${SENDGRID_FIELDS.join(", ")}`);
    }
  }
  const result: Record<string, unknown> = {};
  for (const name of SENDGRID_FIELDS) {
    const value = block[name];
    if (value !== null && value !== undefined) result[name] = BLOCK_FIELDS[name](value, result);
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

/** A value's check, given the field's path as the document spells it. */
type Check = (value: unknown, path: string) => unknown;
/** The keys SendGrid knows, in its snake_case, each with its check or the shape of the map below it. */
type Settings = { [key: string]: Check | Settings };

const flag: Check = (value, path) => (typeof value === "boolean" ? value : invalid(path, "true or false"));
const text = (max: number): Check => (value, path) =>
  typeof value === "string" && value.length <= max ? value : invalid(path, `a string of at most ${max} characters`);
const groupId: Check = (value, path) => (Number.isSafeInteger(value) && (value as number) > 0 ? value : invalid(path, "a positive integer (an unsubscribe group id)"));
const groupIds: Check = (value, path) =>
  Array.isArray(value) && value.length > 0 && value.length <= MAX_GROUPS_TO_DISPLAY && value.every((id) => Number.isSafeInteger(id) && id > 0)
    ? [...value]
    : invalid(path, `an array of 1 to ${MAX_GROUPS_TO_DISPLAY} unsubscribe group ids (positive integers, SendGrid's limit)`);

const ASM: Settings = { group_id: groupId, groups_to_display: groupIds };

/**
 * A closed list, so that nothing but tracking can be set through it (the
 * bypass mail settings above stay behind ALLOW_SENDGRID_BYPASS).
 */
const TRACKING_SETTINGS: Settings = {
  click_tracking: { enable: flag, enable_text: flag },
  open_tracking: { enable: flag, substitution_tag: text(MAX_TRACKING_VALUE_LENGTH) },
  subscription_tracking: {
    enable: flag,
    text: text(MAX_TRACKING_TEXT_LENGTH),
    html: text(MAX_TRACKING_TEXT_LENGTH),
    substitution_tag: text(MAX_TRACKING_VALUE_LENGTH),
  },
  ganalytics: Object.fromEntries(
    [["enable", flag], ...["source", "medium", "term", "content", "campaign"].map((part) => [`utm_${part}`, text(MAX_TRACKING_VALUE_LENGTH)])],
  ),
};

/**
 * A map checked against `settings`, keys in camelCase or the API's snake_case
 * (as mailSettings), returned in snake_case. Only known keys, each spelt once.
 */
function readSettings(value: unknown, path: string, settings: Settings, expected: string): Record<string, unknown> {
  if (!isPlainMap(value)) invalid(path, expected);
  const read: Record<string, unknown> = {};
  const spelt = new Map<string, string>();
  for (const [key, inner] of Object.entries(value)) {
    if (inner === null || inner === undefined) continue;
    const field = `${path}.${key.slice(0, 100)}`;
    const name = snakeCase(key);
    if (!Object.hasOwn(settings, name)) invalid(field, `one of the supported fields ${Object.keys(settings).map(camelCase).join(", ")}`);
    if (spelt.has(name)) invalid(field, `absent: "${path}.${spelt.get(name)}" sets the same thing`);
    spelt.set(name, key);
    const rule = settings[name];
    read[name] = typeof rule === "function" ? rule(inner, field) : readSettings(inner, field, rule, "a map such as {enable: true}");
  }
  return read;
}

const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camelCase = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** @sendgrid/mail accepted camelCase mail settings (`sandboxMode`); the API wants snake_case. */
function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (!isPlainMap(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [snakeCase(key), snakeCaseKeys(inner)]));
}

/** Firestore values that JSON has no form for: timestamps become ISO strings, bytes base64. */
function jsonMap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(jsonMap);
  if (types.isDate(value)) return value.toISOString();
  if (types.isUint8Array(value)) return Buffer.from(value).toString("base64");
  if (typeof (value as { toDate?: unknown } | null)?.toDate === "function") return (value as { toDate: () => Date }).toDate().toISOString();
  if (isPlainMap(value)) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonMap(inner)]));
  return value;
}
