/**
 * Configurations and documents the original extension accepted, end to end:
 * processQueue against the Firestore emulator, mail received by a real SMTP
 * server. Unit tests (original-params.test.ts) cover the whole table of
 * accepted param values; these check what a user would see for the ones
 * that change what is sent.
 */
import * as net from "node:net";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";
import type { SmtpSink } from "../helpers/smtp-sink";

// The module object itself, whose functions can be spied on (an ES import gives a frozen namespace).
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-original-compatibility";
const ACME = '"ACME <Support>" <help@acme.test>';
const JOHN = '"john doe"@example.com';

/** The header lines of a received message, unfolded, by lower-case name. */
function headerLine(raw: Buffer, name: string): string | undefined {
  const head = raw.toString("utf8").split("\r\n\r\n")[0].replace(/\r\n[ \t]+/g, " ");
  return head.split("\r\n").find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
}

describeWithEmulator("configurations the original accepted", () => {
  const h = mailHarness(PROJECT);
  const mail = (extra: Record<string, unknown> = {}) =>
    h.trigger.create(h.nextPath(), { to: "reader@example.com", message: { subject: "Hi", text: "Hello" }, ...extra });

  afterEach(() => jest.restoreAllMocks());

  test("DATABASE_REGION nam7 with a DEFAULT_FROM whose quoted display name holds angle brackets: sent with that exact From", async () => {
    await h.useSink({}, { DATABASE_REGION: "nam7", DEFAULT_FROM: ACME });

    const snap = await mail();

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const [received] = await h.sink.waitForMessages(1);
    expect(headerLine(received.raw, "From")).toBe(`From: ${ACME}`);
    expect(received.parsed.from?.value).toEqual([{ address: "help@acme.test", name: "ACME <Support>" }]);
    expect(received.envelope.mailFrom).toBe("help@acme.test");
  });

  test("a document's from with a quoted display name and a replyTo with a quoted local part arrive as written", async () => {
    await h.useSink();

    const snap = await mail({ from: ACME, replyTo: JOHN });

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const [received] = await h.sink.waitForMessages(1);
    expect(headerLine(received.raw, "From")).toBe(`From: ${ACME}`);
    // nodemailer writes a bare address with a quoted local part in angle brackets: the same address.
    expect(headerLine(received.raw, "Reply-To")).toBe(`Reply-To: <${JOHN}>`);
    expect(received.parsed.replyTo?.value).toEqual([{ address: JOHN, name: "" }]);
  });

  test("DEFAULT_REPLY_TO with a quoted local part is used for a document without replyTo", async () => {
    await h.useSink({}, { DEFAULT_REPLY_TO: JOHN });
    expect((await mail()).get("delivery.state")).toBe("SUCCESS");
    const [received] = await h.sink.waitForMessages(1);
    expect(headerLine(received.raw, "Reply-To")).toBe(`Reply-To: <${JOHN}>`);
  });

  test("DEFAULT_FROM with a quoted local part: the client sends it in MAIL FROM and as the From address", async () => {
    const sink = await h.useSink();
    // smtp-server splits MAIL FROM on spaces, so it cannot read a quoted local
    // part with a space (RFC 5321 allows it, and real servers take it). This
    // relay records what the client sent, then hands the server a spaceless
    // stand-in for the envelope only; the message passes through untouched.
    const relay = await startEnvelopeRelay(sink, JOHN, '"john.doe"@example.com');
    try {
      configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${relay.port}`, DEFAULT_FROM: JOHN });

      const snap = await mail();

      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(relay.mailFromCommands).toEqual([`MAIL FROM:<${JOHN}>`]);
      const [received] = await sink.waitForMessages(1);
      expect(headerLine(received.raw, "From")).toBe(`From: <${JOHN}>`);
      expect(received.parsed.from?.value).toEqual([{ address: JOHN, name: "" }]);
    } finally {
      await relay.close();
    }
  });

  test("SMTP_PASSWORD is used literally: %41 reaches the server as %41", async () => {
    const sink = await h.useSink({ auth: { user: "user", password: "p%41ss" } });
    configureExtension({ SMTP_CONNECTION_URI: `smtp://user@127.0.0.1:${sink.port}`, SMTP_PASSWORD: "p%41ss", DEFAULT_FROM });

    expect((await mail()).get("delivery.state")).toBe("SUCCESS");
    expect(sink.authAttempts).toEqual([{ username: "user", password: "p%41ss" }]);
    await sink.waitForMessages(1);
  });

  test("a password inside the URI keeps URI semantics: %41 is A", async () => {
    const sink = await h.useSink({ auth: { user: "user", password: "pAss" } });
    configureExtension({ SMTP_CONNECTION_URI: `smtp://user:p%41ss@127.0.0.1:${sink.port}`, DEFAULT_FROM });

    expect((await mail()).get("delivery.state")).toBe("SUCCESS");
    expect(sink.authAttempts).toEqual([{ username: "user", password: "pAss" }]);
  });

  test("an unknown URI option after a trailing slash is logged once by name and ignored; every mail is sent", async () => {
    const warn = jest.spyOn(functionsLogger, "warn");
    const sink = await h.useSink();
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}/?foo=s3cr3t-value&pool=false`, DEFAULT_FROM });

    const states = [(await mail()).get("delivery.state"), (await mail()).get("delivery.state")];

    expect(states).toEqual(["SUCCESS", "SUCCESS"]);
    await sink.waitForMessages(2);
    const ignored = warn.mock.calls.filter(([message]) => message === "SMTP_CONNECTION_URI options were ignored");
    expect(ignored).toEqual([["SMTP_CONNECTION_URI options were ignored", { event: "uri-options-ignored", code: "ignored-uri-options", options: ["foo"] }]]);
    expect(JSON.stringify(warn.mock.calls)).not.toContain("s3cr3t-value");
  });
});

describeWithEmulator("templates named as in the original", () => {
  const h = mailHarness(PROJECT);
  const send = (template: Record<string, unknown>) =>
    h.trigger.create(h.nextPath(), { to: "reader@example.com", template });

  beforeEach(async () => {
    await h.useSink({}, { TEMPLATES_COLLECTION: "templates" });
  });

  test("a template and a partial found by their name fields, the partial marked with a truthy non-boolean", async () => {
    await h.db.doc("templates/Xk3ZpQ").set({ name: "welcome", subject: "Welcome, {{who}}", text: "Hello {{who}}\n{{> signature}}" });
    await h.db.doc("templates/p9").set({ name: "signature", partial: 1, text: "-- The {{team}} team" });

    const snap = await send({ name: "welcome", data: { who: "Ann", team: "ACME" } });

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const [received] = await h.sink.waitForMessages(1);
    expect(received.parsed.subject).toBe("Welcome, Ann");
    expect(received.parsed.text?.trim()).toBe("Hello Ann\n-- The ACME team");
  });

  test("a name field with a slash works; a document named otherwise is not found by its id", async () => {
    await h.db.doc("templates/t1").set({ name: "emails/receipt", subject: "Receipt" });
    await h.db.doc("templates/old-id").set({ name: "renamed", subject: "Renamed" });

    const [found, byOldId] = [await send({ name: "emails/receipt" }), await send({ name: "old-id" })];

    expect(found.get("delivery.state")).toBe("SUCCESS");
    expect((await h.sink.waitForMessages(1))[0].parsed.subject).toBe("Receipt");
    expect(byOldId.get("delivery.state")).toBe("ERROR");
    expect(byOldId.get("delivery.error")).toBe("Tried to render non-existent template 'old-id'");
  });

  test("a document without a name field is still found by its id", async () => {
    await h.db.doc("templates/plain").set({ subject: "Plain {{n}}" });
    expect((await send({ name: "plain", data: { n: 1 } })).get("delivery.state")).toBe("SUCCESS");
    expect((await h.sink.waitForMessages(1))[0].parsed.subject).toBe("Plain 1");
  });
});

interface EnvelopeRelay {
  port: number;
  /** Every MAIL FROM command the client sent, as sent. */
  mailFromCommands: string[];
  close(): Promise<void>;
}

/** A TCP relay to `sink` that records MAIL FROM commands and swaps `from` for `standIn` in them only. */
async function startEnvelopeRelay(sink: SmtpSink, from: string, standIn: string): Promise<EnvelopeRelay> {
  const mailFromCommands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(sink.port, sink.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    upstream.pipe(client);
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      // nodemailer writes each command on its own; message data never starts with MAIL FROM.
      if (!text.startsWith("MAIL FROM:")) return void upstream.write(chunk);
      mailFromCommands.push(text.split("\r\n")[0].replace(/ (SIZE|BODY|SMTPUTF8)[^ ]*/g, ""));
      upstream.write(text.split(`<${from}>`).join(`<${standIn}>`));
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    mailFromCommands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
