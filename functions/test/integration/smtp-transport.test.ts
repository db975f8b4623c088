/**
 * The SMTP transport against a real SMTP server (smtp-server, in process):
 * what a delivery returns, how each failure is classified, the deadline, TLS,
 * and that local files are never read. No Firestore here.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SendMailOptions } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { ConfigError, DeliveryError } from "../../src/shared/errors";
import type { MailTransport } from "../../src/providers/provider";
import { OUTCOME_UNKNOWN_NOTE } from "../../src/providers/shared/unknown-outcome";
import { createSmtpTransport } from "../../src/providers/smtp/smtp-transport";
import { selfSignedCertificate, startSmtpSink, type SmtpSink, type SmtpSinkOptions } from "../helpers/smtp-sink";
import { caught } from "../helpers/caught";
import { stalledBody } from "../helpers/stalled-body";

const FROM = "sender@example.com";

const sinks: SmtpSink[] = [];
const transports: MailTransport[] = [];

async function sink(options?: SmtpSinkOptions): Promise<SmtpSink> {
  const started = await startSmtpSink(options);
  sinks.push(started);
  return started;
}

function transport(target: { port: number }, options: SMTPTransport.Options | SMTPPool.Options = {}, deadlineMs?: number): MailTransport {
  const created = createSmtpTransport({ host: "127.0.0.1", port: target.port, ...options }, deadlineMs);
  transports.push(created);
  return created;
}

function mail(overrides: SendMailOptions = {}): SendMailOptions {
  return { from: FROM, to: "to@example.com", subject: "Hello", text: "Hello there", ...overrides };
}

afterEach(async () => {
  for (const created of transports.splice(0)) created.close();
  await Promise.all(sinks.splice(0).map((started) => started.close()));
});

describe("a delivered message", () => {
  it("reaches every recipient, with Cc in the headers and Bcc only on the envelope", async () => {
    const server = await sink();
    const info = await transport(server).send(
      mail({ to: "to@example.com", cc: "cc@example.com", bcc: "bcc@example.com", subject: "Envelope check" }),
    );

    const [received] = await server.waitForMessages(1);
    expect(received.envelope.mailFrom).toBe(FROM);
    expect(received.envelope.rcptTo).toEqual(["to@example.com", "cc@example.com", "bcc@example.com"]);
    expect(received.parsed.subject).toBe("Envelope check");
    expect(received.parsed.text?.trim()).toBe("Hello there");
    expect(received.parsed.headers.get("cc")).toMatchObject({ text: "cc@example.com" });
    expect(received.parsed.headers.has("bcc")).toBe(false);
    expect(received.raw.toString()).not.toContain("bcc@example.com");

    expect(info).toEqual({
      messageId: received.parsed.messageId,
      accepted: ["to@example.com", "cc@example.com", "bcc@example.com"],
      rejected: [],
      pending: [],
      response: expect.stringMatching(/^250 /),
    });
  });

  it("resolves when one of two recipients is refused, listing it in rejected", async () => {
    const server = await sink({ rejectRecipients: { "bad@example.com": 550 } });
    const info = await transport(server).send(mail({ to: ["good@example.com", "bad@example.com"] }));

    expect(info.accepted).toEqual(["good@example.com"]);
    expect(info.rejected).toEqual(["bad@example.com"]);
    const [received] = await server.waitForMessages(1);
    expect(received.envelope.rcptTo).toEqual(["good@example.com"]);
  });
});

describe("a refused message", () => {
  it("fails with recipients-rejected and the 550 reply when every recipient is refused", async () => {
    const server = await sink({ rejectRecipients: { "a@example.com": 550, "b@example.com": 550 } });
    const error = await caught(DeliveryError, transport(server).send(mail({ to: ["a@example.com", "b@example.com"] })));

    expect(error).toMatchObject({ code: "recipients-rejected", transient: false, responseCode: 550 });
    expect(error.message).toContain("(550): 550 5.1.1 Recipient rejected");
    expect(server.messages).toHaveLength(0);
  });

  it("is transient when every recipient is deferred with 451", async () => {
    const server = await sink({ rejectRecipients: { "a@example.com": 451 } });
    const error = await caught(DeliveryError, transport(server).send(mail({ to: "a@example.com" })));

    expect(error).toMatchObject({ code: "recipients-rejected", transient: true, responseCode: 451 });
  });

  it.each([
    [554, false],
    [451, true],
  ] as const)("fails with message-rejected when the server answers %i after DATA", async (code, transient) => {
    const server = await sink({ rejectData: code });
    const error = await caught(DeliveryError, transport(server).send(mail()));

    expect(error).toMatchObject({ code: "message-rejected", transient, responseCode: code });
    expect(error.message).toContain(`(${code}): ${code} `);
  });
});

describe("authentication", () => {
  const user = "me@example.com";
  const pass = "p#ss@w%rd 50%";

  it("hands the server a password with #, @ and % exactly as given", async () => {
    const server = await sink({ auth: { user, password: pass } });
    await transport(server, { auth: { user, pass } }).send(mail());

    expect(server.authAttempts).toEqual([{ username: user, password: pass }]);
    await server.waitForMessages(1);
  });

  it("fails with auth-failed, without the password, when the server refuses it", async () => {
    const server = await sink({ auth: { user, password: pass } });
    const wrong = "wr0ng#Secret@42";
    const error = await caught(DeliveryError, transport(server, { auth: { user, pass: wrong } }).send(mail()));

    expect(error).toMatchObject({ code: "auth-failed", transient: false, responseCode: 535 });
    expect(error.message).toContain("(535): 535 5.7.8");
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(encodeURIComponent(wrong));
    expect(error.message).not.toContain(Buffer.from(`\0${user}\0${wrong}`).toString("base64"));
    expect(server.messages).toHaveLength(0);
  });
});

describe("unreachable and unresponsive servers", () => {
  it("fails with a transient connection-failed on a closed port", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const error = await caught(DeliveryError, transport({ port: closedPort }).send(mail()));

    expect(error).toMatchObject({ code: "connection-failed", transient: true });
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("gives up on a server that never greets at the deadline, and closes the connection", async () => {
    const server = await sink({ hang: true });
    const started = Date.now();
    const error = await caught(DeliveryError, transport(server, {}, 300).send(mail()));

    expect(error).toMatchObject({ code: "timeout", transient: true });
    expect(Date.now() - started).toBeLessThan(2000);
    // The deadline must not leave the stalled socket open behind it.
    await server.waitForIdle();
  });

  it("a send given a shorter deadline of its own (what its lease has left) gives up at that deadline", async () => {
    const server = await sink({ hang: true });
    const started = Date.now();
    const error = await caught(DeliveryError, transport(server).send(mail(), undefined, { deadlineMs: 300 }));

    expect(error).toMatchObject({ code: "timeout", transient: true });
    expect(error.message).toContain("within 300 ms");
    expect(Date.now() - started).toBeLessThan(2000);
    await server.waitForIdle();
  });

  it("reports nodemailer's own greeting timeout as timeout", async () => {
    const server = await sink({ hang: true });
    const error = await caught(DeliveryError, transport(server, { greetingTimeout: 200 }).send(mail()));

    expect(error).toMatchObject({ code: "timeout", transient: true });
    expect(error.message).toContain("GREETING_TIMEOUT");
  });

  it("sends normally after a send that hit the deadline", async () => {
    const server = await sink({ hang: 1 });
    const sender = transport(server, {}, 300);

    expect(await caught(DeliveryError, sender.send(mail()))).toMatchObject({ code: "timeout" });
    await expect(sender.send(mail())).resolves.toMatchObject({ accepted: ["to@example.com"] });
    await server.waitForMessages(1);
  });

  it("fails with a transient connection-failed when the connection drops mid-DATA, before the message's end was written", async () => {
    const server = await sink({ dropMidData: true });
    const error = await caught(DeliveryError, transport(server).send(mail({ text: stalledBody() })));

    expect(error).toMatchObject({ code: "connection-failed", transient: true });
    expect(server.messages).toHaveLength(0);
  });
});

/**
 * Once the final dot of DATA is written, the server may have kept the
 * message: silence or a closed connection after that must never lead to a
 * second copy, while any failure before it, or a reply to the dot, is
 * classified as before.
 */
describe.each([
  ["one connection per send", {}],
  ["pooled connections", { pool: true }],
] as const)("a message handed over without an answer (%s)", (_name, pooling) => {
  it("is outcome-unknown, not transient, when the server takes the whole message and never answers", async () => {
    const server = await sink({ silentAfterData: true });
    const error = await caught(DeliveryError, transport(server, { ...pooling, socketTimeout: 300 }).send(mail({ subject: "Silent" })));

    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(error.message).toContain(OUTCOME_UNKNOWN_NOTE);
    expect(error.message).toContain("did not answer within 300 ms");
    const received = await server.waitForMessages(1);
    expect(received.map((message) => message.parsed.subject)).toEqual(["Silent"]);
  });

  it("is outcome-unknown when the send's own deadline ends the wait for the answer", async () => {
    const server = await sink({ silentAfterData: true });
    const error = await caught(DeliveryError, transport(server, pooling, 2000).send(mail(), undefined, { deadlineMs: 1000 }));

    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(error.message).toContain("did not answer within 1 s");
    expect(server.messages).toHaveLength(1);
    await server.waitForIdle();
  });

  it("is outcome-unknown when the server closes the connection after taking the whole message", async () => {
    const server = await sink({ dropAfterData: true });
    const error = await caught(DeliveryError, transport(server, pooling).send(mail()));

    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(error.message).toContain("the connection ended before it answered");
    expect(server.messages).toHaveLength(1);
  });

  it("stays a transient connection-failed when the connection drops before DATA", async () => {
    const server = await sink({ dropAtRecipient: "to@example.com" });
    const error = await caught(DeliveryError, transport(server, pooling).send(mail()));

    expect(error).toMatchObject({ code: "connection-failed", transient: true });
    expect(server.messages).toHaveLength(0);
  });

  it("stays a transient message-rejected, with the reply, when the server answers the dot with 451", async () => {
    const server = await sink({ rejectData: 451 });
    const error = await caught(DeliveryError, transport(server, pooling).send(mail()));

    expect(error).toMatchObject({ code: "message-rejected", transient: true, responseCode: 451 });
    expect(error.message).toContain("(451): 451 4.3.0 Try again later");
  });
});

it("tells each message's handover apart on a pooled transport: one awaiting its answer does not make another's early failure unknown", async () => {
  const server = await sink({ silentAfterData: true, dropAtRecipient: "dropped@example.com" });
  const sender = transport(server, { pool: true, maxConnections: 2, socketTimeout: 1500 });

  const waiting = caught(DeliveryError, sender.send(mail({ subject: "Handed over" })));
  await server.waitForMessages(1);
  const early = await caught(DeliveryError, sender.send(mail({ to: "dropped@example.com" })));

  expect(early).toMatchObject({ code: "connection-failed", transient: true });
  expect(await waiting).toMatchObject({ code: "outcome-unknown", transient: false });
  expect(server.messages).toHaveLength(1);
});

describe.each([
  ["STARTTLS", "starttls", false],
  ["implicit TLS", "implicit", true],
] as const)("%s with a self-signed certificate", (_name, mode, secure) => {
  it("fails with tls-failed while the certificate is verified", async () => {
    const server = await sink({ tls: mode });
    const error = await caught(DeliveryError, transport(server, { secure }).send(mail()));

    expect(error).toMatchObject({ code: "tls-failed", transient: false });
    expect(error.message).toContain("DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(server.messages).toHaveLength(0);
  });

  it("delivers over TLS with tls.rejectUnauthorized false", async () => {
    const server = await sink({ tls: mode });
    await transport(server, { secure, tls: { rejectUnauthorized: false } }).send(mail());

    const [received] = await server.waitForMessages(1);
    expect(received.secure).toBe(true);
  });

  it("delivers over TLS when the certificate is trusted as a CA", async () => {
    const server = await sink({ tls: mode });
    await transport(server, { secure, tls: { ca: selfSignedCertificate().cert } }).send(mail());

    const [received] = await server.waitForMessages(1);
    expect(received.secure).toBe(true);
  });
});

it("fails with tls-failed when TLS is spoken to a plain-text port", async () => {
  const server = await sink();
  const error = await caught(DeliveryError, transport(server, { secure: true }).send(mail()));

  expect(error).toMatchObject({ code: "tls-failed", transient: false });
  expect(error.message).toContain("smtps://");
});

describe("local files", () => {
  let dir: string;
  let secretPath: string;
  let secret: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "smtp-transport-test-"));
    secretPath = join(dir, "secret.txt");
    secret = `local-secret-${randomBytes(8).toString("hex")}`;
    writeFileSync(secretPath, secret);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The file's content, in the forms it could take inside a message. */
  function traces(content: string): string[] {
    return [content, Buffer.from(content).toString("base64").slice(0, 16)].filter((trace) => trace.length >= 8);
  }

  it.each([
    ["/etc/hostname", (): SendMailOptions => mail({ attachments: [{ filename: "host.txt", path: "/etc/hostname" }] })],
    ["a file attachment", (): SendMailOptions => mail({ attachments: [{ filename: "s.txt", path: secretPath }] })],
    ["a file: URL attachment", (): SendMailOptions => mail({ attachments: [{ path: `file://${secretPath}` }] })],
    ["html read from a file", (): SendMailOptions => mail({ html: { path: secretPath } })],
    ["a message that asks for file access", (): SendMailOptions => ({ ...mail({ attachments: [{ path: secretPath }] }), disableFileAccess: false })],
  ])("never reads %s", async (_name, build) => {
    const server = await sink();
    const error = await caught(DeliveryError, transport(server).send(build()));

    expect(error).toMatchObject({ code: "invalid-document", transient: false });
    expect(server.messages).toHaveLength(0);
    const everything = server.messages.map((received) => received.raw.toString()).join("\n") + error.message;
    for (const trace of [...traces(secret), ...traces(readFileSync("/etc/hostname", "utf8").trim())]) {
      expect(everything).not.toContain(trace);
    }
  });

  it("cannot be switched back on by the transport options", async () => {
    const server = await sink();
    const options = { disableFileAccess: false } as SMTPTransport.Options;
    const error = await caught(DeliveryError, transport(server, options).send(mail({ attachments: [{ path: secretPath }] })));

    expect(error.code).toBe("invalid-document");
    expect(server.messages).toHaveLength(0);
  });
});

describe("createSmtpTransport", () => {
  it("refuses a url option, whose query could override its safety settings", () => {
    expect(() => createSmtpTransport({ url: "smtp://127.0.0.1:25/?disableFileAccess=false" })).toThrow(ConfigError);
  });
});
