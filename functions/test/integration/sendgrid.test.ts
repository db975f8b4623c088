/**
 * SendGrid: a configuration whose SMTP URI names smtp.sendgrid.net sends
 * through the v3 HTTP API, here a local server speaking its mail-send subset
 * (see helpers/sendgrid-api-server.ts). What SendGrid receives, what lands in
 * `delivery.info`, and how each kind of refusal reads in `delivery.error`.
 */

import type { SendMailOptions } from "nodemailer";
import { parseConfig } from "../../src/config";
import { createTransport } from "../../src/providers/select-provider";
import type { MailTransport } from "../../src/providers/provider";
import { createSendGridTransport } from "../../src/providers/sendgrid/sendgrid-transport";
import { OUTCOME_UNKNOWN_NOTE } from "../../src/providers/shared/unknown-outcome";
import { SendEmailError } from "../../src/shared/errors";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders, testEndpoints } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { startSendGridApi, type SendGridApi } from "../helpers/sendgrid-api-server";
import { caught } from "../helpers/caught";

const PROJECT = "demo-sendgrid-transport";
const API_KEY = "SG.test-key.9f2c4e1a7b";
const URI = "smtps://apikey@smtp.sendgrid.net:465";
const FROM = "Shop <shop@example.com>";

let api: SendGridApi;
let restoreEndpoints: () => void;
const transports: MailTransport[] = [];

beforeEach(async () => {
  api = await startSendGridApi({ apiKey: API_KEY });
  restoreEndpoints = redirectProviders({ sendGridApiUrl: api.url });
});

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  await api.close();
  restoreEndpoints();
});

/** The transport the extension builds for these params. */
function transportFor(params: Record<string, string> = {}): MailTransport {
  const transport = createTransport(parseConfig({ SMTP_CONNECTION_URI: URI, SMTP_PASSWORD: API_KEY, DEFAULT_FROM: FROM, ...params }), testEndpoints());
  expect(transport.kind).toBe("sendgrid");
  transports.push(transport as MailTransport);
  return transport as MailTransport;
}

function mail(overrides: SendMailOptions = {}): SendMailOptions {
  return { from: FROM, to: ["Ann <ann@example.com>"], subject: "Your order", text: "Plain", html: "<p>Rich</p>", ...overrides };
}

describe("a message sent through SendGrid's API", () => {
  it("authenticates with SMTP_PASSWORD as the API key and maps the message", async () => {
    const info = await transportFor().send(
      mail({
        cc: "bob@example.com",
        bcc: ["carol@example.com", "ann@example.com"],
        replyTo: "help@example.com",
        headers: { "X-Campaign": "autumn" },
        messageId: "<order-42@example.com>",
      }),
    );

    expect(api.accepted).toHaveLength(1);
    const { authorization, body, queueId } = api.accepted[0];
    expect(authorization).toBe(`Bearer ${API_KEY}`);
    expect(body).toMatchObject({
      from: { email: "shop@example.com", name: "Shop" },
      reply_to: { email: "help@example.com" },
      subject: "Your order",
      content: [
        { type: "text/plain", value: "Plain" },
        { type: "text/html", value: "<p>Rich</p>" },
      ],
      headers: { "X-Campaign": "autumn", "Message-ID": "<order-42@example.com>" },
    });
    // ann@ is in both to and bcc: SendGrid refuses duplicates, SMTP would deliver once.
    expect(body.personalizations).toEqual([
      { to: [{ email: "ann@example.com", name: "Ann" }], cc: [{ email: "bob@example.com" }], bcc: [{ email: "carol@example.com" }] },
    ]);
    expect(info).toEqual({
      messageId: "<order-42@example.com>",
      sendgridQueueId: queueId,
      accepted: ["ann@example.com", "bob@example.com", "carol@example.com"],
      rejected: [],
      pending: [],
      response: "status=202",
    });
  });

  it("sends the document's categories and sendGrid options in the API's own names", async () => {
    await transportFor().send(mail({ subject: undefined, text: undefined, html: undefined }), {
      categories: ["receipts", "autumn"],
      sendGrid: {
        templateId: "d-0123456789abcdef",
        dynamicTemplateData: { name: "Ann", items: [{ sku: "A1" }] },
        customArgs: { orderId: "42" },
        mailSettings: { sandboxMode: { enable: true }, bypassListManagement: { enable: false } },
        ipPoolName: "transactional",
      },
    });
    const { body } = api.accepted[0];
    expect(body).toMatchObject({
      template_id: "d-0123456789abcdef",
      categories: ["receipts", "autumn"],
      custom_args: { orderId: "42" },
      mail_settings: { sandbox_mode: { enable: true }, bypass_list_management: { enable: false } },
      ip_pool_name: "transactional",
    });
    expect(body.personalizations).toEqual([
      { to: [{ email: "ann@example.com", name: "Ann" }], dynamic_template_data: { name: "Ann", items: [{ sku: "A1" }] } },
    ]);
    expect(body).not.toHaveProperty("content");
  });

  it("base64-encodes every attachment, text included, and sends a cid attachment inline", async () => {
    await transportFor().send(
      mail({
        attachments: [
          { filename: "terms.txt", content: "Plain text terms ✓" },
          { filename: "logo.png", content: "iVBORw0KGgo=", encoding: "base64", cid: "logo" },
          { path: "data:text/csv;base64,YSxiCjEsMgo=" },
        ],
      }),
    );
    const attachments = api.accepted[0].body.attachments as Array<Record<string, string>>;
    expect(attachments).toEqual([
      { filename: "terms.txt", type: "text/plain", disposition: "attachment", content: Buffer.from("Plain text terms ✓").toString("base64") },
      { filename: "logo.png", type: "image/png", disposition: "inline", content_id: "logo", content: "iVBORw0KGgo=" },
      { filename: "attachment-3.csv", type: "text/csv", disposition: "attachment", content: "YSxiCjEsMgo=" },
    ]);
    expect(Buffer.from(attachments[0].content, "base64").toString("utf8")).toBe("Plain text terms ✓");
  });
});

describe("refusals and failures", () => {
  it("a refused API key is auth-failed with SendGrid's message and without the key", async () => {
    const error = await caught(SendEmailError, transportFor({ SMTP_PASSWORD: "SG.wrong-key.0000" }).send(mail()));
    expect(error.code).toBe("auth-failed");
    expect(error.transient).toBe(false);
    expect(error.message).toContain("SendGrid refused the API key (401): The provided authorization grant is invalid, expired, or revoked");
    expect(error.message).toContain("SMTP_PASSWORD");
    expect(error.message).not.toContain("SG.wrong-key");
  });

  it("a 400 is a permanent provider-error quoting each field and message", async () => {
    const error = await caught(SendEmailError, transportFor().send(mail({ to: undefined, cc: "bob@example.com" })));
    expect(error.code).toBe("provider-error");
    expect(error.transient).toBe(false);
    expect(error.message).toContain("SendGrid refused the message (400)");
    expect(error.message).toContain("personalizations.0.to: The to array is required");
  });

  it("an unverified sender is SendGrid's 403, with what to check", async () => {
    await api.close();
    api = await startSendGridApi({ apiKey: API_KEY, verifiedSenders: ["noreply@example.com"] });
    redirectProviders({ sendGridApiUrl: api.url });
    const error = await caught(SendEmailError, transportFor().send(mail()));
    expect(error.code).toBe("provider-error");
    expect(error.message).toContain("(403): from: The from address does not match a verified Sender Identity");
    expect(error.message).toContain("verified sender identity");
  });

  it.each([429, 500, 503])("a %i is a transient provider-error", async (status) => {
    api.failNext(status, ["Try again later"]);
    const error = await caught(SendEmailError, transportFor().send(mail()));
    expect(error.code).toBe("provider-error");
    expect(error.transient).toBe(true);
    expect(error.message).toContain(`(${status}): Try again later`);
  });

  it.each([
    [{ dynamicTemplateData: { a: 1 } }, 'Invalid field "sendGrid.dynamicTemplateData". Expected to come with "sendGrid.templateId"'],
    [{ templateId: "d-1", custom: true }, 'Invalid field "sendGrid.custom". Expected one of the supported fields'],
    [{ templateId: "d-1", customArgs: { n: 1 } }, 'Invalid field "sendGrid.customArgs". Expected a map of strings'],
    [{ templateId: 42 }, 'Invalid field "sendGrid.templateId". Expected a non-empty string'],
    [{ ipPoolName: "x" }, 'Invalid field "sendGrid.ipPoolName". Expected a string of 2 to 64 characters'],
  ])("an invalid sendGrid block %j is refused before any request", async (sendGrid, message) => {
    const error = await caught(SendEmailError, transportFor().send(mail(), { sendGrid }));
    expect(error.code).toBe("invalid-document");
    expect(error.message).toContain(message);
    expect(api.requestCount()).toBe(0);
  });

  it("more than 10 categories is refused with SendGrid's limit", async () => {
    const categories = Array.from({ length: 11 }, (_, i) => `c${i}`);
    const error = await caught(SendEmailError, transportFor().send(mail(), { categories }));
    expect(error.message).toBe('Invalid field "categories". Expected at most 10 categories (SendGrid\'s limit).');
    expect(api.requestCount()).toBe(0);
  });

  it("an unreachable API is a transient connection-failed", async () => {
    await api.close();
    const error = await caught(SendEmailError, transportFor().send(mail()));
    expect(error.code).toBe("connection-failed");
    expect(error.transient).toBe(true);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("an API that takes the whole request and never answers is outcome-unknown at the send deadline, not retried", async () => {
    api.hang();
    const transport = createSendGridTransport({ apiKey: API_KEY, apiUrl: testEndpoints().sendGridApiUrl }, 300);
    transports.push(transport);
    const error = await caught(SendEmailError, transport.send(mail()));
    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(error.message).toContain(`SendGrid ${OUTCOME_UNKNOWN_NOTE} the mail`);
    expect(error.message).toContain("did not answer within 300 ms");
    expect(error.message).not.toContain(API_KEY);
    expect(api.requestCount()).toBe(1);
  });

  it("an API that takes the whole request and closes the connection without answering is outcome-unknown", async () => {
    api.dropAfterBody();
    const error = await caught(SendEmailError, transportFor().send(mail()));
    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(error.message).toContain("the connection ended before it answered");
    expect(api.requestCount()).toBe(1);
  });

  it("SendGrid without an API key is a configuration error naming SMTP_PASSWORD", () => {
    expect(() => createTransport(parseConfig({ SMTP_CONNECTION_URI: URI, DEFAULT_FROM: FROM }), testEndpoints())).toThrow(
      "SendGrid (host smtp.sendgrid.net) needs its API key in SMTP_PASSWORD",
    );
  });
});

describeWithEmulator("processQueue with SendGrid", () => {
  const h = mailHarness(PROJECT);

  beforeEach(() => {
    configureExtension({ SMTP_CONNECTION_URI: URI, SMTP_PASSWORD: API_KEY, DEFAULT_FROM: FROM });
  });

  afterAll(() => configureExtension({}));

  it("records SUCCESS with SendGrid's queue id in delivery.info", async () => {
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "Hi", text: "Hello" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info")).toEqual({
      messageId: expect.stringMatching(/^<.+@example\.com>$/),
      sendgridQueueId: api.accepted[0].queueId,
      accepted: ["ann@example.com"],
      rejected: [],
      pending: [],
      response: "status=202",
    });
  });

  it("passes the document's sendGrid block and categories to the API", async () => {
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      categories: ["welcome", "onboarding"],
      sendGrid: { templateId: "d-123", dynamicTemplateData: { name: "Ann" }, customArgs: { campaign: "autumn" } },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const body = api.accepted[api.accepted.length - 1].body as Record<string, unknown>;
    expect(body.template_id).toBe("d-123");
    expect(body.categories).toEqual(["welcome", "onboarding"]);
    expect(body.custom_args).toEqual({ campaign: "autumn" });
    expect(JSON.stringify(body.personalizations)).toContain('"name":"Ann"');
  });

  it("an invalid sendGrid block ends in ERROR before any request or lease", async () => {
    const before = api.requestCount();
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      sendGrid: { dynamicTemplateData: { name: "Ann" } },
    });
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain('"sendGrid.dynamicTemplateData"');
    expect(api.requestCount()).toBe(before);
  });

  it("a document with only a sendGrid block is refused over SMTP instead of going out empty", async () => {
    configureExtension({ SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525", DEFAULT_FROM: FROM });
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", sendGrid: { templateId: "d-1" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("smtp.sendgrid.net");
  });

  it("records ERROR with SendGrid's reasons, never the key", async () => {
    api.failNext(400, ["The content value must be a string at least one character in length."]);
    const snap = await h.trigger.create(h.nextPath(), { to: "ann@example.com", message: { subject: "Hi", text: "Hello" } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain("SendGrid refused the message (400): The content value must be a string");
    expect(snap.get("delivery.error")).not.toContain(API_KEY);
  });
});
