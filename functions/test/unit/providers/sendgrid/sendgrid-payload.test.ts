/**
 * The mapping from a prepared message and the document's SendGrid fields to
 * SendGrid's v3 mail-send body, the checks on the sendGrid block, and how
 * attachments are read and encoded. The wire protocol itself is covered by
 * integration/sendgrid.test.ts.
 */
import { Timestamp } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import { DeliveryError, SendEmailError } from "../../../../src/shared/errors";
import { readSendGridBlock } from "../../../../src/providers/sendgrid/sendgrid-fields";
import { buildSendGridMail, readAttachments } from "../../../../src/providers/sendgrid/sendgrid-payload";
import { caught } from "../../../helpers/caught";

const base: SendMailOptions = { from: "Shop <shop@example.com>", to: ["ann@example.com"], subject: "S", text: "T" };
const build = (message: SendMailOptions, extras = {}) => buildSendGridMail({ ...base, ...message }, extras, []);

describe("buildSendGridMail", () => {
  it("reads every address form nodemailer takes, listing each address once", () => {
    const { body, recipients } = build({
      to: ["Ann <ann@example.com>, bob@example.com"],
      cc: [{ name: "Carol", address: "carol@example.com" }] as unknown as string[],
      bcc: ["BOB@example.com", "dan@example.com"],
    });
    expect(body.personalizations).toEqual([
      {
        to: [{ email: "ann@example.com", name: "Ann" }, { email: "bob@example.com" }],
        cc: [{ email: "carol@example.com", name: "Carol" }],
        bcc: [{ email: "dan@example.com" }],
      },
    ]);
    expect(recipients).toEqual(["ann@example.com", "bob@example.com", "carol@example.com", "dan@example.com"]);
  });

  it("uses reply_to for one reply-to address and reply_to_list for several", () => {
    expect(build({ replyTo: "a@example.com" }).body).toMatchObject({ reply_to: { email: "a@example.com" } });
    expect(build({ replyTo: "a@example.com, B <b@example.com>" }).body).toMatchObject({
      reply_to_list: [{ email: "a@example.com" }, { email: "b@example.com", name: "B" }],
    });
  });

  it("orders content plain, AMP, HTML and leaves out empty parts", () => {
    expect(build({ text: "t", html: "<p>h</p>", amp: "<html amp4email>a</html>" }).body.content).toEqual([
      { type: "text/plain", value: "t" },
      { type: "text/x-amp-html", value: "<html amp4email>a</html>" },
      { type: "text/html", value: "<p>h</p>" },
    ]);
    expect(build({ text: "", html: undefined }).body).not.toHaveProperty("content");
  });

  it("writes the threading, priority and custom headers nodemailer would, and a Message-ID", () => {
    const { body, messageId } = build({
      headers: { "X-Tag": "a", "message-id": "<ignored@example.com>" },
      inReplyTo: "<prev@example.com>",
      references: ["<a@example.com>", "<b@example.com>"],
      priority: "high",
    });
    expect(messageId).toMatch(/^<[0-9a-f-]{36}@example\.com>$/);
    expect(body.headers).toEqual({
      "X-Tag": "a",
      "In-Reply-To": "<prev@example.com>",
      References: "<a@example.com> <b@example.com>",
      "X-Priority": "1 (Highest)",
      "X-MSMail-Priority": "High",
      Importance: "High",
      "Message-ID": messageId,
    });
    expect(build({ messageId: "<mine@example.com>" }).messageId).toBe("<mine@example.com>");
  });

  it("refuses a header with several values, which SendGrid cannot carry", () => {
    expect(caught(SendEmailError, () => build({ headers: { "X-Tag": ["a", "b"] } })).message).toBe(
      'Header "X-Tag" has 2 values; SendGrid takes exactly one string per header.',
    );
  });

  it("turns Firestore timestamps and bytes in dynamicTemplateData into JSON", () => {
    const { body } = build({}, {
      sendGrid: {
        templateId: "d-1",
        dynamicTemplateData: { when: Timestamp.fromMillis(Date.UTC(2026, 0, 2)), raw: new Uint8Array([1, 2]), list: [{ n: 1 }] },
      },
    });
    expect(body.personalizations[0].dynamic_template_data).toEqual({ when: "2026-01-02T00:00:00.000Z", raw: "AQI=", list: [{ n: 1 }] });
  });
});

describe("readSendGridBlock", () => {
  it("reads null fields as absent", () => {
    expect(readSendGridBlock({ templateId: "d-1", dynamicTemplateData: null, ipPoolName: null })).toEqual({ templateId: "d-1" });
  });

  it("converts camelCase mail settings to the API's snake_case, deeply", () => {
    expect(readSendGridBlock({ mailSettings: { sandboxMode: { enable: true }, footer: { enable: true, htmlText: "<p/>" } } })).toEqual({
      mailSettings: { sandbox_mode: { enable: true }, footer: { enable: true, html_text: "<p/>" } },
    });
  });

  it.each([
    [{ dynamicTemplateData: {} }, 'Invalid field "sendGrid.dynamicTemplateData". Expected to come with "sendGrid.templateId": dynamic template data fills a template.'],
    [{ templateId: "" }, 'Invalid field "sendGrid.templateId". Expected a non-empty string.'],
    [{ templateId: "d-1", dynamicTemplateData: [1] }, 'Invalid field "sendGrid.dynamicTemplateData". Expected a map.'],
    [{ mailSettings: "sandbox" }, 'Invalid field "sendGrid.mailSettings". Expected a map such as {sandboxMode: {enable: true}}.'],
    [{ customArgs: { id: 7 } }, 'Invalid field "sendGrid.customArgs". Expected a map of strings.'],
    [{ ipPoolName: "p".repeat(65) }, 'Invalid field "sendGrid.ipPoolName". Expected a string of 2 to 64 characters.'],
    [{ batchId: "b-1" }, 'Invalid field "sendGrid.batchId". Expected one of the supported fields templateId, dynamicTemplateData, mailSettings, customArgs, ipPoolName, asm, trackingSettings.'],
  ])("refuses %j", (block, message) => {
    const error = caught(SendEmailError, () => readSendGridBlock(block));
    expect(error.code).toBe("invalid-document");
    expect(error.message).toBe(message);
  });
});

describe("readAttachments", () => {
  afterEach(() => jest.restoreAllMocks());

  it("base64-encodes string content after decoding it with its encoding", async () => {
    const [utf8, hex, base64] = await readAttachments(
      [
        { filename: "a.txt", content: "héllo" },
        { filename: "b.bin", content: "cafe", encoding: "hex" },
        { filename: "c.txt", content: "aGk=", encoding: "base64" },
      ],
    );
    expect(Buffer.from(utf8.content, "base64").toString("utf8")).toBe("héllo");
    expect(hex.content).toBe(Buffer.from([0xca, 0xfe]).toString("base64"));
    expect(base64.content).toBe("aGk=");
  });

  it("names and types attachments as nodemailer does", async () => {
    const [named, unnamed, data] = await readAttachments(
      [{ filename: "report.pdf", content: Buffer.from("x") }, { content: "x", contentType: "text/csv" }, { path: "data:image/png;base64,iVBO" }],
    );
    expect([named.filename, named.type]).toEqual(["report.pdf", "application/pdf"]);
    expect([unnamed.filename, unnamed.type]).toEqual(["attachment-2.csv", "text/csv"]);
    expect([data.filename, data.type, data.content]).toEqual(["attachment-3.png", "image/png", "iVBO"]);
  });

  it("sends cid attachments inline unless told otherwise", async () => {
    const [inline, forced] = await readAttachments(
      [
        { filename: "logo.png", content: "x", cid: "<logo>" },
        { filename: "logo.png", content: "x", cid: "logo", contentDisposition: "attachment" },
      ],
    );
    expect(inline).toMatchObject({ disposition: "inline", content_id: "logo" });
    expect(forced).toMatchObject({ disposition: "attachment", content_id: "logo" });
  });

  it("never fetches: a URL left in a message is refused, as a raw part is", async () => {
    const fetch = jest.spyOn(globalThis, "fetch");
    const url = await caught(DeliveryError, readAttachments([{ path: "https://files.example.com/a.pdf?sig=secret" }]));
    const raw = await caught(DeliveryError, readAttachments([{ raw: "Content-Type: text/plain\r\n\r\nhi" }]));
    expect(fetch).not.toHaveBeenCalled();
    expect([url.code, url.transient]).toEqual(["invalid-document", false]);
    expect(url.message).toContain("message.attachments[0]");
    expect(url.message).not.toContain("sig=secret");
    expect(raw.message).toBe('The attachment message.attachments[0] is given as "raw", which SendGrid cannot send. Give it as "content" instead.');
  });
});
