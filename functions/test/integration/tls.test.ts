/**
 * TLS_OPTIONS reaches every connection the extension opens with TLS: SMTP
 * with STARTTLS, SMTP with implicit TLS (password or OAuth2 login), and
 * SendGrid's HTTPS API. The servers here present a self-signed certificate,
 * so a send succeeds only when TLS_OPTIONS trusts it (`ca`) or turns the
 * check off (`rejectUnauthorized: false`); without either it must fail.
 */

import { parseConfig } from "../../src/config";
import type { MailTransport } from "../../src/providers/provider";
import { createTransport } from "../../src/providers/select-provider";
import { DeliveryError } from "../../src/shared/errors";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders, testEndpoints } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { startOAuth2Provider } from "../helpers/oauth2-provider";
import { startSendGridApi } from "../helpers/sendgrid-api-server";
import { selfSignedCertificate, startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { caught } from "../helpers/caught";

const PROJECT = "demo-tls-options";
const FROM = "sender@example.com";
const USER = { user: "mailer", password: "s3cret-pass" };

const TRUST_CA = JSON.stringify({ ca: selfSignedCertificate().cert });
const NO_VERIFY = JSON.stringify({ rejectUnauthorized: false });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function transportFor(params: Record<string, string | undefined>): MailTransport {
  const transport = createTransport(parseConfig({ DEFAULT_FROM: FROM, ...params }), testEndpoints());
  cleanups.push(() => transport.close());
  return transport;
}

async function sink(tls: "starttls" | "implicit"): Promise<SmtpSink> {
  const started = await startSmtpSink({ tls, auth: USER });
  cleanups.push(() => started.close());
  return started;
}

const uri = (scheme: "smtp" | "smtps", port: number) => `${scheme}://${USER.user}:${USER.password}@127.0.0.1:${port}`;
const mail = { from: FROM, to: "ann@example.com", subject: "TLS", text: "Hi" };

describe.each([
  ["STARTTLS", "starttls", "smtp"],
  ["implicit TLS", "implicit", "smtps"],
] as const)("SMTP with %s and a self-signed certificate", (_, tls, scheme) => {
  it("is refused without TLS_OPTIONS: certificates are verified", async () => {
    const server = await sink(tls);
    const error = await caught(DeliveryError, transportFor({ SMTP_CONNECTION_URI: uri(scheme, server.port) }).send(mail));
    expect(error.code).toBe("tls-failed");
    expect(error.message).toContain("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(server.messages).toHaveLength(0);
  });

  it.each([
    ["a ca that trusts it", TRUST_CA],
    ["rejectUnauthorized: false", NO_VERIFY],
  ])("is accepted with TLS_OPTIONS giving %s", async (__, options) => {
    const server = await sink(tls);
    await transportFor({ SMTP_CONNECTION_URI: uri(scheme, server.port), TLS_OPTIONS: options }).send(mail);
    const [received] = await server.waitForMessages(1);
    expect(received.secure).toBe(true);
    expect(server.authAttempts).toEqual([{ username: USER.user, password: USER.password }]);
  });
});

describe("OAuth2 over implicit TLS", () => {
  it.each([
    ["without TLS_OPTIONS", undefined, false],
    ["with TLS_OPTIONS trusting the certificate", TRUST_CA, true],
  ])("%s", async (_, options, delivered) => {
    const credentials = { user: FROM, clientId: "client-id-1", clientSecret: "client-secret-1", refreshToken: "refresh-token-1" };
    const provider = await startOAuth2Provider({ ...credentials, tls: "implicit" });
    cleanups.push(() => provider.close());
    cleanups.push(redirectProviders({ oauth2TokenUrl: provider.tokenUrl }));
    const send = transportFor({
      AUTH_TYPE: "OAuth2",
      HOST: "127.0.0.1",
      OAUTH_PORT: String(provider.smtpPort),
      OAUTH_SECURE: "true",
      USER: credentials.user,
      CLIENT_ID: credentials.clientId,
      CLIENT_SECRET: credentials.clientSecret,
      REFRESH_TOKEN: credentials.refreshToken,
      TLS_OPTIONS: options,
    }).send(mail);
    if (delivered) {
      await send;
      expect(provider.messages).toHaveLength(1);
    } else {
      expect((await caught(DeliveryError, send)).code).toBe("tls-failed");
      expect(provider.messages).toHaveLength(0);
    }
  });
});

describe("SendGrid's API over HTTPS", () => {
  it.each([
    ["without TLS_OPTIONS", undefined, false],
    ["with TLS_OPTIONS trusting the certificate", TRUST_CA, true],
    ["with rejectUnauthorized: false", NO_VERIFY, true],
  ])("%s", async (_, options, delivered) => {
    const api = await startSendGridApi({ apiKey: "SG.key.1234", https: true });
    cleanups.push(() => api.close());
    cleanups.push(redirectProviders({ sendGridApiUrl: api.url }));
    const send = transportFor({
      SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465",
      SMTP_PASSWORD: "SG.key.1234",
      TLS_OPTIONS: options,
    }).send(mail);
    if (delivered) {
      await send;
      expect(api.accepted).toHaveLength(1);
    } else {
      const error = await caught(DeliveryError, send);
      expect(error.code).toBe("tls-failed");
      expect(error.message).toContain("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(api.requestCount()).toBe(0);
    }
  });
});

describeWithEmulator("processQueue with TLS_OPTIONS", () => {
  const h = mailHarness(PROJECT);
  afterAll(() => configureExtension({}));

  it.each([
    ["ERROR without it", undefined, "ERROR"],
    ["SUCCESS with it", TRUST_CA, "SUCCESS"],
  ])("a STARTTLS server with a self-signed certificate: %s", async (_, options, state) => {
    const server = await sink("starttls");
    configureExtension({ SMTP_CONNECTION_URI: uri("smtp", server.port), DEFAULT_FROM: FROM, TLS_OPTIONS: options });
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "TLS", text: "Hi" } });
    expect(snap.get("delivery.state")).toBe(state);
    if (state === "ERROR") expect(snap.get("delivery.error")).toContain("TLS certificate was not accepted");
    expect(server.messages).toHaveLength(state === "SUCCESS" ? 1 : 0);
  });
});
