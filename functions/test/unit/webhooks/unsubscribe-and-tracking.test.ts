import { mailgunSmtpHeaders } from "../../../src/providers/mailgun/tracking";
import { parseConfig } from "../../../src/config";
import { postmarkSmtpHeaders } from "../../../src/providers/postmark/tracking";
import { selectProvider } from "../../../src/providers/select-provider";
import { sendGridCustomArgs } from "../../../src/providers/sendgrid/tracking";
import { normalizeAddress, suppressionDocId } from "../../../src/suppression/addresses";
import { unsubscribeHeaders } from "../../../src/unsubscribe/unsubscribe-headers";
import { unsubscribePage } from "../../../src/unsubscribe/unsubscribe-page";
import { signUnsubscribeToken, verifyUnsubscribeToken } from "../../../src/unsubscribe/unsubscribe-token";

const KEY = "unit-test-signing-key";
const settings = { signingKey: KEY, endpointUrl: "https://us-central1-demo.cloudfunctions.net/ext-firestore-send-email-webhooks/" };

describe("unsubscribe tokens", () => {
  test("a token names its address and mail, and only the key that made it accepts it", () => {
    const token = signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a" });
    expect(verifyUnsubscribeToken(KEY, token)).toEqual({ address: "ada@example.com", mailPath: "mail/a" });
    expect(verifyUnsubscribeToken("another-key", token)).toBeUndefined();
    expect(token).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  test.each([["v2.x.y"], ["v1.x"], ["v1..sig"], [42], [undefined], ["v1.a.b.c"], [`v1.${"a".repeat(5000)}.b`]])("rejects %p", (token) => {
    expect(verifyUnsubscribeToken(KEY, token)).toBeUndefined();
  });
});

describe("unsubscribeHeaders", () => {
  test("RFC 8058: an https link with a token for the normalised address, and the one-click POST header", () => {
    const headers = unsubscribeHeaders(settings, "mail/a", "Ada <Ada@Example.com>");
    expect(headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    const url = new URL(/^<([^>]+)>$/.exec(headers["List-Unsubscribe"])![1]);
    expect(url.origin + url.pathname).toBe("https://us-central1-demo.cloudfunctions.net/ext-firestore-send-email-webhooks/unsubscribe");
    expect(verifyUnsubscribeToken(KEY, url.searchParams.get("t"))).toEqual({ address: "ada@example.com", mailPath: "mail/a" });
  });

  test("an optional mailto: follows the https link", () => {
    const headers = unsubscribeHeaders({ ...settings, mailto: "unsubscribe@example.com" }, "mail/a", "ada@example.com");
    expect(headers["List-Unsubscribe"]).toMatch(/^<https:\/\/[^>]+>, <mailto:unsubscribe@example\.com\?subject=unsubscribe>$/);
  });

  test("refuses a value that is not an address", () => {
    expect(() => unsubscribeHeaders(settings, "mail/a", "not an address")).toThrow("valid recipient address");
  });
});

describe("unsubscribe page", () => {
  test("escapes the address", () => {
    const html = unsubscribePage("confirm", '<script>"x"@example.com');
    expect(html).not.toContain("<script>");
    expect(html).toContain("&#60;script&#62;");
  });
  test("pages other than the confirmation have no form", () => {
    expect(unsubscribePage("invalid")).not.toContain("<form");
    expect(unsubscribePage("done", "a@example.com")).not.toContain("<form");
  });
});

describe("addresses", () => {
  test.each([
    ["Ada@Example.COM", "ada@example.com"],
    ["  Ada Lovelace <ADA@example.com> ", "ada@example.com"],
    ["a/b%c@example.com", "a/b%c@example.com"],
  ])("normalises %p to %p", (input, expected) => expect(normalizeAddress(input)).toBe(expected));
  test.each([["no-at-sign"], ["@example.com"], ["a@"], ["a b@example.com"], [7]])("rejects %p", (input) => expect(normalizeAddress(input)).toBeUndefined());
  test("suppression ids are one-to-one and valid Firestore ids", () => {
    expect(suppressionDocId("a/b%c@example.com")).toBe("a%2Fb%25c@example.com");
    expect(suppressionDocId("ada+news@example.com")).toBe("ada+news@example.com");
  });
});

describe("tracking metadata per provider", () => {
  test("SendGrid: a custom argument of the API request", () => {
    expect(sendGridCustomArgs("mail/a")).toEqual({ fse_mail: "mail/a" });
  });
  test("Mailgun: X-Mailgun-Variables", () => {
    expect(JSON.parse(mailgunSmtpHeaders("tenants/t/mail/a")["X-Mailgun-Variables"])).toEqual({ fse_mail: "tenants/t/mail/a" });
  });
  test("Postmark: X-PM-Metadata-fse_mail, left out past Postmark's 80-character limit or with control characters", () => {
    expect(postmarkSmtpHeaders("mail/a")).toEqual({ "X-PM-Metadata-fse_mail": "mail/a" });
    expect(postmarkSmtpHeaders(`mail/${"a".repeat(80)}`)).toEqual({});
    expect(postmarkSmtpHeaders("mail/a\r\nBcc: x@example.com")).toEqual({});
  });
});

describe("tracking attached by the selected provider", () => {
  const message = { from: "a@example.com", to: ["b@example.com"], subject: "x", text: "x", headers: { "X-Campaign": "autumn" } };
  const mail = { to: ["b@example.com"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [] };
  const trackedFor = (params: Record<string, string>) => {
    const config = parseConfig({ DEFAULT_FROM: "a@example.com", ...params });
    return selectProvider(config).track!(config, "mail/m1", message, mail);
  };

  test.each([
    ["smtp.mailgun.org", { MAILGUN_WEBHOOK_SIGNING_KEY: "k" }, { "X-Mailgun-Variables": '{"fse_mail":"mail/m1"}' }],
    ["smtp.eu.mailgun.org", { MAILGUN_WEBHOOK_SIGNING_KEY: "k" }, { "X-Mailgun-Variables": '{"fse_mail":"mail/m1"}' }],
    ["smtp.postmarkapp.com", { POSTMARK_WEBHOOK_USERNAME: "u", POSTMARK_WEBHOOK_PASSWORD: "p".repeat(16) }, { "X-PM-Metadata-fse_mail": "mail/m1" }],
    ["smtp.mailgun.org", {}, {}],
    ["smtp.postmarkapp.com", { MAILGUN_WEBHOOK_SIGNING_KEY: "k" }, {}],
    ["smtp.example.com", { MAILGUN_WEBHOOK_SIGNING_KEY: "k" }, {}],
  ])("SMTP relay %s with %p adds %p beside the document's headers", (host, params, added) => {
    const tracked = trackedFor({ SMTP_CONNECTION_URI: `smtp://user@${host}:587`, ...params });
    expect(tracked.message.headers).toEqual({ "X-Campaign": "autumn", ...added });
    expect(tracked.mail).toBe(mail);
  });

  test("SMTP without any webhook leaves the message as it was", () => {
    expect(trackedFor({ SMTP_CONNECTION_URI: "smtp://user@smtp.mailgun.org:587" }).message).toBe(message);
  });
});
