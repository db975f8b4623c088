/**
 * Header and address injection: CR/LF, NUL and overlong values in every
 * field that becomes a header or an address. Each attack either ends the mail
 * in ERROR naming the field, with nothing sent, or arrives safely encoded:
 * checked on what the SMTP server actually received (envelope and raw bytes).
 *
 * Documents of every other malformed shape are covered by the generated
 * cases of helpers/malformed-documents.ts, run in integration/faults.test.ts.
 */
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";
import type { ReceivedMail } from "../helpers/smtp-sink";

const PROJECT = "demo-header-injection";
const VICTIM = "victim@evil.example";
const INJECTIONS = {
  "CR LF": `\r\nBcc: ${VICTIM}`,
  "a lone LF": `\nBcc: ${VICTIM}`,
  "a lone CR": `\rBcc: ${VICTIM}`,
};
const TO = "ann@example.com";
const text = (fields: Record<string, unknown> = {}) => ({ subject: "Hello", text: "Body", ...fields });

/** The header block of a raw message, one entry per physical line. */
function headerLines(mail: ReceivedMail): string[] {
  const raw = mail.raw.toString("utf8");
  return raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n");
}

/** No extra recipient in the envelope, and no header the attack tried to start. */
function expectNoInjection(mail: ReceivedMail): void {
  expect(mail.envelope.rcptTo).toEqual([TO]);
  expect(mail.parsed.headers.has("bcc")).toBe(false);
  const raw = mail.raw.toString("utf8");
  expect(raw).not.toMatch(/^Bcc:/im);
  // Bare CR or LF in a message would let a lenient server split it differently.
  expect(raw.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
}

describeWithEmulator("header and address injection", () => {
  const h = mailHarness(PROJECT);

  async function send(data: Record<string, unknown>) {
    const sink = await h.useSink();
    const snap = await h.trigger.create(h.nextPath(), data);
    return { state: snap.get("delivery.state") as string, error: snap.get("delivery.error") as string | null, sink };
  }

  async function expectRefused(data: Record<string, unknown>, field: string): Promise<void> {
    const { state, error, sink } = await send(data);
    expect(state).toBe("ERROR");
    expect(error).toContain(field);
    expect(sink.messages).toHaveLength(0);
  }

  describe("providers' tracking headers, which a provider repeats in its events", () => {
    it.each([
      ["X-Mailgun-Variables", { headers: { "X-Mailgun-Variables": '{"fse_mail":"mail/victim"}' } }],
      ["x-mailgun-variables, in message.headers", { message: text({ headers: { "x-mailgun-variables": '{"fse_mail":"mail/victim"}' } }) }],
      ["X-PM-Metadata-fse_mail", { headers: { "X-PM-Metadata-fse_mail": "mail/victim" } }],
      ["X-Pm-Metadata-Customer", { headers: { "X-Pm-Metadata-Customer": "42" } }],
      ["X-SMTPAPI", { headers: { "X-SMTPAPI": '{"unique_args":{"fse_mail":"mail/victim"}}' } }],
      ["x-smtpapi, in message.headers", { message: text({ headers: { "x-smtpapi": "{}" } }) }],
    ])("%s ends in ERROR naming the header, with nothing sent", async (name, fields) => {
      await expectRefused({ to: TO, message: text(), ...fields }, name.split(",")[0]);
    });

    it("other X- headers still go out", async () => {
      const { state, sink } = await send({ to: TO, message: text(), headers: { "X-Campaign": "autumn", "X-Mailgun-Tag": "news" } });
      expect(state).toBe("SUCCESS");
      expect(sink.messages[0].parsed.headers.get("x-campaign")).toBe("autumn");
    });
  });

  describe.each(Object.entries(INJECTIONS))("%s", (_, injection) => {
    it("in the subject is folded into the one Subject line", async () => {
      const { state, sink } = await send({ to: TO, message: text({ subject: `Hi${injection}` }) });
      expect(state).toBe("SUCCESS");
      const [mail] = sink.messages;
      expectNoInjection(mail);
      expect(headerLines(mail).filter((line) => /^Subject:/i.test(line))).toEqual([`Subject: Hi Bcc: ${VICTIM}`]);
    });

    it.each([
      ["a header value", { headers: { "X-Campaign": "autumn" + "INJECT" } }, 'headers.X-Campaign'],
      ["a header name", { headers: { ["X-Campaign" + "INJECT"]: "autumn" } }, '"headers"'],
      ["from", { from: "shop@example.com" + "INJECT" }, '"from"'],
      ["replyTo", { replyTo: "help@example.com" + "INJECT" }, '"replyTo"'],
      ["to", { to: TO + "INJECT" }, '"to"'],
      ["cc", { cc: "bob@example.com" + "INJECT" }, '"cc"'],
      ["bcc", { bcc: ["bob@example.com" + "INJECT"] }, '"bcc"'],
    ])("in %s ends in ERROR naming the field", async (__, fields, field) => {
      const data = JSON.parse(JSON.stringify({ to: TO, message: text(), ...fields }).replace(/INJECT/g, JSON.stringify(injection).slice(1, -1)));
      await expectRefused(data, field);
    });

    it.each([
      ["messageId", { messageId: "<a@example.com>INJECT" }],
      ["inReplyTo", { inReplyTo: "<a@example.com>INJECT" }],
      ["an attachment's contentType", { attachments: [{ filename: "a.txt", content: "hi", contentType: "text/plainINJECT" }] }],
      ["an attachment's cid", { attachments: [{ filename: "a.txt", content: "hi", cid: "logoINJECT" }] }],
    ])("in %s ends in ERROR naming the field", async (name, fields) => {
      const message = JSON.parse(JSON.stringify(text(fields)).replace(/INJECT/g, JSON.stringify(injection).slice(1, -1)));
      const field = name === "messageId" || name === "inReplyTo" ? `message.${name}` : name.endsWith("contentType") ? "message.attachments[0].contentType" : "message.attachments[0].cid";
      await expectRefused({ to: TO, message }, field);
    });
  });

  it.each(Object.entries(INJECTIONS))("%s in dsn.envid, which would end the MAIL FROM command, ends in ERROR naming the field", async (_, injection) => {
    const sink = await h.useSink({ dsn: true });
    const envid = `order-42${injection.replace("Bcc: ", "RCPT TO:<")}>`;
    const snap = await h.trigger.create(h.nextPath(), { to: TO, message: text(), dsn: { notify: ["failure"], envid } });
    expect(snap.get("delivery.state")).toBe("ERROR");
    expect(snap.get("delivery.error")).toContain('"dsn.envid"');
    expect(sink.connectionsOpened()).toBe(0);
  });

  it.each(["Bcc", "bcc", "To", "Cc", "From", "Sender", "Reply-To"])(
    "a custom header named %s cannot add or change an address past the checked fields",
    async (name) => {
      await expectRefused({ to: TO, headers: { [name]: VICTIM }, message: text() }, `headers.${name}`);
    },
  );

  it("the same holds for headers inside message", async () => {
    await expectRefused({ to: TO, message: text({ headers: { Bcc: VICTIM } }) }, "message.headers.Bcc");
  });

  it("NUL in the subject and a header value is encoded, never sent raw", async () => {
    const { state, sink } = await send({ to: TO, headers: { "X-Tag": "a\u0000b" }, message: text({ subject: "Hi\u0000there" }) });
    expect(state).toBe("SUCCESS");
    const [mail] = sink.messages;
    expectNoInjection(mail);
    expect(mail.raw.includes(0)).toBe(false);
    expect(mail.parsed.subject).toBe("Hi\u0000there");
  });

  it("a NUL inside an address never reaches a mailbox", async () => {
    const { state, error, sink } = await send({ to: `${TO}\u0000${VICTIM}`, message: text() });
    expect(state).toBe("ERROR");
    expect(error).toMatch(/\bto\b/);
    expect(sink.messages).toHaveLength(0);
  });

  it("an overlong subject and header value are folded into lines of at most 998 characters", async () => {
    const long = Array.from({ length: 10_000 }, (_, i) => `word${i}`).join(" ");
    const { state, sink } = await send({ to: TO, headers: { "X-Long": long }, message: text({ subject: long }) });
    expect(state).toBe("SUCCESS");
    const [mail] = sink.messages;
    expectNoInjection(mail);
    for (const line of mail.raw.toString("utf8").split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    expect(mail.parsed.subject).toBe(long);
    expect(mail.parsed.headers.get("x-long")).toBe(long);
  });

  it.each([
    ["subject", { message: text({ subject: `x${"A".repeat(997)}Bcc: victim@example.com` }) }, "message.subject"],
    ["header value", { headers: { "X-Long": `${"A".repeat(1000)}Reply-To: victim@example.com` }, message: text() }, "headers.X-Long"],
  ])("a %s with a word no header line can hold ends in ERROR naming the field, nothing sent", async (_, fields, field) => {
    await expectRefused({ to: TO, ...fields }, field);
  });

  it("an overlong address ends in ERROR naming the field", async () => {
    await expectRefused({ to: `${"a".repeat(20_000)}@example.com`, message: text() }, '"to"');
  });

  it.each([
    ["CR LF", `a.txt\r\nBcc: ${VICTIM}`],
    ["NUL", "a.txt\u0000.exe"],
    ["quotes and a parameter", 'a"; filename="evil.exe'],
  ])("an attachment filename with %s is encoded, and arrives as written in its one part", async (_, filename) => {
    const { state, sink } = await send({ to: TO, message: text({ attachments: [{ filename, content: "hi" }] }) });
    expect(state).toBe("SUCCESS");
    const [mail] = sink.messages;
    expectNoInjection(mail);
    expect(mail.raw.includes(0)).toBe(false);
    expect(mail.parsed.attachments.map((attachment) => attachment.filename)).toEqual([filename]);
    expect(mail.raw.toString("utf8").match(/^Content-Disposition:/gim)).toHaveLength(1);
  });
});
