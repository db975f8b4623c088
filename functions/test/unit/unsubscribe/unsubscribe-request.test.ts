import type { MailRequest } from "../../../src/shared/types";
import { unsubscribeHeadersFor } from "../../../src/unsubscribe/unsubscribe-request";
import { verifyUnsubscribeToken } from "../../../src/unsubscribe/unsubscribe-token";

const KEY = "unit-test-signing-key-0123456789-abcdef";
const links = (byDefault: boolean) => ({ unsubscribe: { signingKey: KEY, endpointUrl: "https://hooks.example.com", byDefault } });
const mail = (fields: Partial<MailRequest> = {}): MailRequest => ({ to: ["ada@example.com"], cc: [], bcc: [], toUids: [], ccUids: [], bccUids: [], ...fields });
const message = { to: "ada@example.com", subject: "x", text: "x" };
const tokenOf = (headers: Record<string, string>) => new URL(/^<([^>]+)>/.exec(headers["List-Unsubscribe"])![1]).searchParams.get("t");

describe("unsubscribeHeadersFor: which mail gets a link", () => {
  it.each<[string, boolean, Partial<MailRequest>, boolean]>([
    ["no stream, UNSUBSCRIBE_DEFAULT (as before streams)", true, {}, true],
    ["no stream, no default", false, {}, false],
    ["newsletter, UNSUBSCRIBE_DEFAULT", true, { stream: "newsletter" }, true],
    ["newsletter, unsubscribe: false", true, { stream: "newsletter", unsubscribe: false }, false],
    ["transactional, UNSUBSCRIBE_DEFAULT", true, { stream: "transactional" }, false],
    ["transactional, unsubscribe: true", false, { stream: "transactional", unsubscribe: true }, true],
    ["transactional, UNSUBSCRIBE_DEFAULT and unsubscribe: true", true, { stream: "transactional", unsubscribe: true }, true],
  ])("%s → %p", (_label, byDefault, fields, expected) => {
    const headers = unsubscribeHeadersFor(links(byDefault), mail(fields), message, "mail/a");
    expect("List-Unsubscribe" in headers).toBe(expected);
  });

  it("the link's token names the mail's stream, or none for a mail without one", () => {
    const streamed = unsubscribeHeadersFor(links(true), mail({ stream: "newsletter" }), message, "mail/a");
    expect(verifyUnsubscribeToken(KEY, tokenOf(streamed))).toMatchObject({ address: "ada@example.com", mailPath: "mail/a", stream: "newsletter" });
    const plain = verifyUnsubscribeToken(KEY, tokenOf(unsubscribeHeadersFor(links(true), mail(), message, "mail/a")));
    expect(plain).toMatchObject({ address: "ada@example.com", mailPath: "mail/a" });
    expect(plain).not.toHaveProperty("stream");
  });
});
