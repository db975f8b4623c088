import { createTransport } from "nodemailer";
import { ValidationError } from "../../../src/shared/errors";
import { preparePayload } from "../../../src/mail/prepare-payload";
import type { MailRequest } from "../../../src/shared/types";
import { validateMailDocument } from "../../../src/mail/validation";

const defaults = { defaultFrom: "Team <team@example.com>", defaultReplyTo: "help@example.com" };

function request(overrides: Partial<MailRequest> = {}): MailRequest {
  return { to: ["ada@example.com"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [], message: { subject: "Hi" }, ...overrides };
}

describe("preparePayload", () => {
  it.each<[string, Partial<MailRequest>, { defaultFrom: string; defaultReplyTo?: string }, Record<string, unknown>]>([
    ["uses the defaults", {}, defaults, { from: defaults.defaultFrom, replyTo: defaults.defaultReplyTo }],
    ["prefers the document's own values", { from: "me@x.io", replyTo: "r@x.io" }, defaults, { from: "me@x.io", replyTo: "r@x.io" }],
    ["omits replyTo when there is none", {}, { defaultFrom: "team@example.com" }, { from: "team@example.com", replyTo: undefined }],
    ["treats empty strings as absent", { from: "", replyTo: "" }, defaults, { from: defaults.defaultFrom, replyTo: defaults.defaultReplyTo }],
  ])("from and replyTo: %s", (_label, overrides, payloadDefaults, expected) => {
    const payload = preparePayload(request(overrides), payloadDefaults);
    expect({ from: payload.from, replyTo: payload.replyTo }).toEqual(expected);
    expect("replyTo" in payload).toBe(expected.replyTo !== undefined);
  });

  it("passes every supported message field through", () => {
    const date = new Date(Date.UTC(2024, 0, 2));
    const message = {
      subject: "S", text: "T", html: "<p>H</p>", amp: "<html ⚡4email></html>", messageId: "<id@x.io>",
      inReplyTo: "<prev@x.io>", references: ["<a@x.io>"], priority: "low" as const, date,
    };
    const payload = preparePayload(request({ message }), defaults);
    expect(payload).toMatchObject(message);
    expect(payload.date).not.toBe(date);
  });

  it("keeps only non-empty recipient lists", () => {
    const payload = preparePayload(request({ to: [], cc: ["c@x.io"], bcc: [] }), defaults);
    expect(payload.cc).toEqual(["c@x.io"]);
    expect(payload).not.toHaveProperty("to");
    expect(payload).not.toHaveProperty("bcc");
  });

  it.each<[string, Partial<MailRequest>]>([
    ["no addresses", { to: [] }],
    ["only unresolved user ids", { to: [], toUids: ["u1"] }],
  ])("refuses a mail with %s", (_label, overrides) => {
    const run = () => preparePayload(request(overrides), defaults);
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(/^Failed to deliver email\. Expected at least 1 recipient\.$/);
  });

  it("merges headers, top-level winning regardless of case", () => {
    const payload = preparePayload(
      request({ message: { headers: { "x-tag": "message", "X-Only-Message": "m" } }, headers: { "X-Tag": ["top", "level"] } }),
      defaults,
    );
    expect(payload.headers).toEqual({ "X-Only-Message": "m", "X-Tag": ["top", "level"] });
  });

  it("omits headers when there are none", () => {
    expect(preparePayload(request(), defaults)).not.toHaveProperty("headers");
  });

  it("leaves out fields that are not nodemailer options, and never lets nodemailer read files", () => {
    const payload = preparePayload(
      request({ toUids: ["u"], template: { name: "t", data: {} }, sendGrid: { templateId: "d-1" }, categories: ["c"] }),
      defaults,
    );
    for (const key of ["toUids", "ccUids", "bccUids", "template", "sendGrid", "categories", "message"]) expect(payload).not.toHaveProperty(key);
    expect(payload.disableFileAccess).toBe(true);
  });

  it("turns Uint8Array content into a Buffer with the same bytes", () => {
    const bytes = new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 4);
    const payload = preparePayload(request({ message: { attachments: [{ filename: "b.bin", content: bytes }] } }), defaults);
    const [attachment] = payload.attachments ?? [];
    expect(Buffer.isBuffer(attachment.content)).toBe(true);
    expect([...(attachment.content as Buffer)]).toEqual([1, 2, 3]);
  });

  it("refuses a local path even when it did not come through validation (for example from a template)", () => {
    const mail = request({ message: { attachments: [{ path: "/proc/self/environ" }] } });
    expect(() => preparePayload(mail, defaults)).toThrow(
      "Invalid message configuration: Field 'message.attachments[0].path' must be an https URL or a data URI (local files, http: and other URL schemes are not allowed)",
    );
  });

  it("does not mutate its input and shares no arrays or maps with it", () => {
    const mail = request({
      cc: ["c@x.io"], headers: { "X-A": ["1"] },
      message: { references: ["<r@x>"], headers: { "X-B": "2" }, attachments: [{ content: "c", headers: { "X-C": "3" } }] },
    });
    const snapshot = JSON.stringify(mail);
    const payload = preparePayload(mail, defaults);
    (payload.cc as string[]).push("other@x.io");
    (payload.references as string[]).push("<other@x>");
    (payload.headers as Record<string, string[]>)["X-A"].push("changed");
    expect(JSON.stringify(mail)).toBe(snapshot);
  });

  it("produces a message nodemailer renders with the expected headers", async () => {
    const { mail } = validateMailDocument({
      to: "ada@example.com",
      headers: { "X-Campaign": "spring" },
      message: {
        subject: "Report", text: "See attached", amp: "<!doctype html><html ⚡4email><body>amp</body></html>",
        messageId: "<report-1@example.com>", priority: "high",
        attachments: [{ filename: "hi.txt", path: "data:text/plain;base64,aGVsbG8=" }],
      },
    });
    const transport = createTransport({ streamTransport: true, buffer: true, newline: "unix" });
    const info = await transport.sendMail(preparePayload(mail, defaults));
    const raw = (info.message as Buffer).toString();
    expect(raw).toMatch(/^Message-ID: <report-1@example\.com>$/m);
    expect(raw).toMatch(/^X-Campaign: spring$/m);
    expect(raw).toMatch(/^X-Priority: 1 \(Highest\)$/m);
    expect(raw).toMatch(/^Content-Type: text\/x-amp-html/m);
    expect(raw).toContain("aGVsbG8=");
    expect(info.envelope).toEqual({ from: "team@example.com", to: ["ada@example.com"] });
  });
});
