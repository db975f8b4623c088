/**
 * Every configuration the original extension accepted still works: values
 * its extension.yaml accepts (and that worked with it), run through this
 * project's install-form checks (extension.yaml's validationRegex and
 * options) and config parsing. The few values refused on purpose are listed
 * in EXCEPTIONS with the reason, and must stay refused with a message naming
 * the param.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { parseConfig, type Config } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { SENDER_PATTERN } from "../../../src/config/sender-pattern";
import { caught } from "../../helpers/caught";

interface Param {
  param: string;
  validationRegex?: string;
  options?: Array<{ value: unknown }>;
  default?: unknown;
  immutable?: boolean;
}

const spec = parse(readFileSync(join(__dirname, "..", "..", "..", "..", "extension.yaml"), "utf8")) as { params: Param[] };
const paramOf = (name: string): Param => {
  const param = spec.params.find((p) => p.param === name);
  if (!param) throw new Error(`extension.yaml has no param ${name}`);
  return param;
};

type Env = Record<string, string>;
const BASE: Env = { SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465", DEFAULT_FROM: "noreply@example.com" };
const OAUTH: Env = {
  AUTH_TYPE: "OAuth2",
  HOST: "smtp.gmail.com",
  USER: "me@gmail.com",
  CLIENT_ID: "client-id",
  CLIENT_SECRET: "client-secret",
  REFRESH_TOKEN: "refresh-token",
  DEFAULT_FROM: "noreply@example.com",
};

/** Every DATABASE_REGION option of the original, nam7 included. */
const ORIGINAL_REGIONS = [
  "eur3", "nam5", "nam7", "eu", "us",
  "us-central1", "us-west1", "us-west2", "us-west3", "us-west4", "us-east1", "us-east4", "us-east5", "us-south1",
  "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1", "southamerica-east1", "southamerica-west1",
  "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
  "europe-west10", "europe-west12", "europe-southwest1", "europe-north1", "europe-north2", "europe-central2",
  "me-central1", "me-central2", "me-west1", "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2",
  "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
  "australia-southeast1", "australia-southeast2", "africa-south1",
];

/**
 * Values the original accepted, each with the environment it is tried in and
 * what it must mean here.
 */
const ACCEPTED: Array<[param: string, value: string, base: Env, check: (config: Config) => void]> = [
  ...ORIGINAL_REGIONS.map((region): [string, string, Env, (config: Config) => void] => [
    // Read by the platform to place the trigger, never by the function: it only must not stop the config.
    "DATABASE_REGION", region, BASE, (config) => expect(config.database).toBe("(default)"),
  ]),
  ["DATABASE", "(default)", BASE, (config) => expect(config.database).toBe("(default)")],
  ["DATABASE", "mail-db", BASE, (config) => expect(config.database).toBe("mail-db")],
  ["AUTH_TYPE", "UsernamePassword", BASE, (config) => expect(config.authType).toBe("UsernamePassword")],
  ["AUTH_TYPE", "OAuth2", OAUTH, (config) => expect(config.smtp.auth).toMatchObject({ type: "OAuth2" })],

  // The forms the original's own description gives, and what users paste.
  ["SMTP_CONNECTION_URI", "smtps://username@gmail.com@smtp.gmail.com:465", BASE,
    (config) => expect(config.smtp).toMatchObject({ host: "smtp.gmail.com", port: 465, secure: true, auth: { user: "username@gmail.com" } })],
  ["SMTP_CONNECTION_URI", "smtps://smtp.gmail.com:465", BASE, (config) => expect(config.smtp.auth).toBeUndefined()],
  ["SMTP_CONNECTION_URI", "smtps://username@gmail.com:password@smtp.gmail.com:465", BASE,
    (config) => expect(config.smtp.auth).toEqual({ user: "username@gmail.com", pass: "password" })],
  ["SMTP_CONNECTION_URI", "smtp://user:p%23ss%40word@smtp.example.com:587", BASE,
    (config) => expect(config.smtp.auth).toEqual({ user: "user", pass: "p#ss@word" })],
  ["SMTP_CONNECTION_URI", "smtp://user:pa ss@smtp.example.com:587", BASE,
    (config) => expect(config.smtp.auth).toEqual({ user: "user", pass: "pa ss" })],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:587/", BASE, (config) => expect(config.smtp).toMatchObject({ port: 587, secure: false })],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:2525/relay#notes", BASE, (config) => expect(config.smtp.port).toBe(2525)],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:587?pool=true&maxConnections=2&tls.rejectUnauthorized=false", BASE,
    (config) => expect(config.smtp).toMatchObject({ pool: true, maxConnections: 2, tls: { rejectUnauthorized: false } })],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:587?pool=1", BASE, (config) => expect(config.smtp).toMatchObject({ pool: true })],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:587?someOption=x&debug=true", BASE,
    (config) => expect(config.ignoredUriOptions).toEqual(["someOption", "debug"])],
  ["SMTP_CONNECTION_URI", "smtps://apikey@smtp.sendgrid.net:465", BASE, (config) => expect(config.smtp.host).toBe("smtp.sendgrid.net")],
  ["SMTP_CONNECTION_URI", "smtps://me@outlook.com@smtp-mail.outlook.com:465", BASE,
    (config) => expect(config.smtp).toMatchObject({ host: "smtp-mail.outlook.com", port: 465 })],
  ["SMTP_CONNECTION_URI", "", OAUTH, (config) => expect(config.authType).toBe("OAuth2")],

  ["SMTP_PASSWORD", "p%41ss", BASE, (config) => expect(config.smtp.auth).toEqual({ user: "user", pass: "p%41ss" })],
  ["SMTP_PASSWORD", "p#ss@w%rd", BASE, (config) => expect(config.smtp.auth).toEqual({ user: "user", pass: "p#ss@w%rd" })],
  ["SMTP_PASSWORD", " spaced out ", BASE, (config) => expect(config.smtp.auth).toEqual({ user: "user", pass: " spaced out " })],

  ["HOST", "smtp.office365.com", OAUTH, (config) => expect(config.smtp.host).toBe("smtp.office365.com")],
  ["OAUTH_PORT", "587", OAUTH, (config) => expect(config.smtp.port).toBe(587)],
  ["OAUTH_SECURE", "false", OAUTH, (config) => expect(config.smtp.secure).toBe(false)],
  ["USER", "me@example.com", OAUTH, (config) => expect(config.smtp.auth).toMatchObject({ user: "me@example.com" })],
  ["MAIL_COLLECTION", "mail", BASE, (config) => expect(config.mailCollection).toBe("mail")],
  ["MAIL_COLLECTION", "tenants/acme/mail", BASE, (config) => expect(config.mailCollection).toBe("tenants/acme/mail")],

  ["DEFAULT_FROM", "foobar@example.com", BASE, (config) => expect(config.defaultFrom).toBe("foobar@example.com")],
  ["DEFAULT_FROM", "Friendly Firebaser <foobar@example.com>", BASE, (config) => expect(config.defaultFrom).toBe("Friendly Firebaser <foobar@example.com>")],
  ["DEFAULT_FROM", '"ACME <Support>" <help@acme.test>', BASE, (config) => expect(config.defaultFrom).toBe('"ACME <Support>" <help@acme.test>')],
  ["DEFAULT_FROM", '"john doe"@example.com', BASE, (config) => expect(config.defaultFrom).toBe('"john doe"@example.com')],
  ["DEFAULT_FROM", 'Name <"john doe"@example.com>', BASE, (config) => expect(config.defaultFrom).toBe('Name <"john doe"@example.com>')],
  ["DEFAULT_FROM", '"a@b"@example.com', BASE, (config) => expect(config.defaultFrom).toBe('"a@b"@example.com')],
  ["DEFAULT_FROM", "<noreply@example.com>", BASE, (config) => expect(config.defaultFrom).toBe("<noreply@example.com>")],
  ["DEFAULT_FROM", "first.last+tag@mail.example.co.uk", BASE, (config) => expect(config.defaultFrom).toBe("first.last+tag@mail.example.co.uk")],
  ["DEFAULT_FROM", "Tom \"T\" O'Neil <tom@example.com>", BASE, (config) => expect(config.defaultFrom).toBe("Tom \"T\" O'Neil <tom@example.com>")],
  ["DEFAULT_FROM", "Émile <émile@exämple.com>", BASE, (config) => expect(config.defaultFrom).toBe("Émile <émile@exämple.com>")],

  ["DEFAULT_REPLY_TO", '"john doe"@example.com', BASE, (config) => expect(config.defaultReplyTo).toBe('"john doe"@example.com')],
  ["DEFAULT_REPLY_TO", "a@example.com, Support <b@example.com>", BASE, (config) => expect(config.defaultReplyTo).toBe("a@example.com, Support <b@example.com>")],
  ["USERS_COLLECTION", "users", BASE, (config) => expect(config.usersCollection).toBe("users")],
  ["TEMPLATES_COLLECTION", "tenants/acme/templates", BASE, (config) => expect(config.templatesCollection).toBe("tenants/acme/templates")],
  ...["never", "hour", "day", "week", "month", "year"].map((unit): [string, string, Env, (config: Config) => void] => [
    "TTL_EXPIRE_TYPE", unit, BASE, (config) => expect(config.ttlExpireType).toBe(unit),
  ]),
  ["TTL_EXPIRE_VALUE", "30", { ...BASE, TTL_EXPIRE_TYPE: "day" }, (config) => expect(config.ttlExpireValue).toBe(30)],
  ["TLS_OPTIONS", '{"rejectUnauthorized":false}', BASE, (config) => expect(config.smtp.tls).toEqual({ rejectUnauthorized: false })],
];

/** Values the original accepted that are refused here on purpose, and why. */
const EXCEPTIONS: Array<[param: string, value: string, reason: string]> = [
  ["DEFAULT_FROM", '"john\rdoe"@example.com', "a line break in a header value could add header lines"],
  ["SMTP_CONNECTION_URI", "smtpss://smtp.example.com:465", "the scheme is neither smtp nor smtps; the original silently sent without implicit TLS"],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:0", "port 0 names no port; the original silently used the default one"],
  ["SMTP_CONNECTION_URI", "smtp://smtp.example.com:587?requireTLS=flase",
    "a value that is not true, false, 1 or 0 is refused by name; the original's nodemailer read any such text as true"],
  ["MAIL_COLLECTION", "__mail__", "Firestore refuses reserved ids: no such collection can exist"],
];

describe("values the original accepted", () => {
  it.each(ACCEPTED)("%s = %j parses, with the same meaning", (param, value, base, check) => {
    const config = parseConfig({ ...base, [param]: value });
    check(config);
  });

  it.each(ACCEPTED.filter(([param]) => paramOf(param).validationRegex))("%s = %j passes the install form's check", (param, value) => {
    expect(new RegExp(paramOf(param).validationRegex as string).test(value)).toBe(true);
  });

  it("DATABASE_REGION offers every location the original offered, with no default, and can be changed on reconfiguration", () => {
    const region = paramOf("DATABASE_REGION");
    const offered = (region.options ?? []).map((option) => String(option.value));
    expect(offered).toEqual(expect.arrayContaining(ORIGINAL_REGIONS));
    expect(region.default).toBeUndefined();
    expect(region.immutable).not.toBe(true);
  });

  it("DEFAULT_FROM is checked by the same pattern at install and at run time", () => {
    expect(paramOf("DEFAULT_FROM").validationRegex).toBe(SENDER_PATTERN.source);
  });
});

describe("documented exceptions", () => {
  it.each(EXCEPTIONS)("%s = %j is refused with a message naming it (%s)", (param, value) => {
    const thrown = caught(ConfigError, () => parseConfig({ ...BASE, [param]: value }));
    // An unreadable URI keeps the original's own text, which names no param.
    expect(thrown.message).toMatch(param === "SMTP_CONNECTION_URI" ? /SMTP_CONNECTION_URI|Invalid URI/ : new RegExp(param));
  });
});
