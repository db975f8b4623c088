/**
 * AUTH_TYPE=OAuth2 against a local OAuth2 provider: a token endpoint (reached
 * through redirectProviders) and an SMTP server that accepts
 * only XOAUTH2 with a token that endpoint issued. Covers obtaining, reusing,
 * and renewing access tokens, and how each refusal reads.
 */
import { createHash } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { SendMailOptions } from "nodemailer";
import { parseConfig } from "../../src/config";
import type { MailTransport } from "../../src/providers/provider";
import { oauth2Auth } from "../../src/providers/smtp/oauth2";
import { createTransport } from "../../src/providers/select-provider";
import { DeliveryError } from "../../src/shared/errors";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders, testEndpoints } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { AUTHORIZATION_CODE, startOAuth2Provider, type OAuth2Provider } from "../helpers/oauth2-provider";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { caught } from "../helpers/caught";

const PROJECT = "demo-oauth2-transport";
const CREDENTIALS = {
  user: "sender@example.com",
  clientId: "client-id-1234.apps.example.com",
  clientSecret: "client-secret-5f8a2c",
  refreshToken: "refresh-token-1//0gq7Xh",
};
const FROM = "sender@example.com";

/** Every Jest-fakeable API except Date, so that only the clock moves. */
const ALL_BUT_DATE = [
  "hrtime", "nextTick", "performance", "queueMicrotask", "requestAnimationFrame", "cancelAnimationFrame",
  "requestIdleCallback", "cancelIdleCallback", "setImmediate", "clearImmediate", "setInterval", "clearInterval",
  "setTimeout", "clearTimeout",
] as const;

let provider: OAuth2Provider;
let proxy: TcpProxy;
let restoreEndpoints: () => void;
const transports: MailTransport[] = [];

beforeEach(async () => {
  provider = await startOAuth2Provider(CREDENTIALS);
  proxy = await startTcpProxy({ host: "127.0.0.1", port: provider.smtpPort });
  restoreEndpoints = redirectProviders({ oauth2TokenUrl: provider.tokenUrl });
});

afterEach(async () => {
  jest.useRealTimers();
  for (const transport of transports.splice(0)) transport.close();
  await proxy.close();
  await provider.close();
  restoreEndpoints();
});

function params(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AUTH_TYPE: "OAuth2",
    HOST: "127.0.0.1",
    OAUTH_PORT: String(proxy.port),
    OAUTH_SECURE: "false",
    USER: CREDENTIALS.user,
    CLIENT_ID: CREDENTIALS.clientId,
    CLIENT_SECRET: CREDENTIALS.clientSecret,
    REFRESH_TOKEN: CREDENTIALS.refreshToken,
    DEFAULT_FROM: FROM,
    ...overrides,
  };
}

function transportFor(overrides: Record<string, string> = {}): MailTransport {
  const transport = createTransport(parseConfig(params(overrides)), testEndpoints());
  transports.push(transport);
  return transport;
}

const mail = (subject = "Hello"): SendMailOptions => ({ from: FROM, to: "ann@example.com", subject, text: "Hi" });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Ends the pooled connection from the server's side and waits until the client has let go of it. */
async function dropConnections(): Promise<void> {
  proxy.closeAll();
  await proxy.waitForIdle();
}

describe("XOAUTH2 login", () => {
  it("trades the refresh token for an access token and logs in with it", async () => {
    await transportFor().send(mail());
    expect(provider.tokenRequests).toEqual([
      {
        grant_type: "refresh_token",
        client_id: CREDENTIALS.clientId,
        client_secret: CREDENTIALS.clientSecret,
        refresh_token: CREDENTIALS.refreshToken,
      },
    ]);
    expect(provider.logins).toEqual([{ user: CREDENTIALS.user, accessToken: "access-token-1", accepted: true }]);
    expect(provider.messages.map((message) => message.subject)).toEqual(["Hello"]);
  });

  it("reuses the access token on new connections until it expires, then renews it", async () => {
    jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: Date.now() });
    const transport = transportFor();
    await transport.send(mail("first"));
    await dropConnections();
    await transport.send(mail("second"));
    expect(proxy.connections()).toBe(2);
    expect(provider.tokenRequests).toHaveLength(1);

    // The token was issued for 3599 s.
    jest.setSystemTime(Date.now() + 2 * 60 * 60 * 1000);
    await dropConnections();
    await transport.send(mail("third"));
    expect(provider.tokenRequests).toHaveLength(2);
    expect(provider.logins.map((login) => login.accessToken)).toEqual(["access-token-1", "access-token-1", "access-token-2"]);
    expect(provider.messages.map((message) => message.subject)).toEqual(["first", "second", "third"]);
  });

  it("renews a token the SMTP server refuses, and the mail goes through", async () => {
    const transport = transportFor();
    await transport.send(mail("first"));
    provider.revokeAccessTokens();
    await dropConnections();
    await transport.send(mail("second"));
    expect(provider.logins).toEqual([
      { user: CREDENTIALS.user, accessToken: "access-token-1", accepted: true },
      { user: CREDENTIALS.user, accessToken: "access-token-1", accepted: false },
      { user: CREDENTIALS.user, accessToken: "access-token-2", accepted: true },
    ]);
    expect(provider.messages).toHaveLength(2);
  });

  it("a refresh token the provider refuses fails with the provider's reply and no secret", async () => {
    provider.refuseRefreshToken("invalid_grant", "Token has been expired or revoked.");
    const error = await caught(DeliveryError, transportFor().send(mail()));
    expect(error.code).toBe("auth-failed");
    expect(error.transient).toBe(false);
    expect(error.message).toContain("The OAuth2 provider refused to issue an access token: invalid_grant: Token has been expired or revoked.");
    expect(error.message).toContain("REFRESH_TOKEN");
    for (const secret of [CREDENTIALS.clientSecret, CREDENTIALS.refreshToken]) expect(error.message).not.toContain(secret);
    expect(provider.logins).toEqual([]);
  });

  it("an access token the SMTP server refuses even after renewal fails with the server's reply", async () => {
    const error = await caught(DeliveryError, transportFor({ USER: "someone-else@example.com" }).send(mail()));
    expect(error.code).toBe("auth-failed");
    expect(error.message).toMatch(/^The SMTP server refused the OAuth2 access token \(535\): 535 /);
    expect(error.message).not.toContain("access-token-");
    expect(provider.tokenRequests).toHaveLength(2);
    expect(provider.messages).toEqual([]);
  });

  it("an unreachable token endpoint is a transient connection failure", async () => {
    redirectProviders({ oauth2TokenUrl: `http://127.0.0.1:${await closedPort()}/token` });
    const error = await caught(DeliveryError, transportFor().send(mail()));
    expect(error.code).toBe("connection-failed");
    expect(error.transient).toBe(true);
    expect(error.message).toContain("The OAuth2 token endpoint could not be reached");
  });
});

describe("the token request per provider", () => {
  async function tokenRequestFor(host: string): Promise<Record<string, string>> {
    const auth = oauth2Auth(CREDENTIALS, host, testEndpoints().oauth2TokenUrl) as { provisionCallback: (user: string, renew: boolean, cb: (error: Error | null, token?: string) => void) => void };
    const token = await new Promise<string | undefined>((resolve, reject) =>
      auth.provisionCallback(CREDENTIALS.user, false, (error, accessToken) => (error ? reject(error) : resolve(accessToken))),
    );
    expect(token).toBe("access-token-1");
    return provider.tokenRequests[0];
  }

  it("asks Microsoft for the SMTP.Send scope", async () => {
    expect(await tokenRequestFor("smtp.office365.com")).toMatchObject({ scope: "https://outlook.office.com/SMTP.Send offline_access" });
  });

  it("sends Google only the refresh grant", async () => {
    expect(await tokenRequestFor("smtp.gmail.com")).not.toHaveProperty("scope");
  });
});

describe("scripts/oauth2-refresh-token.js", () => {
  /** The script's own entry point, run in this process so that it can be pointed at the local provider. */
  const script = require("../../../scripts/oauth2-refresh-token.js") as {
    run(io: {
      argv: string[];
      env: Record<string, string>;
      stdin: NodeJS.ReadableStream;
      stdout: NodeJS.WritableStream;
      stderr: NodeJS.WritableStream;
      endpoints: { authorizeUrl: string; tokenUrl: string };
    }): Promise<number>;
  };

  /** Runs the script as a user would; `browser` plays the browser once the sign-in link is printed. */
  async function runScript(args: string[], browser: (link: URL) => Promise<void>) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk: Buffer) => (out += chunk));
    const link = new Promise<URL>((found) =>
      stderr.on("data", (chunk: Buffer) => {
        err += chunk;
        const match = /https:\/\/accounts\.example\.com\/authorize\S+/.exec(err);
        if (match) found(new URL(match[0]));
      }),
    );
    const exited = script.run({
      argv: args,
      env: { CLIENT_ID: CREDENTIALS.clientId, CLIENT_SECRET: CREDENTIALS.clientSecret },
      stdin: new PassThrough(),
      stdout,
      stderr,
      endpoints: { authorizeUrl: "https://accounts.example.com/authorize", tokenUrl: provider.tokenUrl },
    });
    try {
      await Promise.race([link.then(browser), exited]);
    } catch (error) {
      // End the script's wait for a sign-in, so that its local server closes.
      const signIn = await link;
      await redirect(signIn, { error: "test_failed", state: signIn.searchParams.get("state")! });
      await exited;
      throw error;
    }
    const code = await exited;
    return { code, stdout: out, stderr: err };
  }

  /** What the provider does after a sign-in: send the browser to the redirect URI. */
  async function redirect(link: URL, params: Record<string, string>): Promise<number> {
    const target = new URL(link.searchParams.get("redirect_uri")!);
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    return (await fetch(target)).status;
  }

  it("prints the refresh token after a sign-in, using PKCE and a state check", async () => {
    const port = await closedPort();
    let authorizeLink: URL | undefined;
    const result = await runScript(["google", "--port", String(port), "--user", CREDENTIALS.user], async (link) => {
      authorizeLink = link;
      // A redirect that this run did not start is turned away.
      expect(await redirect(link, { code: AUTHORIZATION_CODE, state: "forged" })).toBe(400);
      expect(await redirect(link, { code: AUTHORIZATION_CODE, state: link.searchParams.get("state")! })).toBe(200);
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${CREDENTIALS.refreshToken}\n`);
    expect(result.stderr).not.toContain(CREDENTIALS.clientSecret);

    const query = Object.fromEntries(authorizeLink!.searchParams);
    expect(query).toMatchObject({
      client_id: CREDENTIALS.clientId,
      redirect_uri: `http://localhost:${port}/callback`,
      response_type: "code",
      scope: "https://mail.google.com/",
      access_type: "offline",
      code_challenge_method: "S256",
      login_hint: CREDENTIALS.user,
    });
    const [exchange] = provider.tokenRequests;
    expect(exchange).toMatchObject({
      grant_type: "authorization_code",
      code: AUTHORIZATION_CODE,
      redirect_uri: `http://localhost:${port}/callback`,
      client_secret: CREDENTIALS.clientSecret,
    });
    expect(createHash("sha256").update(exchange.code_verifier).digest("base64url")).toBe(query.code_challenge);
  });

  it("asks Microsoft for the SMTP.Send scope and reports a refused sign-in", async () => {
    const port = await closedPort();
    let scope: string | null = null;
    const result = await runScript(["microsoft", "--port", String(port)], async (link) => {
      scope = link.searchParams.get("scope");
      await redirect(link, { error: "access_denied", error_description: "The user declined.", state: link.searchParams.get("state")! });
    });
    expect(scope).toBe("https://outlook.office.com/SMTP.Send offline_access");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("access_denied: The user declined.");
    expect(result.stdout).toBe("");
    expect(provider.tokenRequests).toEqual([]);
  });
});

describeWithEmulator("processQueue with OAuth2", () => {
  const h = mailHarness(PROJECT);

  beforeEach(() => {
    configureExtension(params());
  });

  afterAll(() => configureExtension(Object.fromEntries(Object.keys(params()).map((name) => [name, undefined]))));

  it("delivers with SUCCESS", async () => {
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "OAuth2", text: "Hi" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.accepted")).toEqual(["ann@example.com"]);
    expect(provider.messages.map((message) => message.subject)).toEqual(["OAuth2"]);
  });

  it("a refused refresh token ends in ERROR with the provider's reply, without secrets", async () => {
    provider.refuseRefreshToken("invalid_grant", "Token has been expired or revoked.");
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "OAuth2", text: "Hi" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    const error: string = snap.get("delivery.error");
    expect(error).toContain("invalid_grant: Token has been expired or revoked.");
    for (const secret of Object.values(CREDENTIALS).slice(1)) expect(error).not.toContain(secret);
  });
});
