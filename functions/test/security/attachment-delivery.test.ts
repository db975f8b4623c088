/**
 * Attachments through the whole pipeline: a mail document in the Firestore
 * emulator, processQueue, a real SMTP server (or the SendGrid stand-in), and
 * https file servers on loopback. An attack ends the document in ERROR with
 * nothing sent and the internal server untouched; authenticated downloads
 * (`httpHeaders`) and `raw` parts arrive as the recipient would read them;
 * header values never reach a log line or the document's delivery fields.
 */
import { createHash } from "node:crypto";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension, redirectProviders, useDownloadOptions } from "../helpers/extension-env";
import { fakeDns, file, fileServerCertificate, redirect, startFileServer, type FileServer } from "../helpers/https-file-server";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";
import { startSendGridApi } from "../helpers/sendgrid-api-server";

// The module itself, not a namespace copy, so that its functions can be spied on.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PUBLIC = "127.0.0.2";
const TOKEN = "Bearer tok-MARKER-77e1";

describeWithEmulator("attachments in delivered mail", () => {
  const h = mailHarness("demo-attachment-delivery");
  let files: FileServer;
  let internal: FileServer;
  let restore: () => void;
  let logLines: string[];

  beforeAll(async () => {
    files = await startFileServer(PUBLIC);
    internal = await startFileServer("127.0.0.1");
    internal.route("/computeMetadata/v1/token", file("INTERNAL-SECRET"));
    files.route("/private/report.pdf", (request, response) =>
      request.headers.authorization === TOKEN ? file("%PDF-1.7 quarterly")(request, response) : response.writeHead(401).end(),
    );
    files.route("/to-metadata", redirect(`https://metadata.example.com:${internal.port}/computeMetadata/v1/token`));
    const lookup = fakeDns({ "files.example.com": [PUBLIC], "metadata.example.com": ["169.254.169.254", "127.0.0.1"], "evil.example.com": ["127.0.0.1"] });
    restore = useDownloadOptions({ lookup, ca: fileServerCertificate().cert, allowAddresses: [PUBLIC] });
  });
  afterAll(async () => {
    restore();
    configureExtension({});
    await files.close();
    await internal.close();
  });
  beforeEach(() => {
    logLines = [];
    for (const level of ["debug", "info", "log", "warn", "error"] as const) {
      jest.spyOn(functionsLogger, level).mockImplementation((...args: unknown[]) => void logLines.push(JSON.stringify(args)));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  const url = (path: string, server = files) => `https://files.example.com:${server.port}${path}`;

  it("downloads an https attachment with httpHeaders and mails its content; the header value is never logged or stored", async () => {
    await h.useSink();
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      message: {
        subject: "Your report",
        text: "Attached.",
        attachments: [{ filename: "Q3.pdf", path: `${url("/private/report.pdf")}?sig=abc`, httpHeaders: { Authorization: TOKEN } }],
      },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString("utf8")])).toEqual([
      ["Q3.pdf", "application/pdf", "%PDF-1.7 quarterly"],
    ]);
    expect(JSON.stringify(snap.get("delivery"))).not.toContain("MARKER");
    expect(logLines.join("\n")).not.toContain("MARKER");
    expect(mail.raw.toString("utf8")).not.toContain("MARKER");
  });

  it("with ARCHIVE_SENT_MAIL, the archive keeps the downloaded bytes' hash, never the header value or the URL it was fetched from", async () => {
    await h.useSink({}, { ARCHIVE_SENT_MAIL: "true" });
    const path = h.nextPath();
    const snap = await h.trigger.create(path, {
      to: "ann@example.com",
      message: { subject: "Your report", text: "Attached.", attachments: [{ filename: "Q3.pdf", path: `${url("/private/report.pdf")}?sig=abc`, httpHeaders: { Authorization: TOKEN } }] },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const archive = await h.db.doc(snap.get("delivery.info.archive.path")).get();
    expect(archive.get("attachments")).toEqual([
      { filename: "Q3.pdf", contentType: "application/pdf", size: 18, sha256: createHash("sha256").update("%PDF-1.7 quarterly").digest("hex") },
    ]);
    const stored = JSON.stringify(archive.data());
    expect(stored).not.toContain("MARKER");
    expect(stored).not.toContain("sig=abc");
    expect(stored).not.toContain("files.example.com");
    expect(logLines.join("\n")).not.toContain("MARKER");
  });

  it("sends a raw attachment as the author built it", async () => {
    await h.useSink();
    const raw = [
      "Content-Type: text/calendar; charset=utf-8; method=REQUEST",
      'Content-Disposition: attachment; filename="invite.ics"',
      "",
      "BEGIN:VCALENDAR",
      "END:VCALENDAR",
    ].join("\r\n");
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      message: { subject: "Invite", text: "See the invite.", attachments: [{ raw }] },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const [mail] = await h.sink.waitForMessages(1);
    expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString("utf8").trim()])).toEqual([
      ["invite.ics", "text/calendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR"],
    ]);
  });

  it.each([
    ["a public name that resolves to loopback", () => `https://evil.example.com:${internal.port}/computeMetadata/v1/token?x=1`, "evil.example.com resolved to a non-public address"],
    ["a redirect to the metadata server's name", () => `${url("/to-metadata")}?x=1`, "metadata.example.com resolved to a non-public address"],
  ])("%s ends in ERROR naming the attachment, sends nothing and never reaches the internal server", async (_label, location, reason) => {
    await h.useSink();
    const before = internal.connections();
    const snap = await h.trigger.create(h.nextPath(), {
      to: "ann@example.com",
      message: { subject: "s", text: "t", attachments: [{ content: "fine" }, { filename: "token.txt", path: location() }] },
    });
    expect(snap.get("delivery.state")).toBe("ERROR");
    const error = snap.get("delivery.error") as string;
    expect(error).toContain('The attachment message.attachments[1] ("token.txt") could not be downloaded: ');
    expect(error).toContain(reason);
    expect(error).not.toContain("x=1");
    expect(error).not.toContain("computeMetadata");
    expect(h.sink.messages).toHaveLength(0);
    expect(internal.connections()).toBe(before);
  });

  it("a failed download with retries left goes back to PENDING, never stays in PROCESSING", async () => {
    files.route("/flaky", (_request, response) => response.writeHead(503).end());
    await h.useSink({}, { MAX_ATTEMPTS: "3" });
    const path = h.nextPath();
    const snap = await h.trigger.create(path, {
      to: "ann@example.com",
      message: { subject: "s", text: "t", attachments: [{ filename: "f.txt", path: url("/flaky") }] },
    });
    expect(snap.get("delivery.state")).toBe("PENDING");
    expect(snap.get("delivery.attempts")).toBe(1);
    expect(snap.get("delivery.error")).toContain("answered HTTP 503");
    expect(h.sink.messages).toHaveLength(0);
  });

  it("SendGrid receives the downloaded bytes, not a URL", async () => {
    const api = await startSendGridApi({ apiKey: "SG.test-key.attach" });
    const restoreEndpoints = redirectProviders({ sendGridApiUrl: api.url });
    try {
      configureExtension({ SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: "SG.test-key.attach", DEFAULT_FROM });
      const snap = await h.trigger.create(h.nextPath(), {
        to: "ann@example.com",
        message: { subject: "s", text: "t", attachments: [{ path: url("/private/report.pdf"), httpHeaders: { Authorization: TOKEN } }] },
      });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      expect(api.accepted[0].body.attachments).toEqual([
        { filename: "report.pdf", type: "application/pdf", disposition: "attachment", content: Buffer.from("%PDF-1.7 quarterly").toString("base64") },
      ]);
      expect(logLines.join("\n")).not.toContain("MARKER");
    } finally {
      restoreEndpoints();
      await api.close();
    }
  });
});
