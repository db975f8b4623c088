/**
 * Which transport a configuration gets, and the SMTP options it is built
 * with: pooling by default, the Microsoft profile that fills in without
 * overriding, OAuth2's token provider, and SendGrid loaded only when used.
 */
import { parseConfig } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { applyMicrosoftDefaults, isMicrosoftHost, microsoftTokenUrl } from "../../../src/providers/smtp/microsoft";
import { createTransport } from "../../../src/providers/select-provider";
import { usesSendGrid } from "../../../src/providers/sendgrid/sendgrid-provider";
import { smtpOptionsFor } from "../../../src/providers/smtp/smtp-provider";
import { caught } from "../../helpers/caught";

const mockLoaded = new Set<string>();
jest.mock("../../../src/providers/sendgrid/sendgrid-transport", () => {
  mockLoaded.add("sendgrid");
  return jest.requireActual("../../../src/providers/sendgrid/sendgrid-transport");
});
jest.mock("../../../src/providers/smtp/oauth2", () => {
  mockLoaded.add("oauth2");
  return jest.requireActual("../../../src/providers/smtp/oauth2");
});

const FROM = "noreply@example.com";
const config = (env: Record<string, string>) => parseConfig({ DEFAULT_FROM: FROM, ...env });
const oauth2 = (host: string, extra: Record<string, string> = {}) =>
  config({
    AUTH_TYPE: "OAuth2",
    HOST: host,
    USER: "me@example.com",
    CLIENT_ID: "id-1234",
    CLIENT_SECRET: "secret-1234",
    REFRESH_TOKEN: "refresh-1234",
    ...extra,
  });

describe("createTransport", () => {
  it("uses SendGrid's API for smtp.sendgrid.net only, and loads it only then", () => {
    const smtp = createTransport(config({ SMTP_CONNECTION_URI: "smtps://user@smtp.example.com:465", SMTP_PASSWORD: "pw-1234" }));
    expect(smtp.kind).toBe("smtp");
    expect(mockLoaded.has("sendgrid")).toBe(false);
    smtp.close();

    const sendgrid = createTransport(config({ SMTP_CONNECTION_URI: "smtps://apikey@SMTP.SendGrid.net:465", SMTP_PASSWORD: "SG.k.1234" }));
    expect(sendgrid.kind).toBe("sendgrid");
    expect(sendgrid.pooled).toBe(false);
    expect(mockLoaded.has("sendgrid")).toBe(true);
    sendgrid.close();
  });

  it.each([
    ["a look-alike host", { SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net.example.com:465" }],
    ["OAuth2", { AUTH_TYPE: "OAuth2", HOST: "smtp.sendgrid.net", USER: "u@x.com", CLIENT_ID: "i-12", CLIENT_SECRET: "s-12", REFRESH_TOKEN: "r-12" }],
  ])("keeps SMTP for %s", (_, env) => {
    expect(usesSendGrid(config(env))).toBe(false);
  });

  it("takes the API key from the URI's password when SMTP_PASSWORD is not set", () => {
    const transport = createTransport(config({ SMTP_CONNECTION_URI: "smtps://apikey:SG.in-uri.1234@smtp.sendgrid.net:465" }));
    expect(transport.kind).toBe("sendgrid");
    transport.close();
  });

  it("refuses SendGrid without an API key, naming SMTP_PASSWORD", () => {
    const refusal = caught(ConfigError, () => createTransport(config({ SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465" })));
    expect(refusal.message).toContain("SMTP_PASSWORD");
  });

  it("pools SMTP connections unless the URI says pool=false", () => {
    const pooled = createTransport(config({ SMTP_CONNECTION_URI: "smtp://smtp.example.com:587" }));
    const unpooled = createTransport(config({ SMTP_CONNECTION_URI: "smtp://smtp.example.com:587?pool=false" }));
    expect([pooled.pooled, unpooled.pooled]).toEqual([true, false]);
    pooled.close();
    unpooled.close();
  });
});

describe("smtpOptionsFor", () => {
  it("keeps every configured option of a generic host", () => {
    const options = smtpOptionsFor(
      config({ SMTP_CONNECTION_URI: "smtps://u:p@smtp.example.com:587?maxConnections=2", TLS_OPTIONS: '{"minVersion":"TLSv1.3"}' }),
    );
    expect(options).toEqual({
      host: "smtp.example.com",
      port: 587,
      secure: true,
      auth: { user: "u", pass: "p" },
      maxConnections: 2,
      pool: true,
      tls: { minVersion: "TLSv1.3" },
    });
  });

  it("OAuth2 logs in with a token provider instead of handing over the client secret", () => {
    const options = smtpOptionsFor(oauth2("smtp.gmail.com", { OAUTH_PORT: "465" }));
    expect(options).toMatchObject({ host: "smtp.gmail.com", port: 465, secure: true, pool: true });
    expect(options.auth).toEqual({ type: "OAuth2", user: "me@example.com", provisionCallback: expect.any(Function) });
    expect(mockLoaded.has("oauth2")).toBe(true);
  });
});

describe("Microsoft hosts", () => {
  it.each(["smtp.office365.com", "smtp-mail.outlook.com", "smtp.live-hotmail.example", "SMTP.OFFICE365.COM"])("recognises %s", (host) => {
    expect(isMicrosoftHost(host)).toBe(true);
  });

  it.each(["smtp.gmail.com", "smtp.example.com", undefined])("does not take %s for one", (host) => {
    expect(isMicrosoftHost(host)).toBe(false);
  });

  it("keeps the user's host, port, query options and TLS options (the original replaced them all)", () => {
    const options = smtpOptionsFor(
      config({
        SMTP_CONNECTION_URI: "smtp://me%40contoso.com:pw@smtp.office365.com:2525?pool=false&name=app.contoso.com&tls.servername=smtp.office365.com",
        TLS_OPTIONS: '{"minVersion":"TLSv1.2"}',
      }),
    );
    expect(options).toEqual({
      host: "smtp.office365.com",
      port: 2525,
      secure: false,
      requireTLS: true,
      auth: { user: "me@contoso.com", pass: "pw" },
      pool: false,
      name: "app.contoso.com",
      tls: { servername: "smtp.office365.com", minVersion: "TLSv1.2" },
    });
  });

  it.each([
    ["smtps on 587 becomes STARTTLS, required", "smtps://u@smtp.office365.com:587", { port: 587, secure: false, requireTLS: true }, []],
    ["smtp on 587 requires STARTTLS", "smtp://u@smtp-mail.outlook.com:587", { port: 587, secure: false, requireTLS: true }, []],
    // As the original's profile did: Microsoft takes no mail on 465.
    ["smtps on 465 becomes STARTTLS on 587, required", "smtps://u@smtp.office365.com:465", { port: 587, secure: false, requireTLS: true }, []],
    ["smtp on 465 becomes STARTTLS on 587", "smtp://u@smtp-mail.outlook.com:465", { port: 587, secure: false, requireTLS: true }, []],
    ["an explicit requireTLS=false is honoured", "smtp://u@smtp.office365.com:587?requireTLS=false", { requireTLS: false }, []],
    ["ignoreTLS is honoured", "smtp://u@smtp.office365.com:25?ignoreTLS=true", { ignoreTLS: true }, ["requireTLS"]],
  ])("%s", (_, uri, expected, absent) => {
    const options = smtpOptionsFor(config({ SMTP_CONNECTION_URI: uri }));
    expect(options).toMatchObject(expected);
    for (const key of absent) expect(options).not.toHaveProperty(key);
  });

  it("OAuth2 with OAUTH_PORT left at 465 uses STARTTLS on 587", () => {
    expect(smtpOptionsFor(oauth2("smtp.office365.com"))).toMatchObject({ port: 587, secure: false, requireTLS: true });
  });

  it("OAuth2 with OAUTH_SECURE left at true on port 587 uses STARTTLS", () => {
    expect(smtpOptionsFor(oauth2("smtp.office365.com", { OAUTH_PORT: "587" }))).toMatchObject({ port: 587, secure: false, requireTLS: true });
  });

  it("leaves other hosts alone", () => {
    const options = { host: "smtp.example.com", port: 587, secure: true };
    expect(applyMicrosoftDefaults(options)).toEqual(options);
  });

  it.each([
    ["me@contoso.com", "contoso.com"],
    ["me@Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"],
    ["me@outlook.com", "consumers"],
    ["me@hotmail.co.uk", "consumers"],
    ["me@live.fr", "consumers"],
    ["me", "common"],
    [undefined, "common"],
  ])("renews tokens for %s at the %s authority", (user, authority) => {
    expect(microsoftTokenUrl(user)).toBe(`https://login.microsoftonline.com/${authority}/oauth2/v2.0/token`);
  });
});
