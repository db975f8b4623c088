/**
 * The attachment fields added for authenticated downloads and prebuilt
 * parts: `httpHeaders` (checked so that no value can break the request, and
 * no error ever repeats a value) and `raw`; and the cap on URL attachments.
 */
import type { SendMailOptions } from "nodemailer";
import { ValidationError } from "../../../src/shared/errors";
import { preparePayload } from "../../../src/mail/prepare-payload";
import type { MailRequest } from "../../../src/shared/types";
import { validateMailDocument } from "../../../src/mail/validation";
import { caught } from "../../helpers/caught";

const URL = "https://files.example.com/report.pdf";
const withAttachments = (attachments: unknown[]) => ({ to: "ann@example.com", message: { subject: "s", attachments } });

/** The message of the ValidationError `data` is refused with. */
const errorOf = (data: Record<string, unknown>): string => caught(ValidationError, () => validateMailDocument(data)).message;

describe("httpHeaders", () => {
  it("accepts request headers for an https attachment and keeps them for the download", () => {
    const headers = { Authorization: "Bearer abc", "X-Api-Key": "k", Accept: "application/pdf" };
    const { mail } = validateMailDocument(withAttachments([{ path: URL, httpHeaders: headers }]));
    expect(mail.message?.attachments).toEqual([{ path: URL, httpHeaders: headers }]);
    const payload = preparePayload(mail, { defaultFrom: "shop@example.com" });
    expect(payload.attachments).toEqual([{ path: URL, httpHeaders: headers }]);
  });

  it.each([
    ["a value with a line break", { Authorization: "Bearer abc\r\nHost: internal" }, "message.attachments[0].httpHeaders.Authorization", "a string of at most 8192 characters without line breaks"],
    ["a value with NUL", { "X-A": "a\u0000b" }, "message.attachments[0].httpHeaders.X-A", "a string of at most 8192 characters without line breaks"],
    ["a value that is not a string", { "X-A": 7 }, "message.attachments[0].httpHeaders.X-A", "a string of at most 8192 characters without line breaks"],
    ["a huge value", { "X-A": "a".repeat(8193) }, "message.attachments[0].httpHeaders.X-A", "a string of at most 8192 characters without line breaks"],
    ["a name with a space", { "X A": "v" }, "message.attachments[0].httpHeaders", "a map whose keys are HTTP header names (letters, digits and !#$%&'*+.^_`|~-)"],
    ["a name with a colon", { "X-A:": "v" }, "message.attachments[0].httpHeaders", "a map whose keys are HTTP header names (letters, digits and !#$%&'*+.^_`|~-)"],
    ["Host", { Host: "metadata.google.internal" }, "message.attachments[0].httpHeaders.Host", "absent: connection headers are set by the extension"],
    ["Transfer-Encoding", { "transfer-encoding": "chunked" }, "message.attachments[0].httpHeaders.transfer-encoding", "absent: connection headers are set by the extension"],
    ["Proxy-Authorization", { "Proxy-Authorization": "x" }, "message.attachments[0].httpHeaders.Proxy-Authorization", "absent: connection headers are set by the extension"],
    ["too many", Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-${i}`, "v"])), "message.attachments[0].httpHeaders", "a map of at most 20 headers"],
    ["not a map", "Authorization: x", "message.attachments[0].httpHeaders", "a map of HTTP header names to strings"],
  ])("refuses %s, naming the header but never its value", (_label, httpHeaders, field, expected) => {
    const message = errorOf(withAttachments([{ path: URL, httpHeaders }]));
    expect(message).toBe(`Invalid message configuration: Field '${field}' must be ${expected}`);
    expect(message).not.toMatch(/Bearer|metadata|chunked/);
  });
});

describe("raw", () => {
  const raw = "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nhello";

  it("accepts a raw MIME part and hands only it to nodemailer, so nothing else is fetched", () => {
    const { mail } = validateMailDocument(withAttachments([{ raw, path: URL, filename: "ignored.txt" }]));
    const payload = preparePayload(mail as MailRequest, { defaultFrom: "shop@example.com" }) as SendMailOptions;
    expect(payload.attachments).toEqual([{ raw }]);
  });

  it("refuses a raw part that is not a string", () => {
    expect(errorOf(withAttachments([{ raw: { path: "/etc/passwd" } }]))).toBe(
      "Invalid message configuration: Field 'message.attachments[0].raw' must be a string",
    );
  });
});

describe("URL attachments", () => {
  it("at most 10 per message; data: URIs, raw parts and content do not count", () => {
    const urls = Array.from({ length: 10 }, (_, i) => ({ path: `https://files.example.com/${i}.pdf` }));
    const others = [{ path: "data:text/plain,hi" }, { content: "x" }, { raw: "Content-Type: text/plain\r\n\r\nx", path: URL }];
    expect(() => validateMailDocument(withAttachments([...urls, ...others]))).not.toThrow();
    expect(errorOf(withAttachments([...urls, { href: URL }]))).toBe(
      "Invalid message configuration: Field 'message.attachments' must be an array with at most 10 attachments given as https URLs",
    );
  });
});

describe("Cloud Storage attachments", () => {
  it("accepts storagePath and gs:// locations, which the downloader checks against STORAGE_ATTACHMENTS_PATH", () => {
    const attachments = [{ filename: "42.pdf", storagePath: "invoices/42.pdf" }, { path: "gs://b-1/tenants/a/x.pdf" }, { href: "gs://b-1/y.pdf" }];
    const { mail } = validateMailDocument(withAttachments(attachments));
    expect(mail.message?.attachments).toEqual(attachments);
    const payload = preparePayload(mail, { defaultFrom: "shop@example.com" });
    expect(payload.attachments).toEqual(attachments);
  });

  it.each([
    ["not a string", { storagePath: 42 }, "message.attachments[0].storagePath' must be a string"],
    ["empty", { storagePath: "" }, "message.attachments[0].storagePath' must be a Cloud Storage object name of 1 to 1024 bytes"],
    ["too long", { storagePath: "a".repeat(1025) }, "message.attachments[0].storagePath' must be a Cloud Storage object name of 1 to 1024 bytes"],
    ["with content", { storagePath: "a.pdf", content: "x" }, `message.attachments[0]' must be a map with "storagePath" or "content", not both`],
    ["with a path", { storagePath: "a.pdf", path: URL }, `message.attachments[0]' must be a map with "storagePath" or "path", not both`],
  ])("refuses a storagePath %s", (_label, attachment, expected) => {
    expect(errorOf(withAttachments([attachment]))).toContain(expected);
  });

  it("counts Cloud Storage attachments with URL attachments against the same cap", () => {
    const attachments = [...Array.from({ length: 6 }, () => ({ path: URL })), ...Array.from({ length: 5 }, (_, i) => ({ storagePath: `f${i}.pdf` }))];
    expect(errorOf(withAttachments(attachments))).toContain("must be an array with at most 10 attachments given as https URLs or Cloud Storage objects");
    expect(() => validateMailDocument(withAttachments(attachments.slice(1)))).not.toThrow();
  });
});
