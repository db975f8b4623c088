import { createHmac } from "node:crypto";
import { mailgunSmtpHeaders } from "../../../src/providers/mailgun/webhook";
import { parseConfig } from "../../../src/config";
import { postmarkSmtpHeaders } from "../../../src/providers/postmark/webhook";
import { selectProvider } from "../../../src/providers/select-provider";
import { sendGridCustomArgs } from "../../../src/providers/sendgrid/webhook";
import { normalizeAddress, suppressionDocId } from "../../../src/suppression/addresses";
import { unsubscribeHeaders } from "../../../src/unsubscribe/unsubscribe-headers";
import { unsubscribePage } from "../../../src/unsubscribe/unsubscribe-page";
import { signUnsubscribeToken, verifyUnsubscribeToken } from "../../../src/unsubscribe/unsubscribe-token";
import { trackingValue, verifiedMailPath, type TrackedProvider } from "../../../src/webhooks/tracking-value";

const KEY = "unit-test-signing-key";
const settings = { signingKey: KEY, endpointUrl: "https://us-central1-demo.cloudfunctions.net/ext-firestore-send-email-webhooks/" };

describe("unsubscribe tokens", () => {
  test("a token names its address and mail, and only the key that made it accepts it", () => {
    const token = signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a" });
    expect(verifyUnsubscribeToken(KEY, token)).toMatchObject({ address: "ada@example.com", mailPath: "mail/a" });
    expect(verifyUnsubscribeToken("another-key", token)).toBeUndefined();
    expect(token).toMatch(/^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    // One recipient of one mail always gets the same link, and so the same event id.
    expect(signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a" })).toBe(token);
    expect(signUnsubscribeToken(KEY, { address: "bob@example.com", mailPath: "mail/a" })).not.toBe(token);
  });

  test("a token may name the mail's stream; one without (every link sent before streams) names none", () => {
    const streamed = signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a", stream: "newsletter" });
    expect(verifyUnsubscribeToken(KEY, streamed)).toMatchObject({ address: "ada@example.com", mailPath: "mail/a", stream: "newsletter" });
    expect(signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a", stream: "offers" })).not.toBe(streamed);
    const plain = verifyUnsubscribeToken(KEY, signUnsubscribeToken(KEY, { address: "ada@example.com", mailPath: "mail/a" }));
    expect(plain).not.toHaveProperty("stream");
    // A v1 link (readable, signed) from before streams: every stream.
    const payload = Buffer.from(JSON.stringify(["ada@example.com", "mail/a"])).toString("base64url");
    const mac = createHmac("sha256", KEY).update(`firestore-send-email unsubscribe v1.${payload}`).digest("base64url");
    expect(verifyUnsubscribeToken(KEY, `v1.${payload}.${mac}`)).toEqual(expect.objectContaining({ address: "ada@example.com", mailPath: "mail/a" }));
    expect(verifyUnsubscribeToken(KEY, `v1.${payload}.${mac}`)).not.toHaveProperty("stream");
  });

  test("a genuine token whose stream is not a stream name, or with a fourth field, is refused", () => {
    expect(verifyUnsubscribeToken(KEY, signUnsubscribeToken(KEY, { address: "a@x.io", mailPath: "mail/a", stream: "News.Letter" }))).toBeUndefined();
    const payload = Buffer.from(JSON.stringify(["a@x.io", "mail/a", "news", "more"])).toString("base64url");
    const mac = createHmac("sha256", KEY).update(`firestore-send-email unsubscribe v1.${payload}`).digest("base64url");
    expect(verifyUnsubscribeToken(KEY, `v1.${payload}.${mac}`)).toBeUndefined();
  });

  test.each([["v2.x.y"], ["v3.x.y"], ["v1.x"], ["v1..sig"], [42], [undefined], ["v1.a.b.c"], [`v1.${"a".repeat(5000)}.b`]])("rejects %p", (token) => {
    expect(verifyUnsubscribeToken(KEY, token)).toBeUndefined();
  });
});

describe("unsubscribeHeaders", () => {
  test("RFC 8058: an https link with a token for the normalised address, and the one-click POST header", () => {
    const headers = unsubscribeHeaders(settings, "mail/a", "Ada <Ada@Example.com>");
    expect(headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    const url = new URL(/^<([^>]+)>$/.exec(headers["List-Unsubscribe"])![1]);
    expect(url.origin + url.pathname).toBe("https://us-central1-demo.cloudfunctions.net/ext-firestore-send-email-webhooks/unsubscribe");
    expect(verifyUnsubscribeToken(KEY, url.searchParams.get("t"))).toMatchObject({ address: "ada@example.com", mailPath: "mail/a" });
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
    ["victim@Bücher.de", "victim@xn--bcher-kva.de"],
    ["victim@example.com.", "victim@example.com"],
    ["x@[192.0.2.1]", "x@[192.0.2.1]"],
  ])("normalises %p to %p", (input, expected) => expect(normalizeAddress(input)).toBe(expected));
  test.each([["no-at-sign"], ["@example.com"], ["a@"], ["a b@example.com"], ["a@exa mple.com"], [7]])("rejects %p", (input) => expect(normalizeAddress(input)).toBeUndefined());
  test("suppression ids are one-to-one and valid Firestore ids", () => {
    expect(suppressionDocId("a/b%c@example.com")).toBe("a%2Fb%25c@example.com");
    expect(suppressionDocId("ada+news@example.com")).toBe("ada+news@example.com");
    // Firestore refuses ids and field names of the form __x__.
    expect(suppressionDocId("__a@b.example__")).toBe("%5F_a@b.example__");
  });
});

describe("tracking metadata per provider", () => {
  const config = parseConfig({ DEFAULT_FROM: "a@example.com", SMTP_CONNECTION_URI: "smtp://h.example.com", TRACKING_SIGNING_KEY: "t".repeat(32) }).webhooks;
  const value = (provider: TrackedProvider, path: string) => trackingValue(config, provider, path)!;
  // Each provider repeats this metadata in its events; the webhook must find the mail from it.
  test("SendGrid: custom arguments of the API request, which lead its events back to the mail", () => {
    const args = sendGridCustomArgs(config, "mail/a");
    expect(args).toEqual({ fse_mail: "mail/a", fse_sig: expect.any(String) });
    expect(verifiedMailPath(args, config, "sendgrid")).toBe("mail/a");
  });
  test("Mailgun: X-Mailgun-Variables, which lead its events back to the mail", () => {
    const variables: unknown = JSON.parse(mailgunSmtpHeaders(config, "tenants/t/mail/a")["X-Mailgun-Variables"]);
    expect(variables).toEqual({ fse_mail: "tenants/t/mail/a", fse_sig: expect.any(String) });
    expect(verifiedMailPath(variables, config, "mailgun")).toBe("tenants/t/mail/a");
  });
  test("Postmark: X-PM-Metadata-fse_mail and -fse_sig, left out past Postmark's 80-character limit or with control characters", () => {
    const headers = postmarkSmtpHeaders(config, "mail/a");
    expect(headers).toEqual({ "X-PM-Metadata-fse_mail": "mail/a", "X-PM-Metadata-fse_sig": expect.any(String) });
    const metadata = { fse_mail: headers["X-PM-Metadata-fse_mail"], fse_sig: headers["X-PM-Metadata-fse_sig"] };
    expect(verifiedMailPath(metadata, config, "postmark")).toBe("mail/a");
    expect(postmarkSmtpHeaders(config, `mail/${"a".repeat(80)}`)).toEqual({});
    expect(postmarkSmtpHeaders(config, "mail/a\r\nBcc: x@example.com")).toEqual({});
  });
  test("a value verifies for its provider and path only, and keys match without case", () => {
    const genuine = value("postmark", "mail/a");
    expect(verifiedMailPath(genuine, config, "postmark")).toBe("mail/a");
    expect(verifiedMailPath({ Fse_mail: genuine.fse_mail, FSE_SIG: genuine.fse_sig }, config, "postmark")).toBe("mail/a");
    expect(verifiedMailPath(genuine, config, "mailgun")).toBeUndefined();
    expect(verifiedMailPath({ ...genuine, fse_mail: "mail/b" }, config, "postmark")).toBeUndefined();
    expect(verifiedMailPath({ fse_mail: "mail/a" }, config, "postmark")).toBeUndefined();
  });
  test("without TRACKING_SIGNING_KEY, Mailgun and Postmark sign with their own secret; SendGrid cannot", () => {
    const own = parseConfig({ DEFAULT_FROM: "a@example.com", SMTP_CONNECTION_URI: "smtp://h.example.com", MAILGUN_WEBHOOK_SIGNING_KEY: "k" }).webhooks;
    const made = trackingValue(own, "mailgun", "mail/a")!;
    expect(verifiedMailPath(made, own, "mailgun")).toBe("mail/a");
    expect(verifiedMailPath(made, config, "mailgun")).toBeUndefined();
    expect(trackingValue(own, "sendgrid", "mail/a")).toBeUndefined();
  });
});

describe("tracking attached by the selected provider", () => {
  const message = { from: "a@example.com", to: ["b@example.com"], subject: "x", text: "x", headers: { "X-Campaign": "autumn" } };
  const mail = { to: ["b@example.com"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [] };
  const trackedFor = (params: Record<string, string>) => {
    const config = parseConfig({ DEFAULT_FROM: "a@example.com", ...params });
    return selectProvider(config).track!(config, "mail/m1", message, mail);
  };

  const mg = { MAILGUN_WEBHOOK_SIGNING_KEY: "k" };
  const pm = { POSTMARK_WEBHOOK_USERNAME: "u", POSTMARK_WEBHOOK_PASSWORD: "p".repeat(16) };
  const mgValue = JSON.stringify(trackingValue(parseConfig({ DEFAULT_FROM: "a@example.com", SMTP_CONNECTION_URI: "smtp://h.example.com", ...mg }).webhooks, "mailgun", "mail/m1"));
  const pmValue = trackingValue(parseConfig({ DEFAULT_FROM: "a@example.com", SMTP_CONNECTION_URI: "smtp://h.example.com", ...pm }).webhooks, "postmark", "mail/m1")!;
  test.each([
    ["smtp.mailgun.org", mg, { "X-Mailgun-Variables": mgValue }],
    ["smtp.eu.mailgun.org", mg, { "X-Mailgun-Variables": mgValue }],
    ["smtp.postmarkapp.com", pm, { "X-PM-Metadata-fse_mail": "mail/m1", "X-PM-Metadata-fse_sig": pmValue.fse_sig }],
    ["smtp.mailgun.org", {}, {}],
    ["smtp.postmarkapp.com", mg, {}],
    ["smtp.example.com", mg, {}],
  ])("SMTP relay %s with %p adds %p beside the document's headers", (host, params, added) => {
    const tracked = trackedFor({ SMTP_CONNECTION_URI: `smtp://user@${host}:587`, ...params });
    expect(tracked.message.headers).toEqual({ "X-Campaign": "autumn", ...added });
    expect(tracked.mail).toBe(mail);
  });

  test("SMTP without any webhook leaves the message as it was", () => {
    expect(trackedFor({ SMTP_CONNECTION_URI: "smtp://user@smtp.mailgun.org:587" }).message).toBe(message);
  });
});
