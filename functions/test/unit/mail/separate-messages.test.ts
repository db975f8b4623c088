/**
 * `separateMessages` and `recipientData` in a mail document: what validation refuses (naming the field), and
 * who gets a message of their own.
 */
import type { Firestore } from "firebase-admin/firestore";
import { parseConfig } from "../../../src/config";
import { prepareSeparateMessages } from "../../../src/mail/compose-message";
import { createTemplateCache } from "../../../src/mail/templates";
import { LIMITS, validateMailDocument } from "../../../src/mail/validation";
import { ValidationError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const errorOf = (doc: Record<string, unknown>): string => caught(ValidationError, () => validateMailDocument(doc)).message;
const message = { subject: "Hi", text: "Hello" };
const template = { name: "welcome" };

describe("validation", () => {
  test("documents without the fields are read as before; with them, they are kept", () => {
    expect(validateMailDocument({ to: "a@x.io", message }).mail.separateMessages).toBeUndefined();
    const { mail } = validateMailDocument({ to: ["a@x.io", "b@x.io"], template, separateMessages: true, recipientData: { "a@x.io": { name: "Ann" }, "b@x.io": null } });
    expect(mail).toMatchObject({ separateMessages: true, recipientData: { "a@x.io": { name: "Ann" } } });
  });

  test("separateMessages must be a boolean", () => {
    expect(errorOf({ to: "a@x.io", message, separateMessages: "yes" })).toBe('Invalid field "separateMessages". Expected true or false.');
  });

  test.each(["cc", "bcc", "ccUids", "bccUids"])("%s is refused with separateMessages: each message names one recipient", (field) => {
    const value = field.endsWith("Uids") ? ["u1"] : "c@x.io";
    expect(errorOf({ to: "a@x.io", [field]: value, message, separateMessages: true })).toContain(`Invalid field "${field}". Expected absent with "separateMessages"`);
  });

  test(`more than ${LIMITS.separateRecipients} recipients across to and toUids are refused, naming the field and the bound`, () => {
    const to = Array.from({ length: 60 }, (_, i) => `r${i}@x.io`);
    const toUids = Array.from({ length: 41 }, (_, i) => `u${i}`);
    expect(errorOf({ to, toUids, message, separateMessages: true })).toContain(`Invalid field "separateMessages". Expected at most ${LIMITS.separateRecipients} recipients`);
    // One entry may list several addresses: each counts.
    expect(errorOf({ to: [to.join(", "), "x@x.io, y@x.io"].concat(toUids.slice(0, 39)), message, separateMessages: true })).toContain('Invalid field "separateMessages"');
    expect(() => validateMailDocument({ to: to.slice(0, 59), toUids, message, separateMessages: true })).not.toThrow();
  });

  test("recipientData needs separateMessages and a template, and holds maps", () => {
    expect(errorOf({ to: "a@x.io", template, recipientData: {} })).toBe('Invalid field "recipientData". Expected absent unless "separateMessages" is true.');
    expect(errorOf({ to: "a@x.io", message, separateMessages: true, recipientData: {} })).toContain('Invalid field "recipientData". Expected absent without "template"');
    expect(errorOf({ to: "a@x.io", template, separateMessages: true, recipientData: [] })).toContain('Invalid field "recipientData". Expected a map of at most');
    expect(errorOf({ to: "a@x.io", template, separateMessages: true, recipientData: { "a@x.io": "Ann" } })).toBe('Invalid field "recipientData.a@x.io". Expected a map of template data.');
    const tooMany = Object.fromEntries(Array.from({ length: LIMITS.separateRecipients + 1 }, (_, i) => [`r${i}@x.io`, {}]));
    expect(errorOf({ to: "a@x.io", template, separateMessages: true, recipientData: tooMany })).toContain("Expected a map of at most 100 recipients");
  });
});

describe("prepareSeparateMessages without lookups", () => {
  const config = parseConfig({ SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525", DEFAULT_FROM: "app@example.com" });
  const noFirestore = {} as Firestore;
  const prepare = (doc: Record<string, unknown>) => prepareSeparateMessages(validateMailDocument(doc).mail, config, noFirestore, createTemplateCache());

  test("one message per mailbox: entries listing several addresses are split, the same mailbox in any case once", async () => {
    const messages = await prepare({ to: ["Ann <Ann@X.io>, b@x.io", "ann@x.io", "c@x.io"], message, separateMessages: true });
    expect(messages.recipients.map((r) => r.key)).toEqual(["ann@x.io", "b@x.io", "c@x.io"]);
    const { message: first } = messages.compose(messages.recipients[0]);
    expect(first).toMatchObject({ to: [{ name: "Ann", address: "Ann@X.io" }], subject: "Hi", from: "app@example.com" });
    expect(first.cc).toBeUndefined();
    expect(messages.compose(messages.recipients[1]).message.to).toEqual(["b@x.io"]);
  });

  test("uids without a users collection are refused as for any mail", async () => {
    await expect(prepare({ toUids: ["u1"], message, separateMessages: true })).rejects.toThrow("Must specify a users collection to send using uids.");
  });
});
