/**
 * A download costs bounded memory, time and connections whatever the server
 * does: oversized bodies are cut off while reading (never buffered whole),
 * slow and stalled bodies hit a deadline, and a message cannot ask for more
 * than a few URL attachments. Real https servers on loopback play the hosts.
 */
import * as https from "node:https";
import type { SendMailOptions } from "nodemailer";
import { createAttachmentDownloader, type DownloadLimits } from "../../src/attachments/download-attachments";
import { filteringAgent } from "../../src/attachments/https-download";
import { DeliveryError } from "../../src/shared/errors";
import { caught } from "../helpers/caught";
import { endless, fakeDns, file, fileServerCertificate, stall, startFileServer, trickle, type FileServer } from "../helpers/https-file-server";

const PUBLIC = "127.0.0.2";
let server: FileServer;

beforeAll(async () => {
  server = await startFileServer(PUBLIC);
});
afterAll(() => server.close());

const url = (path: string) => `https://files.example.com:${server.port}${path}?X-Amz-Signature=abc123`;

function download(message: SendMailOptions, limits: Partial<DownloadLimits> = {}) {
  const lookup = fakeDns({ "files.example.com": [PUBLIC] });
  return createAttachmentDownloader({ lookup, ca: fileServerCertificate().cert, allowAddresses: [PUBLIC], limits })(message);
}

const one = (path: string, filename = "data.bin"): SendMailOptions => ({ attachments: [{ filename, path: url(path) }] });

describe("size", () => {
  it("a declared Content-Length over the limit is refused before the body is read", async () => {
    server.route("/big-declared", file(Buffer.alloc(200 * 1024, 0x61)));
    const error = await caught(DeliveryError, download(one("/big-declared"), { attachmentBytes: 64 * 1024 }));
    expect([error.code, error.transient]).toEqual(["invalid-document", false]);
    expect(error.message).toBe(
      'The attachment message.attachments[0] ("data.bin") could not be downloaded: it is larger than 65536 bytes. ' +
        "Give the attachment as content or a public https URL.",
    );
  });

  it("an undeclared endless body is cut off at the limit, not buffered", async () => {
    const total = 64 * 1024 * 1024;
    server.route("/endless", endless(total));
    const error = await caught(DeliveryError, download(one("/endless"), { attachmentBytes: 256 * 1024 }));
    expect(error.message).toContain("it is larger than 262144 bytes");
    // The server could only push what fits in the socket buffers after the client hung up.
    expect(server.bytesWritten()).toBeLessThan(8 * 1024 * 1024);
  });

  it("attachments together may not pass the per-message limit, inline content included", async () => {
    server.route("/40k", file(Buffer.alloc(40 * 1024, 0x62)));
    const message: SendMailOptions = {
      attachments: [
        { filename: "inline.txt", content: "x".repeat(10 * 1024) },
        { filename: "first.bin", path: url("/40k") },
        { filename: "second.bin", path: url("/40k") },
      ],
    };
    const error = await caught(DeliveryError, download(message, { mailBytes: 64 * 1024 }));
    expect(error.code).toBe("invalid-document");
    expect(error.message).toBe(
      'The attachment message.attachments[2] ("second.bin") takes the message\'s attachments over 0.0625 MB together. Send fewer or smaller attachments.',
    );
  });

  it("at most 10 URL attachments per message, refused before any connection", async () => {
    const before = server.connections();
    const message: SendMailOptions = { attachments: Array.from({ length: 11 }, (_, i) => ({ path: url(`/f${i}`) })) };
    const error = await caught(DeliveryError, download(message));
    expect(error.message).toBe("The message has 11 attachments given as URLs; at most 10 are downloaded.");
    expect(server.connections()).toBe(before);
  });
});

describe("time", () => {
  it("a body that trickles in is stopped at the download deadline, as a transient timeout", async () => {
    server.route("/trickle", trickle(50));
    const started = Date.now();
    const error = await caught(DeliveryError, download(one("/trickle"), { deadlineMs: 800, idleMs: 5_000 }));
    expect([error.code, error.transient]).toEqual(["timeout", true]);
    expect(error.message).toContain("the attachments were not all downloaded within 0.8 s");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a message's downloads get no more time than its attempt has left before the send must start", async () => {
    server.route("/trickle-short", trickle(50));
    const lookup = fakeDns({ "files.example.com": [PUBLIC] });
    const downloader = createAttachmentDownloader({ lookup, ca: fileServerCertificate().cert, allowAddresses: [PUBLIC], limits: { idleMs: 5_000 } });
    const started = Date.now();
    const error = await caught(DeliveryError, downloader(one("/trickle-short"), { deadlineMs: 600 }));
    expect([error.code, error.transient]).toEqual(["timeout", true]);
    expect(error.message).toContain("the attachments were not all downloaded within 0.6 s");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a server that goes silent is dropped after the idle time", async () => {
    server.route("/stall", stall);
    const error = await caught(DeliveryError, download(one("/stall"), { deadlineMs: 10_000, idleMs: 300 }));
    expect([error.code, error.transient]).toEqual(["timeout", true]);
    expect(error.message).toContain(`the server at files.example.com:${server.port} stopped sending for 0.3 s`);
  });
});

describe("answers", () => {
  it.each([
    [404, false, "invalid-document"],
    [403, false, "invalid-document"],
    [429, true, "unknown"],
    [503, true, "unknown"],
  ])("HTTP %i is %s transient, and the error names the attachment without the URL's path or query", async (status, transient, code) => {
    server.route(`/status-${status}`, (_request, response) => response.writeHead(status).end("no"));
    const error = await caught(DeliveryError, download(one(`/status-${status}`, "invoice.pdf")));
    expect([error.code, error.transient]).toEqual([code, transient]);
    expect(error.message).toContain(`The attachment message.attachments[0] ("invoice.pdf") could not be downloaded: the server at files.example.com:${server.port} answered HTTP ${status}.`);
    expect(error.message).not.toContain("X-Amz-Signature");
    expect(error.message).not.toContain("status-");
  });

  it("a certificate the downloader does not trust is a permanent TLS failure", async () => {
    const lookup = fakeDns({ "files.example.com": [PUBLIC] });
    const strict = createAttachmentDownloader({ lookup, allowAddresses: [PUBLIC] });
    const error = await caught(DeliveryError, strict(one("/anything")));
    expect([error.code, error.transient]).toEqual(["tls-failed", false]);
  });

  it("a download names a nameless attachment after the URL's last path segment, never its query", async () => {
    server.route("/reports/q3%20summary.pdf", file("%PDF-1.7"));
    const result = await download({ attachments: [{ path: url("/reports/q3%20summary.pdf") }, { path: "data:text/csv;base64,YSxiCg==" }] });
    expect(result.attachments).toEqual([
      { content: Buffer.from("%PDF-1.7"), filename: "q3 summary.pdf" },
      { content: Buffer.from("a,b\n"), contentType: "text/csv" },
    ]);
  });
});

describe("request-filtering-agent, the second check", () => {
  it("refuses a loopback answer on its own, without the extension's lookup", async () => {
    const agent = await filteringAgent({ ca: fileServerCertificate().cert, allowed: [] });
    const before = server.connections();
    const error = await new Promise<Error>((resolve) => {
      const request = https.get(`https://files.example.com:${server.port}/x`, {
        agent,
        lookup: (_host, _options, callback) => (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: PUBLIC, family: 4 }]),
      });
      request.on("error", resolve);
      request.on("response", () => resolve(new Error("connected")));
    });
    expect(error.message).toContain("is not allowed");
    expect(server.connections()).toBe(before);
  });
});
