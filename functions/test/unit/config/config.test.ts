import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { parseConfig } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { redact } from "../../../src/shared/logs";
import { caught } from "../../helpers/caught";

type Env = Record<string, string | undefined>;

const MINIMAL: Env = {
  SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465",
  DEFAULT_FROM: "noreply@example.com",
};

const OAUTH: Env = {
  AUTH_TYPE: "OAuth2",
  HOST: "smtp.gmail.com",
  USER: "me@gmail.com",
  CLIENT_ID: "client-id-value",
  CLIENT_SECRET: "client-secret-value",
  REFRESH_TOKEN: "refresh-token-value",
  DEFAULT_FROM: "Me <me@gmail.com>",
};

/** The ConfigError message parseConfig throws for `env`. */
const problemsOf = (env: Env): string => caught(ConfigError, () => parseConfig(env)).message;

describe("parseConfig: defaults", () => {
  it("fills every default from a minimal configuration", () => {
    expect(parseConfig(MINIMAL)).toEqual({
      database: "(default)",
      authType: "UsernamePassword",
      smtp: { host: "smtp.example.com", port: 465, secure: true, auth: { user: "user" } },
      smtpHost: "smtp.example.com",
      ignoredUriOptions: [],
      mailCollection: "mail",
      defaultFrom: "noreply@example.com",
      userTemplateFields: [],
      ttlExpireType: "never",
      ttlExpireValue: 1,
      maxAttempts: 1,
      retryBackoffSeconds: 60,
      allowSendGridBypass: false,
      // Delivery status after the send: all off (see webhook-params.test.ts).
      webhooks: {
        trackOpensAndClicks: false,
        eventHistory: false,
        replayWindowSeconds: 300,
        maxBodyBytes: 8 * 1024 * 1024,
        tokenCollection: "ext-firestore-send-email-webhook-tokens",
      },
    });
  });

  it("treats empty and blank values as unset, as Firebase passes unset params", () => {
    const config = parseConfig({
      ...MINIMAL,
      AUTH_TYPE: "",
      DATABASE: " ",
      MAIL_COLLECTION: "",
      USERS_COLLECTION: "",
      TTL_EXPIRE_TYPE: "",
      TTL_EXPIRE_VALUE: "",
      TLS_OPTIONS: "",
      SMTP_PASSWORD: "",
    });
    expect(config).toMatchObject({ authType: "UsernamePassword", database: "(default)", mailCollection: "mail" });
    expect(config.usersCollection).toBeUndefined();
    expect(config.smtp.tls).toBeUndefined();
  });

  it("reads every optional param, trimmed", () => {
    const config = parseConfig({
      ...MINIMAL,
      PROJECT_ID: "demo",
      LOCATION: "europe-west1",
      DATABASE: " mail-db ",
      DATABASE_REGION: "eur3",
      MAIL_COLLECTION: "tenants/acme/mail",
      DEFAULT_REPLY_TO: "help@example.com",
      USERS_COLLECTION: "users",
      TEMPLATES_COLLECTION: "templates",
      TTL_EXPIRE_TYPE: "day",
      TTL_EXPIRE_VALUE: "007",
    });
    expect(config).toMatchObject({
      database: "mail-db",
      mailCollection: "tenants/acme/mail",
      defaultReplyTo: "help@example.com",
      usersCollection: "users",
      templatesCollection: "templates",
      ttlExpireType: "day",
      ttlExpireValue: 7,
    });
  });

  it("is frozen, down to the SMTP options", () => {
    const config = parseConfig({ ...MINIMAL, TLS_OPTIONS: '{"minVersion":"TLSv1.2"}' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.smtp)).toBe(true);
    expect(Object.isFrozen(config.smtp.auth)).toBe(true);
    expect(Object.isFrozen(config.smtp.tls)).toBe(true);
    expect(Object.isFrozen(config.tlsOptions)).toBe(true);
  });
});

describe("parseConfig: SMTP", () => {
  // As the original: SMTP_PASSWORD is a secret, not part of a URI, so "%41" in it means "%41".
  it.each(["p#ss@w%rd", "p%23ss%40w%25rd", "abc%41", " spaced "])("takes SMTP_PASSWORD %j exactly as given", (password) => {
    const config = parseConfig({ ...MINIMAL, SMTP_PASSWORD: password });
    expect(config.smtp.auth).toEqual({ user: "user", pass: password });
    expect(config.smtpPassword).toBe(password);
  });

  it("ignores URI options nodemailer does not know, or that are unsafe, and lists them by name", () => {
    const config = parseConfig({ ...MINIMAL, SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465?foo=1&pool=false&debug=true" });
    expect(config.ignoredUriOptions).toEqual(["foo", "debug"]);
    expect(config.smtp).toEqual({ host: "smtp.example.com", port: 465, secure: true, auth: { user: "user" }, pool: false });
  });

  it("merges TLS_OPTIONS into the connection's tls, over the URI's", () => {
    const config = parseConfig({
      ...MINIMAL,
      SMTP_CONNECTION_URI: "smtp://host:587?tls.minVersion=TLSv1.2&tls.servername=mx.example.com",
      TLS_OPTIONS: '{"minVersion":"TLSv1.3","ciphers":"HIGH"}',
    });
    expect(config.smtp.tls).toEqual({ minVersion: "TLSv1.3", servername: "mx.example.com", ciphers: "HIGH" });
    expect(config.tlsOptions).toEqual({ minVersion: "TLSv1.3", ciphers: "HIGH" });
  });

  it("builds OAuth2 options from the OAuth params", () => {
    const config = parseConfig({ ...OAUTH, OAUTH_PORT: "587", OAUTH_SECURE: "false", SMTP_PASSWORD: "ignored" });
    expect(config.smtp).toEqual({
      host: "smtp.gmail.com",
      port: 587,
      secure: false,
      auth: {
        type: "OAuth2",
        user: "me@gmail.com",
        clientId: "client-id-value",
        clientSecret: "client-secret-value",
        refreshToken: "refresh-token-value",
      },
    });
    expect(config.smtpHost).toBe("smtp.gmail.com");
    expect(config.smtpPassword).toBeUndefined();
  });

  it("defaults OAuth2 to implicit TLS on port 465", () => {
    expect(parseConfig(OAUTH).smtp).toMatchObject({ port: 465, secure: true });
  });

  it.each([
    ["UsernamePassword", MINIMAL, { host: "smtp.example.com", port: 465, secure: true, auth: { user: "user" } }],
    ["OAuth2", OAUTH, { host: "smtp.gmail.com", port: 465, secure: true, auth: { type: "OAuth2", user: "me@gmail.com" } }],
  ])("gives nodemailer options it accepts, frozen (%s): its SMTP transport dials the configured server", (_, env, server) => {
    const transport = nodemailer.createTransport(parseConfig({ ...env, TLS_OPTIONS: '{"minVersion":"TLSv1.2"}' }).smtp);
    const smtp = transport.transporter as SMTPTransport;
    expect(smtp.name).toBe("SMTP");
    expect(smtp.options).toMatchObject({ ...server, tls: { minVersion: "TLSv1.2" } });
    transport.close();
  });
});

describe("parseConfig: each problem names the param, the expectation and the value", () => {
  it.each<[string, Env, string]>([
    ["invalid URI", { SMTP_CONNECTION_URI: "smtp://host:587 junk" }, "Invalid URI: please reconfigure with a valid SMTP connection URI"],
    ["missing URI", { SMTP_CONNECTION_URI: "" }, "SMTP_CONNECTION_URI is required when AUTH_TYPE is UsernamePassword"],
    ["bad URI option value", { SMTP_CONNECTION_URI: "smtp://host:587?pool=yes" }, 'SMTP_CONNECTION_URI option "pool" must be true or false, got "yes"'],
    ["AUTH_TYPE", { AUTH_TYPE: "Password" }, 'AUTH_TYPE must be one of UsernamePassword, OAuth2, got "Password"'],
    ["DATABASE", { DATABASE: "Mail_DB" }, 'DATABASE must be "(default)" or a database id'],
    ["MAIL_COLLECTION even", { MAIL_COLLECTION: "tenants/acme" }, 'MAIL_COLLECTION must be a collection path: an odd number of non-empty segments separated by "/"'],
    ["MAIL_COLLECTION empty segment", { MAIL_COLLECTION: "a//b" }, 'got "a//b"'],
    ["MAIL_COLLECTION reserved", { MAIL_COLLECTION: "__mail__" }, 'MAIL_COLLECTION must be a collection path'],
    ["USERS_COLLECTION", { USERS_COLLECTION: "/users" }, 'USERS_COLLECTION must be a collection path'],
    ["TEMPLATES_COLLECTION", { TEMPLATES_COLLECTION: "a/b" }, 'TEMPLATES_COLLECTION must be a collection path'],
    ["DEFAULT_FROM missing", { DEFAULT_FROM: "" }, 'DEFAULT_FROM is required: expected an email address or "Name <address>", got nothing'],
    ["DEFAULT_FROM bad", { DEFAULT_FROM: "Me <me@example>" }, 'DEFAULT_FROM must be an email address or "Name <address>", got "Me <me@example>"'],
    ["TTL_EXPIRE_TYPE", { TTL_EXPIRE_TYPE: "days" }, 'TTL_EXPIRE_TYPE must be one of never, hour, day, week, month, year, got "days"'],
    ["TTL_EXPIRE_VALUE 0", { TTL_EXPIRE_TYPE: "day", TTL_EXPIRE_VALUE: "0" }, 'TTL_EXPIRE_VALUE must be a whole number greater than zero, got "0"'],
    ["TTL_EXPIRE_VALUE 12abc", { TTL_EXPIRE_TYPE: "day", TTL_EXPIRE_VALUE: "12abc" }, 'got "12abc"'],
    ["TTL_EXPIRE_VALUE 1.5", { TTL_EXPIRE_TYPE: "hour", TTL_EXPIRE_VALUE: "1.5" }, 'got "1.5"'],
    ["TTL_EXPIRE_VALUE -1", { TTL_EXPIRE_TYPE: "week", TTL_EXPIRE_VALUE: "-1" }, 'got "-1"'],
    ["TLS_OPTIONS syntax", { TLS_OPTIONS: "{minVersion:1}" }, 'TLS_OPTIONS must be a JSON object of Node.js TLS options, such as {"rejectUnauthorized": false}; its text is not valid JSON at character 2'],
    ["TLS_OPTIONS array", { TLS_OPTIONS: "[1]" }, "TLS_OPTIONS must be a JSON object of Node.js TLS options, such as {\"rejectUnauthorized\": false}, got an array"],
    ["TLS_OPTIONS null", { TLS_OPTIONS: "null" }, "got null"],
    ["TLS_OPTIONS number", { TLS_OPTIONS: "42" }, "got number"],
    ["MAX_ATTEMPTS 0", { MAX_ATTEMPTS: "0" }, 'MAX_ATTEMPTS must be a whole number from 1 to 10, got "0"'],
    ["MAX_ATTEMPTS three", { MAX_ATTEMPTS: "three" }, 'MAX_ATTEMPTS must be a whole number from 1 to 10, got "three"'],
    ["RETRY_BACKOFF_SECONDS 2h", { RETRY_BACKOFF_SECONDS: "7200" }, 'RETRY_BACKOFF_SECONDS must be a whole number from 1 to 3600, got "7200"'],
    ["RETRY_BACKOFF_SECONDS 1e3", { RETRY_BACKOFF_SECONDS: "1e3" }, 'got "1e3"'],
  ])("%s", (_, overrides, expected) => {
    expect(problemsOf({ ...MINIMAL, ...overrides })).toContain(expected);
  });

  it("reports an unreadable URI with exactly the original's text", () => {
    expect(problemsOf({ ...MINIMAL, SMTP_CONNECTION_URI: "http://host:25" })).toBe(
      "Invalid URI: please reconfigure with a valid SMTP connection URI",
    );
  });

  it.each<[string, Env, string]>([
    ["missing params", { HOST: "", CLIENT_SECRET: " " }, "AUTH_TYPE OAuth2 requires HOST, USER, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN; not set: HOST, CLIENT_SECRET"],
    ["HOST with port", { HOST: "smtp.gmail.com:465" }, 'HOST must be a host name such as smtp.gmail.com, without scheme or port, got "smtp.gmail.com:465"'],
    ["OAUTH_PORT abc", { OAUTH_PORT: "abc" }, 'OAUTH_PORT must be a port number from 1 to 65535, got "abc"'],
    ["OAUTH_PORT 0", { OAUTH_PORT: "0" }, 'got "0"'],
    ["OAUTH_PORT 70000", { OAUTH_PORT: "70000" }, 'got "70000"'],
    ["OAUTH_SECURE", { OAUTH_SECURE: "yes" }, 'OAUTH_SECURE must be "true" or "false", got "yes"'],
  ])("OAuth2: %s", (_, overrides, expected) => {
    expect(problemsOf({ ...OAUTH, ...overrides })).toContain(expected);
  });

  it("lists every problem in one error", () => {
    const message = problemsOf({ SMTP_CONNECTION_URI: "smtp://", MAIL_COLLECTION: "a/b", TTL_EXPIRE_TYPE: "day", TTL_EXPIRE_VALUE: "x" });
    expect(message.split("; ")).toEqual([
      "Invalid URI: please reconfigure with a valid SMTP connection URI",
      expect.stringMatching(/^MAIL_COLLECTION /),
      expect.stringMatching(/^DEFAULT_FROM /),
      expect.stringMatching(/^TTL_EXPIRE_VALUE /),
    ]);
  });

  it("ignores a bad TTL_EXPIRE_VALUE while TTL is off, since it is never used", () => {
    expect(parseConfig({ ...MINIMAL, TTL_EXPIRE_VALUE: "0" }).ttlExpireValue).toBe(1);
  });
});

describe("secrets", () => {
  /** Fresh values for each test, so that one test's registration cannot make another pass. */
  function brokenWithSecrets(tag: string): { env: Env; secrets: string[] } {
    const secrets = [`uri-pa$$${tag}`, `sm#p@ss-${tag}`, `client-id-${tag}`, `client-secret-${tag}`, `refresh-${tag}`];
    const env: Env = {
      SMTP_CONNECTION_URI: `smtp://user:${secrets[0]}@host:notaport`,
      SMTP_PASSWORD: secrets[1],
      CLIENT_ID: secrets[2],
      CLIENT_SECRET: secrets[3],
      REFRESH_TOKEN: secrets[4],
      HOST: "bad host",
      OAUTH_PORT: "x",
      DEFAULT_FROM: "",
    };
    return { env, secrets };
  }

  it.each(["UsernamePassword", "OAuth2"])("never appear in the error message (%s)", (authType) => {
    const { env, secrets } = brokenWithSecrets(`message-${authType}`);
    const message = problemsOf({ ...env, AUTH_TYPE: authType });
    for (const secret of secrets) expect(message).not.toContain(secret);
  });

  it("are scrubbed from logs even when parsing fails", () => {
    const { env, secrets } = brokenWithSecrets("scrub");
    for (const secret of secrets) expect(redact(`value=${secret}.`)).toBe(`value=${secret}.`);
    problemsOf(env);
    for (const secret of secrets) expect(redact(`value=${secret}.`)).toBe("value=[REDACTED].");
  });

  it("are scrubbed in their decoded form too", () => {
    parseConfig({ ...MINIMAL, SMTP_PASSWORD: "dec%23oded%40pw" });
    expect(redact("pass dec#oded@pw")).toBe("pass [REDACTED]");
  });
});

describe("parseConfig: USER_TEMPLATE_FIELDS", () => {
  it("reads a comma-separated list, trimmed, without duplicates or empty entries", () => {
    expect(parseConfig({ ...MINIMAL, USER_TEMPLATE_FIELDS: " firstName, locale,,timeZone , firstName" }).userTemplateFields).toEqual([
      "firstName",
      "locale",
      "timeZone",
    ]);
  });

  it("is frozen, so that no mail can widen it", () => {
    expect(Object.isFrozen(parseConfig({ ...MINIMAL, USER_TEMPLATE_FIELDS: "firstName" }).userTemplateFields)).toBe(true);
  });

  it.each([
    ["a path into a map", "profile.name"],
    ["a wildcard", "*"],
    ["a name starting with a digit", "1st"],
    ["a name with a space", "first name"],
    ["a name over 64 characters", "a".repeat(65)],
  ])("refuses %s, naming the param and the entry", (_, field) => {
    const message = problemsOf({ ...MINIMAL, USER_TEMPLATE_FIELDS: `firstName,${field}` });
    expect(message).toContain("USER_TEMPLATE_FIELDS must list top-level field names");
    expect(message).not.toContain("firstName");
  });

  it("refuses more than 20 fields", () => {
    const fields = Array.from({ length: 21 }, (_, i) => `field${i}`).join(",");
    expect(problemsOf({ ...MINIMAL, USER_TEMPLATE_FIELDS: fields })).toBe("USER_TEMPLATE_FIELDS must list at most 20 fields, got 21");
  });
});
