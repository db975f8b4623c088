import { createHash } from "node:crypto";
import type { SendMailOptions } from "nodemailer";
import { archivedMessage, ARCHIVE_FORMAT } from "../../../src/archive/archived-message";
import { canonicalJson, type CanonicalValue } from "../../../src/archive/canonical-json";

const RAW = "Content-Type: text/plain\r\n\r\nraw part";
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const archive = (message: SendMailOptions, messageId: string | null = "<m1@example.com>") => archivedMessage({ mailPath: "mail/m1", attemptId: "att1", message, messageId });

describe("archivedMessage", () => {
  it("keeps addresses, subject, bodies and the message's own headers in order; no header is invented", () => {
    const record = archive({
      from: "Shop <shop@example.com>",
      replyTo: "help@example.com",
      to: ["ann@example.com", "bob@example.com"],
      cc: ["cat@example.com"],
      bcc: ["audit@example.com"],
      subject: "Your order",
      text: "Thanks",
      html: "<p>Thanks</p>",
      inReplyTo: "<prev@example.com>",
      references: ["<a@example.com>", "<prev@example.com>"],
      headers: { "X-Order": "42", "List-Unsubscribe": ["<https://example.com/u>"] },
    });
    expect(record).toEqual({
      format: ARCHIVE_FORMAT,
      mailPath: "mail/m1",
      attemptId: "att1",
      messageId: "<m1@example.com>",
      from: "Shop <shop@example.com>",
      replyTo: "help@example.com",
      to: ["ann@example.com", "bob@example.com"],
      cc: ["cat@example.com"],
      bcc: ["audit@example.com"],
      subject: "Your order",
      headers: [
        { name: "In-Reply-To", value: "<prev@example.com>" },
        { name: "References", value: ["<a@example.com>", "<prev@example.com>"] },
        { name: "X-Order", value: "42" },
        { name: "List-Unsubscribe", value: ["<https://example.com/u>"] },
      ],
      text: "Thanks",
      html: "<p>Thanks</p>",
      amp: null,
      attachments: [],
    });
  });

  it("writes absent fields as null or empty lists, so every record has the same shape", () => {
    expect(archive({ to: "ann@example.com" }, null)).toMatchObject({ messageId: null, from: null, replyTo: null, to: ["ann@example.com"], cc: [], bcc: [], subject: null, text: null, html: null, amp: null, headers: [], attachments: [] });
  });

  it("shows nodemailer's address objects as a header would", () => {
    expect(archive({ from: { name: 'Ann "A"', address: "ann@example.com" }, to: [{ name: "", address: "bob@example.com" }] })).toMatchObject({ from: '"Ann \\"A\\"" <ann@example.com>', to: ["bob@example.com"] });
  });

  it("keeps each attachment's name, type, size and SHA-256 of the bytes sent, never its content or where it came from", () => {
    const pdf = Buffer.from("%PDF-1.7 invoice");
    const record = archive({
      to: "ann@example.com",
      attachments: [
        { filename: "invoice.pdf", content: pdf, contentType: "application/pdf", httpHeaders: { Authorization: "Bearer SECRET-TOKEN" }, path: "https://files.example.com/i.pdf?token=SECRET" } as never,
        { filename: "notes.txt", content: "héllo" },
        { filename: "logo.png", content: pdf.toString("base64"), encoding: "base64" },
        { content: new Uint8Array([1, 2, 3]) as never },
        { raw: RAW },
      ],
    });
    expect(record.attachments).toEqual([
      { filename: "invoice.pdf", contentType: "application/pdf", size: pdf.length, sha256: sha(pdf) },
      { filename: "notes.txt", contentType: "text/plain", size: 6, sha256: sha(Buffer.from("héllo", "utf8")) },
      { filename: "logo.png", contentType: "image/png", size: pdf.length, sha256: sha(pdf) },
      { filename: null, contentType: "application/octet-stream", size: 3, sha256: sha(Buffer.from([1, 2, 3])) },
      { filename: null, contentType: null, size: RAW.length, sha256: sha(Buffer.from(RAW)) },
    ]);
    const text = canonicalJson(record as unknown as CanonicalValue);
    expect(text).not.toContain("SECRET");
    expect(text).not.toContain("%PDF");
  });

  it("refuses an attachment whose bytes it cannot know rather than archiving a wrong hash", () => {
    expect(() => archive({ to: "a@example.com", attachments: [{ filename: "x", content: { pipe() {} } as never }] })).toThrow(TypeError);
  });

  it("is made only of values with a canonical form, so its hash can be computed from the stored copy", () => {
    const record = archive({ to: "a@example.com", subject: "S", text: Buffer.from("bytes body"), attachments: [{ filename: "a.txt", content: "a" }] });
    expect(record.text).toBe("bytes body");
    const text = canonicalJson(record as unknown as CanonicalValue);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});
