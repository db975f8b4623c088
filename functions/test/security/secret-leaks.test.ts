/**
 * Secrets never leave through an error: every secret param is given a marker
 * value and pushed through each failure that can mention it. The marker must
 * be absent from the error text, from `delivery.error` (which clients with
 * read access to the mail collection see) and from every log line.
 */
import { createRuntime } from "../../src/handlers/runtime";
import { parseConfig } from "../../src/config";
import { ConfigError } from "../../src/shared/errors";
import { oauth2Auth } from "../../src/providers/smtp/oauth2";
import { createSendGridTransport } from "../../src/providers/sendgrid/sendgrid-transport";
import { caught } from "../helpers/caught";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { startOAuth2Provider } from "../helpers/oauth2-provider";
import { startSendGridApi } from "../helpers/sendgrid-api-server";
import { startSmtpSink } from "../helpers/smtp-sink";

// The modules themselves, not namespace copies, so that their functions can be spied on.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");
const http: typeof import("node:http") = jest.requireActual("node:http");
const https: typeof import("node:https") = jest.requireActual("node:https");

const PROJECT = "demo-secret-leaks";
const FROM = "sender@example.com";
/** Distinct per param, so that a failure says which secret leaked. */
const MARK = {
  password: "pw-MARKER-3c1e",
  uriPassword: "uripw-MARKER-8d2f",
  clientSecret: "cs-MARKER-51aa",
  refreshToken: "rt-MARKER-9e07",
  passphrase: "pp-MARKER-d44b",
  apiKey: "SG.MARKER.7b19",
};
const MARKERS = Object.values(MARK);

/** Every log line written while `body` runs, as the logger received it (message and structured fields). */
async function logsDuring<T>(body: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const lines: string[] = [];
  const spies = (["debug", "info", "log", "warn", "error"] as const).map((level) =>
    jest.spyOn(functionsLogger, level).mockImplementation((...args: unknown[]) => {
      lines.push(JSON.stringify(args));
    }),
  );
  try {
    return { result: await body(), logs: lines.join("\n") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

function expectNoMarker(text: string): void {
  for (const marker of MARKERS) {
    expect(text).not.toContain(marker);
    // A fragment of a marker is a leak too (an excerpt, a wrapped line).
    expect(text).not.toContain(marker.slice(0, 9));
  }
}

/** The message of the ConfigError `params` are refused with. */
const configError = (params: Record<string, string>): string => caught(ConfigError, () => parseConfig({ DEFAULT_FROM: FROM, ...params })).message;

const OAUTH2 = {
  AUTH_TYPE: "OAuth2",
  HOST: "smtp.gmail.com",
  USER: FROM,
  CLIENT_ID: "client-id-1",
  CLIENT_SECRET: MARK.clientSecret,
  REFRESH_TOKEN: MARK.refreshToken,
};

describe("config errors name the param and never echo a secret", () => {
  it.each([
    ["TLS_OPTIONS that is not JSON", { SMTP_CONNECTION_URI: "smtp://h.example.com", TLS_OPTIONS: `{"passphrase": ${MARK.passphrase}}` }, /^TLS_OPTIONS must be a JSON object.*not valid JSON/],
    ["TLS_OPTIONS cut short", { SMTP_CONNECTION_URI: "smtp://h.example.com", TLS_OPTIONS: `{"passphrase": "${MARK.passphrase}"` }, /^TLS_OPTIONS .*not valid JSON at character \d+/],
    ["TLS_OPTIONS with a key in bad JSON", { SMTP_CONNECTION_URI: "smtp://h.example.com", TLS_OPTIONS: `{"key": "-----BEGIN ${MARK.passphrase}\n"}` }, /^TLS_OPTIONS .*not valid JSON/],
    ["TLS_OPTIONS with a number as passphrase", { SMTP_CONNECTION_URI: "smtp://h.example.com", TLS_OPTIONS: `{"passphrase": 4711, "key": "${MARK.passphrase}"}` }, /^TLS_OPTIONS "passphrase" must be a string, got number$/],
    ["TLS_OPTIONS that is an array", { SMTP_CONNECTION_URI: "smtp://h.example.com", TLS_OPTIONS: `["${MARK.passphrase}"]` }, /^TLS_OPTIONS must be a JSON object.*got an array$/],
    ["an unreadable URI with a password", { SMTP_CONNECTION_URI: `smtp://me:${MARK.uriPassword}@h.example.com:99999` }, /^Invalid URI/],
    ["a URI without a host, and SMTP_PASSWORD", { SMTP_CONNECTION_URI: `smtp://me:${MARK.uriPassword}@`, SMTP_PASSWORD: MARK.password }, /^Invalid URI/],
    ["a bad URI option next to a password", { SMTP_CONNECTION_URI: `smtp://me:${MARK.uriPassword}@h.example.com?pool=maybe`, SMTP_PASSWORD: MARK.password }, /^SMTP_CONNECTION_URI option "pool"/],
    ["OAuth2 with HOST given as a URI with credentials", { ...OAUTH2, HOST: `smtp://me:${MARK.password}@smtp.gmail.com` }, /^HOST must be a host name .*, got a value with user information$/],
    ["OAuth2 missing USER, with the secrets set", { ...OAUTH2, USER: "" }, /^AUTH_TYPE OAuth2 requires .*not set: USER$/],
    ["OAuth2 with a bad port, with the secrets set", { ...OAUTH2, OAUTH_PORT: "0" }, /^OAUTH_PORT must be/],
  ])("%s", (_, params, expected) => {
    const message = configError(params);
    expect(message).toMatch(expected);
    expectNoMarker(message);
  });

  it("an unknown AUTH_TYPE with every secret set reports it without any secret", () => {
    const message = configError({
      ...OAUTH2,
      AUTH_TYPE: "Kerberos",
      SMTP_CONNECTION_URI: `smtp://me:${MARK.uriPassword}@h.example.com`,
      SMTP_PASSWORD: MARK.password,
      TLS_OPTIONS: `{"passphrase": "${MARK.passphrase}"}`,
    });
    expect(message).toBe('AUTH_TYPE must be one of UsernamePassword, OAuth2, got "Kerberos"');
  });
});

describe("config errors never quote a value that may hold a credential", () => {
  const STATUS = { SUPPRESSION_COLLECTION: "suppressed", UNSUBSCRIBE_SIGNING_KEY: "k".repeat(32), SMTP_CONNECTION_URI: "smtp://h.example.com" };
  it.each([
    ["WEBHOOK_URL with a password", { ...STATUS, WEBHOOK_URL: `https://hooks:${MARK.password}@hooks.example.com/x` }, /^WEBHOOK_URL must .*without query or credentials/],
    ["WEBHOOK_URL with an API key in its query", { ...STATUS, WEBHOOK_URL: `https://hooks.example.com/x?key=${MARK.apiKey}` }, /^WEBHOOK_URL must .*without query or credentials/],
    ["WEBHOOK_URL over http with a token in its path", { ...STATUS, WEBHOOK_URL: `http://hooks.example.com/${MARK.apiKey}` }, /^WEBHOOK_URL must /],
    ["a URI option holding a password", { SMTP_CONNECTION_URI: `smtp://h.example.com?pool=${MARK.password}` }, /^SMTP_CONNECTION_URI option "pool" must be true or false/],
    ["a yes/no param holding an API key", { SMTP_CONNECTION_URI: "smtp://h.example.com", EVENT_HISTORY: `https://x.example.com/?key=${MARK.apiKey}` }, /^EVENT_HISTORY must be "true" or "false"/],
  ])("%s", (_, params, expected) => {
    const message = configError(params);
    expect(message).toMatch(expected);
    expectNoMarker(message);
  });

  it("a harmless value is still quoted, so that a typo can be seen", () => {
    expect(configError({ SMTP_CONNECTION_URI: "smtp://h.example.com?pool=maybe" })).toBe('SMTP_CONNECTION_URI option "pool" must be true or false, got "maybe"');
  });
});

describeWithEmulator("delivery.error and logs under each failure", () => {
  const h = mailHarness(PROJECT);
  afterAll(() => configureExtension({}));

  /** Sends one mail through processQueue and returns its delivery.error and the log lines written meanwhile. */
  async function failedDelivery(): Promise<{ error: string; logs: string }> {
    const { result: snap, logs } = await logsDuring(() =>
      h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "Hi", text: "Hello" } }),
    );
    expect(snap.get("delivery.state")).toBe("ERROR");
    const error: string = snap.get("delivery.error");
    expect(error).toBeTruthy();
    return { error, logs };
  }

  it("TLS_OPTIONS that is not JSON: the passphrase is quoted neither in delivery.error nor in the logs", async () => {
    configureExtension({
      SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525",
      DEFAULT_FROM: FROM,
      TLS_OPTIONS: `{"rejectUnauthorized": false, "passphrase": ${MARK.passphrase}}`,
    });
    const { error, logs } = await failedDelivery();
    expect(error).toMatch(/^TLS_OPTIONS must be a JSON object/);
    expectNoMarker(error);
    expectNoMarker(logs);
  });

  it("WEBHOOK_URL with credentials and an API key: neither is quoted in delivery.error nor in the logs", async () => {
    configureExtension({
      SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525",
      DEFAULT_FROM: FROM,
      SUPPRESSION_COLLECTION: "suppressed",
      UNSUBSCRIBE_SIGNING_KEY: "k".repeat(32),
      WEBHOOK_URL: `https://hooks:${MARK.password}@hooks.example.com/x?key=${MARK.apiKey}`,
    });
    const { error, logs } = await failedDelivery();
    expect(error).toMatch(/^WEBHOOK_URL must /);
    expectNoMarker(error);
    expectNoMarker(logs);
  });

  it("a password the SMTP server refuses (535): neither SMTP_PASSWORD nor the URI's password appears", async () => {
    const sink = await startSmtpSink({ auth: { user: "mailer", password: "the-right-one" } });
    try {
      for (const params of [
        { SMTP_CONNECTION_URI: `smtp://mailer:${MARK.uriPassword}@127.0.0.1:${sink.port}` },
        { SMTP_CONNECTION_URI: `smtp://mailer@127.0.0.1:${sink.port}`, SMTP_PASSWORD: MARK.password },
      ]) {
        configureExtension({ DEFAULT_FROM: FROM, ...params });
        const { error, logs } = await failedDelivery();
        expect(error).toContain("535");
        expectNoMarker(error);
        expectNoMarker(logs);
      }
      expect(sink.authAttempts.map((attempt) => attempt.password)).toEqual([MARK.uriPassword, MARK.password]);
      expect(sink.messages).toHaveLength(0);
    } finally {
      await sink.close();
    }
  });

  it("an OAuth2 token endpoint that refuses, quoting the credentials back: they are redacted", async () => {
    const credentials = { user: FROM, clientId: "client-id-1", clientSecret: MARK.clientSecret, refreshToken: MARK.refreshToken };
    const provider = await startOAuth2Provider(credentials);
    const restore = redirectProviders({ oauth2TokenUrl: provider.tokenUrl });
    try {
      // Some providers echo the request in their error; the extension must not pass that on.
      provider.refuseRefreshToken("invalid_grant", `Bad refresh_token=${MARK.refreshToken} for client_secret=${MARK.clientSecret}`);
      configureExtension({
        ...OAUTH2,
        HOST: "127.0.0.1",
        OAUTH_PORT: String(provider.smtpPort),
        OAUTH_SECURE: "false",
        DEFAULT_FROM: FROM,
      });
      const { error, logs } = await failedDelivery();
      expect(error).toContain("invalid_grant");
      expect(error).toContain("[REDACTED]");
      expectNoMarker(error);
      expectNoMarker(logs);
      expect(provider.tokenRequests).toHaveLength(1);
      expect(provider.messages).toHaveLength(0);
    } finally {
      restore();
      await provider.close();
    }
  });

  it("SendGrid refusing the API key (401), and an error body quoting it: the key is redacted", async () => {
    const api = await startSendGridApi({ apiKey: "SG.the-right-key.0000" });
    const restore = redirectProviders({ sendGridApiUrl: api.url });
    try {
      configureExtension({ SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: MARK.apiKey, DEFAULT_FROM: FROM });
      const refused = await failedDelivery();
      expect(refused.error).toContain("(401)");
      expectNoMarker(refused.error);
      expectNoMarker(refused.logs);

      api.failNext(400, [`Authorization: Bearer ${MARK.apiKey} is malformed`]);
      const quoted = await failedDelivery();
      expect(quoted.error).toContain("Authorization: Bearer [REDACTED] is malformed");
      expectNoMarker(quoted.error);
      expectNoMarker(quoted.logs);
      expect(api.accepted).toHaveLength(0);
    } finally {
      restore();
      await api.close();
    }
  });
});

describe("provider endpoints", () => {
  it("cannot be redirected off the machine, even by test code", () => {
    expect(() => createRuntime({ endpoints: { oauth2TokenUrl: "https://collector.example.com/token" } })).toThrow(/loopback/);
    expect(() => createRuntime({ endpoints: { sendGridApiUrl: "http://10.0.0.8" } })).toThrow(/loopback/);
  });

  it("ignore the environment variables that used to redirect them", async () => {
    // Requests are stopped before any connection: only where they were headed is recorded.
    const destinations: string[] = [];
    const stop = (options: unknown) => {
      const url = typeof options === "string" || options instanceof URL ? new URL(options) : (options as { hostname?: string; host?: string });
      destinations.push(String(url.hostname ?? url.host));
      throw new Error("request stopped by the test");
    };
    const spies = [jest.spyOn(http, "request").mockImplementation(stop), jest.spyOn(https, "request").mockImplementation(stop)];
    process.env.SENDGRID_API_URL = "http://127.0.0.1:9/";
    process.env.OAUTH2_TOKEN_URL = "http://127.0.0.1:9/token";
    try {
      const sendGrid = createSendGridTransport({ apiKey: MARK.apiKey });
      await sendGrid.send({ from: FROM, to: "ann@example.com", subject: "x", text: "y" }).catch(() => undefined);
      sendGrid.close();

      const auth = oauth2Auth({ user: FROM, clientId: "id-1", clientSecret: MARK.clientSecret, refreshToken: MARK.refreshToken }, "smtp.gmail.com") as {
        provisionCallback: (user: string, renew: boolean, callback: (error: Error | null) => void) => void;
      };
      await new Promise<void>((done) => auth.provisionCallback(FROM, false, () => done()));

      // nodemailer's default token endpoint for Google.
      expect(destinations).toEqual(["api.sendgrid.com", "accounts.google.com"]);
    } finally {
      for (const spy of spies) spy.mockRestore();
      delete process.env.SENDGRID_API_URL;
      delete process.env.OAUTH2_TOKEN_URL;
    }
  });
});
