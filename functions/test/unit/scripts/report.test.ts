/**
 * What `npm run report` (scripts/report.js) prints of a `delivery.error`:
 * the clause that names the failure, with anything that may come from a
 * mail document or a server's reply masked, so that grouping works and no
 * address, URL, file name or token reaches the terminal. And which
 * documents of a wildcard collection group it counts as the instance's.
 */
import { join } from "node:path";
import { getFirestore } from "firebase-admin/firestore";
import { initializeApp } from "firebase-admin/app";

const report = require(join(__dirname, "..", "..", "..", "..", "scripts", "report.js")) as {
  normaliseError(text: unknown): string;
  mailCollection(db: unknown, pattern: string): { group: boolean; contains(path: string): boolean };
};

describe("an error text in the report", () => {
  test.each([
    ["The SMTP server refused the request (550): 550 5.1.1 <ada@example.com> unknown user.", "The SMTP server refused the request (550)"],
    ['Invalid field "to". Expected a string or an array of strings.', 'Invalid field "…". Expected a string or an array of strings.'],
    ["Could not render template 'welcome-ada', part 'html': Parse error on line 1", "Could not render template '…', part '…'"],
    ["Bounced for ada@example.com", "Bounced for <address>"],
    ["The SMTP server's TLS certificate was not accepted by the provider's check", "The SMTP server's TLS certificate was not accepted by the provider's check"],
    ["The attachment 'a.pdf' could not be downloaded", "The attachment '…' could not be downloaded"],
    ["The attachment 'Ada's invoice.pdf' could not be downloaded", "The attachment '…' could not be downloaded"],
    ["Download of https://files.example.com/a.pdf?sig=s3cret failed", "Download of <url> failed"],
    ["Request 12345678 refused", "Request # refused"],
    ["Token dGhpcyBpcyBhIHNlY3JldCB0b2tlbg refused", "Token … refused"],
    ["Message processing lease expired.", "Message processing lease expired."],
    // A sender profile's failures group per tenant, and its reply is cut like any other.
    ['Sender profile "acme": SMTP authentication failed (535): 535 5.7.8 <ada@example.com> refused', 'Sender profile "acme": SMTP authentication failed (535)'],
    ['Sender profile "acme": no such profile document', 'Sender profile "acme": no such profile document'],
    ["", "(no error text)"],
    [undefined, "(no error text)"],
    [{ text: "a client wrote a map" }, "(no error text)"],
  ])("%j → %j", (text, printed) => {
    expect(report.normaliseError(text)).toBe(printed);
  });

  test("is cut to 100 characters", () => {
    const printed = report.normaliseError("word ".repeat(60));
    expect(printed).toHaveLength(100);
    expect(printed.endsWith("…")).toBe(true);
  });
});

describe("the report's mail collection", () => {
  const db = getFirestore(initializeApp({ projectId: "demo-report-unit" }, "report-unit"));

  test("a plain path is one collection: its own documents only", () => {
    const mail = report.mailCollection(db, "tenants/acme/mail");
    expect(mail.group).toBe(false);
    expect(mail.contains("tenants/acme/mail/m1")).toBe(true);
    expect(mail.contains("tenants/other/mail/m1")).toBe(false);
  });

  test("a wildcard path is a collection group, of which only matching collections are the instance's", () => {
    const mail = report.mailCollection(db, "users/{uid}/mail");
    expect(mail.group).toBe(true);
    expect(mail.contains("users/ada/mail/m1")).toBe(true);
    expect(mail.contains("teams/t1/mail/m1")).toBe(false);
    expect(mail.contains("users/ada/teams/t1/mail/m1")).toBe(false);
  });

  test("a document path is refused as --collection", () => {
    expect(() => report.mailCollection(db, "mail/m1")).toThrow('--collection must be a collection path such as mail or users/{uid}/mail, got "mail/m1"');
  });
});
