/**
 * The extension's params, read once into a typed, frozen object. Every problem is reported together in one
 * ConfigError, each naming the param, what was expected and what was received, so that one reconfiguration
 * fixes them all. Secret values are never echoed.
 */
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { ConfigError } from "../shared/errors";
import * as logs from "../shared/logs";
import { collectionPath, problem, read, readBoolean, readChoice, readSecret, received, receivedName, wholeNumber, type Env } from "./env-values";
import { deliveryStatusSecrets, parseDeliveryStatusParams, type UnsubscribeLinks, type WebhookConfig } from "./webhook-params";
import { SENDER_PATTERN } from "./sender-pattern";
import { parseSenderProfiles, type SenderProfiles } from "./tenant-params";
import { readUserTemplateFields } from "./user-template-fields";
import { parseStorageAttachments, type StorageAttachments } from "./storage-attachments";
import { parseArchiveParams, type ArchiveSettings } from "./archive-params";
import { decodePassword, passwordInUri, smtpOptionsFromUri } from "./smtp-uri";

const AUTH_TYPES = ["UsernamePassword", "OAuth2"] as const;
const TTL_UNITS = ["never", "hour", "day", "week", "month", "year"] as const;
export type AuthType = (typeof AUTH_TYPES)[number];
export type TtlUnit = (typeof TTL_UNITS)[number];

export interface Config {
  /** DATABASE: the Firestore database id. Default `(default)`. */
  readonly database: string;
  /** AUTH_TYPE: how to log in to the SMTP server. Default `UsernamePassword`. */
  readonly authType: AuthType;
  /**
   * nodemailer SMTP options. UsernamePassword: from SMTP_CONNECTION_URI, SMTP_PASSWORD replacing its password.
   * OAuth2: HOST, OAUTH_PORT (default 465), OAUTH_SECURE (default true) and USER, CLIENT_ID, CLIENT_SECRET,
   * REFRESH_TOKEN as `auth`. TLS_OPTIONS is merged into `tls` either way.
   */
  readonly smtp: SMTPTransport.Options;
  /** SMTP_PASSWORD as configured (not trimmed or decoded), for providers that take it as an API key; UsernamePassword only. A secret. */
  readonly smtpPassword?: string;
  /** The SMTP server's host name, safe to log. */
  readonly smtpHost?: string;
  /** SMTP_CONNECTION_URI query options not passed on (unknown to nodemailer, or unsafe); the runtime logs them once. */
  readonly ignoredUriOptions: readonly string[];
  /** MAIL_COLLECTION: the collection path whose documents are sent. Default `mail`; any odd number of segments. */
  readonly mailCollection: string;
  /** DEFAULT_FROM: sender for documents without `from`, in a form SENDER_PATTERN accepts. Required. */
  readonly defaultFrom: string;
  /** DEFAULT_REPLY_TO: reply-to for documents without `replyTo`; unvalidated, as it may list several addresses. */
  readonly defaultReplyTo?: string;
  /** USERS_COLLECTION: collection path of user documents keyed by uid, for `toUids`, `ccUids`, `bccUids`. */
  readonly usersCollection?: string;
  /** TEMPLATES_COLLECTION: collection path of templates, each named by its `name` field or else its id. */
  readonly templatesCollection?: string;
  /**
   * USER_TEMPLATE_FIELDS: top-level fields of the user document of a mail's single `toUids` entry given to its
   * template as `@recipient` (at most 20). Default none. `locale` and `timeZone`, when listed, also apply to the mail.
   */
  readonly userTemplateFields: readonly string[];
  /** TTL_EXPIRE_TYPE: unit of `delivery.expireAt`. Default `never`: no expireAt is written. */
  readonly ttlExpireType: TtlUnit;
  /** TTL_EXPIRE_VALUE: how many units until expiry; a whole number from 1. Default 1. */
  readonly ttlExpireValue: number;
  /** MAX_ATTEMPTS: delivery attempts before a transient failure is final. Default 1 (no automatic retry); 1 to 10. */
  readonly maxAttempts: number;
  /** RETRY_BACKOFF_SECONDS: delay before the first automatic retry, doubling (with jitter) up to an hour. Default 60; 1 to 3600. */
  readonly retryBackoffSeconds: number;
  /** TLS_OPTIONS: a JSON object of Node.js TLS options, already merged into `smtp.tls`. */
  readonly tlsOptions?: Readonly<Record<string, unknown>>;
  /**
   * ALLOW_SENDGRID_BYPASS: whether a document may turn on SendGrid's `bypass_*_management` settings, which send
   * past SendGrid's bounce, spam-report and unsubscribe lists. Default false: such a document ends in ERROR.
   */
  readonly allowSendGridBypass: boolean;
  /** Delivery status after the send: webhook keys, SUPPRESSION_COLLECTION and what to record. */
  readonly webhooks: WebhookConfig;
  /** One-click unsubscribe links; set when UNSUBSCRIBE_SIGNING_KEY is. */
  readonly unsubscribe?: UnsubscribeLinks;
  /** SENDER_PROFILES_COLLECTION: each tenant sends through its own profile (docs/tenants.md). Unset: the params above for every mail. */
  readonly senderProfiles?: SenderProfiles;
  /** The sender profile this config was built from; unset for the instance's own params. */
  readonly profile?: string;
  /** STORAGE_ATTACHMENTS_PATH: where attachments given as Cloud Storage objects are read. Unset: such attachments end in ERROR. */
  readonly storageAttachments?: StorageAttachments;
  /** ARCHIVE_SENT_MAIL (default false) and ARCHIVE_STORAGE_PATH: a copy of every accepted message. Unset: nothing is archived. */
  readonly archive?: ArchiveSettings;
}

/** What the webhooks endpoint needs: its own params only, so that a broken SMTP setting does not stop it. */
export type EndpointConfig = Pick<Config, "database" | "mailCollection" | "webhooks" | "senderProfiles">;

const DATABASE_ID = /^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/;
const HOST_NAME = /^[^\s:/@?#<>]+$/;

export function parseConfig(env: Env): Config {
  registerSecretsOf(env);
  const problems: string[] = [];
  const authType = readChoice(env, "AUTH_TYPE", AUTH_TYPES, "UsernamePassword", problems);
  const tlsOptions = readTlsOptions(env, problems);
  const ignoredUriOptions: string[] = [];
  const smtp = authType === "OAuth2" ? oauth2Options(env, problems) : authType && uriOptions(env, problems, ignoredUriOptions);
  if (smtp && tlsOptions) smtp.tls = { ...smtp.tls, ...tlsOptions };

  const database = read(env, "DATABASE") ?? "(default)";
  if (!DATABASE_ID.test(database)) {
    problems.push(`DATABASE must be "(default)" or a database id (lower-case letters, digits and hyphens, starting with a letter), got ${receivedName(database)}`);
  }
  const mailCollection = collectionPath(env, "MAIL_COLLECTION", problems) ?? "mail";
  const usersCollection = collectionPath(env, "USERS_COLLECTION", problems);
  const templatesCollection = collectionPath(env, "TEMPLATES_COLLECTION", problems);
  const userTemplateFields = readUserTemplateFields(env, problems);
  const defaultFrom = readDefaultFrom(env, problems);
  const ttlExpireType = readChoice(env, "TTL_EXPIRE_TYPE", TTL_UNITS, "never", problems);
  const ttlExpireValue = readTtlValue(env, ttlExpireType, problems);
  const maxAttempts = boundedInteger(env, "MAX_ATTEMPTS", 1, 1, 10, problems);
  const retryBackoffSeconds = boundedInteger(env, "RETRY_BACKOFF_SECONDS", 60, 1, 3600, problems);
  const { webhooks, unsubscribe } = parseDeliveryStatusParams(env, mailCollection, problems);
  const allowSendGridBypass = readBoolean(env, "ALLOW_SENDGRID_BYPASS", false, problems);
  const senderProfiles = parseSenderProfiles(env, mailCollection, problems);
  const storageAttachments = parseStorageAttachments(env, mailCollection, problems);
  const archive = parseArchiveParams(env, mailCollection, problems);

  if (problems.length > 0 || !smtp || !authType || !ttlExpireType) {
    // Every delivery.error repeats this text; a secret that slipped into a problem anyway goes no further.
    throw new ConfigError(logs.redact(problems.join("; ")));
  }
  Object.freeze(smtp.auth);
  Object.freeze(smtp.tls);
  return Object.freeze({
    database, authType, smtp: Object.freeze(smtp),
    smtpPassword: authType === "UsernamePassword" ? readSecret(env, "SMTP_PASSWORD") : undefined,
    smtpHost: smtp.host,
    ignoredUriOptions: Object.freeze(ignoredUriOptions),
    mailCollection, defaultFrom, defaultReplyTo: read(env, "DEFAULT_REPLY_TO"), usersCollection, templatesCollection, userTemplateFields,
    ttlExpireType, ttlExpireValue, maxAttempts, retryBackoffSeconds,
    tlsOptions: tlsOptions && Object.freeze(tlsOptions),
    allowSendGridBypass, webhooks, unsubscribe, senderProfiles, storageAttachments, archive,
  });
}

export function parseEndpointConfig(env: Env): EndpointConfig {
  logs.registerSecrets(deliveryStatusSecrets(env));
  const problems: string[] = [];
  const mailCollection = collectionPath(env, "MAIL_COLLECTION", problems) ?? "mail";
  const { webhooks } = parseDeliveryStatusParams(env, mailCollection, problems);
  const senderProfiles = parseSenderProfiles(env, mailCollection, problems);
  if (problems.length > 0) throw new ConfigError(logs.redact(problems.join("; ")));
  return Object.freeze({ database: read(env, "DATABASE") ?? "(default)", mailCollection, webhooks, senderProfiles });
}

/** Registers every secret before validating anything, so that even a failed parse cannot let one reach a log line. */
function registerSecretsOf(env: Env): void {
  const uri = read(env, "SMTP_CONNECTION_URI");
  const passwords = [readSecret(env, "SMTP_PASSWORD"), uri === undefined ? undefined : passwordInUri(uri)];
  logs.registerSecrets([
    ...passwords.flatMap((password) => (password ? [password, decodePassword(password)] : [])),
    ...["CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"].map((name) => read(env, name)),
    ...deliveryStatusSecrets(env),
  ]);
}

function uriOptions(env: Env, problems: string[], ignored: string[]): SMTPTransport.Options | undefined {
  const uri = read(env, "SMTP_CONNECTION_URI");
  if (uri === undefined) return problem(problems, "SMTP_CONNECTION_URI is required when AUTH_TYPE is UsernamePassword: expected smtp(s)://[user@]host:port, got nothing");
  try {
    return smtpOptionsFromUri(uri, readSecret(env, "SMTP_PASSWORD"), ignored);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return problem(problems, error.message);
  }
}

const OAUTH2_REQUIRED = ["HOST", "USER", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"] as const;

function oauth2Options(env: Env, problems: string[]): SMTPTransport.Options | undefined {
  const before = problems.length;
  const missing = OAUTH2_REQUIRED.filter((name) => read(env, name) === undefined);
  if (missing.length > 0) problems.push(`AUTH_TYPE OAuth2 requires ${OAUTH2_REQUIRED.join(", ")}; not set: ${missing.join(", ")}`);
  const host = read(env, "HOST");
  if (host !== undefined && !HOST_NAME.test(host)) {
    // A value with "@" may be a whole URI, password included; a host name with a port is quoted, anything else described.
    const got = host.includes("@") ? "a value with user information" : /^[A-Za-z0-9.:[\]-]{1,253}$/.test(host) ? `"${host}"` : received(host);
    problems.push(`HOST must be a host name such as smtp.gmail.com, without scheme or port, got ${got}`);
  }
  const port = boundedInteger(env, "OAUTH_PORT", 465, 1, 65535, problems, "a port number");
  const secure = readBoolean(env, "OAUTH_SECURE", true, problems);
  if (problems.length > before) return undefined;
  const [user, clientId, clientSecret, refreshToken] = ["USER", "CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"].map((name) => read(env, name));
  return { host, port, secure, auth: { type: "OAuth2", user, clientId, clientSecret, refreshToken } };
}

function readDefaultFrom(env: Env, problems: string[]): string {
  const value = read(env, "DEFAULT_FROM");
  const expected = 'an email address or "Name <address>"';
  if (value === undefined) problems.push(`DEFAULT_FROM is required: expected ${expected}, got nothing`);
  else if (!SENDER_PATTERN.test(value)) problems.push(`DEFAULT_FROM must be ${expected}, got "${value}"`);
  return value ?? "";
}

/** Checked only when a unit uses it: with `never` the value is ignored, and a bad one must not stop all mail. */
function readTtlValue(env: Env, unit: TtlUnit | undefined, problems: string[]): number {
  const text = read(env, "TTL_EXPIRE_VALUE") ?? "1";
  const value = wholeNumber(text);
  if (Number.isSafeInteger(value) && value > 0) return value;
  if (unit !== "never") problems.push(`TTL_EXPIRE_VALUE must be a whole number greater than zero, got ${received(text)}`);
  return 1;
}

function boundedInteger(env: Env, name: string, fallback: number, min: number, max: number, problems: string[], what = "a whole number"): number {
  const text = read(env, name);
  if (text === undefined) return fallback;
  const value = wholeNumber(text);
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  problems.push(`${name} must be ${what} from ${min} to ${max}, got ${received(text)}`);
  return fallback;
}

/**
 * TLS_OPTIONS may hold a private key and its passphrase, so no message quotes its text, as JSON.parse's
 * message and Node's type errors for a non-string passphrase would.
 */
function readTlsOptions(env: Env, problems: string[]): Record<string, unknown> | undefined {
  const text = read(env, "TLS_OPTIONS");
  if (text === undefined) return undefined;
  const expected = 'TLS_OPTIONS must be a JSON object of Node.js TLS options, such as {"rejectUnauthorized": false}';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = error instanceof Error ? / at position ([0-9]+)/.exec(error.message)?.[1] : undefined;
    const where = position === undefined ? "" : ` at character ${Number(position) + 1}`;
    return problem(problems, `${expected}; its text is not valid JSON${where} (the text is not repeated here, as it may hold a key or passphrase)`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return problem(problems, `${expected}, got ${jsonTypeOf(value)}`);
  const options = value as Record<string, unknown>;
  logs.registerSecrets(tlsSecrets([options.passphrase, options.key, options.pfx]));
  if ("passphrase" in options && typeof options.passphrase !== "string") {
    return problem(problems, `TLS_OPTIONS "passphrase" must be a string, got ${jsonTypeOf(options.passphrase)}`);
  }
  return options;
}

/** Private keys, PFX bundles and their passphrases, in any of the shapes Node.js accepts. */
function tlsSecrets(value: unknown): string[] {
  if (typeof value === "string" || typeof value === "number") return [String(value)];
  if (Array.isArray(value)) return value.flatMap(tlsSecrets);
  if (typeof value !== "object" || value === null) return [];
  const { pem, buf, passphrase } = value as Record<string, unknown>;
  return tlsSecrets([pem, buf, passphrase]);
}

const jsonTypeOf = (value: unknown): string => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value);
