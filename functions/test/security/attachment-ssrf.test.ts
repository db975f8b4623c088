/**
 * Attachment URLs must not reach internal hosts, by any route: a name that
 * resolves to an internal address, a literal address in any spelling, a
 * redirect, or a DNS answer that changes between two connections. Real https
 * servers on loopback play the public file host (127.0.0.2, exempted through
 * the test-only seam) and the internal service (127.0.0.1, which production
 * and these tests refuse). Every refusal is checked on the internal server
 * too: it must not even have seen a TCP connection.
 */
import type { SendMailOptions } from "nodemailer";
import { createAttachmentDownloader, type DownloadOptions } from "../../src/attachments/download-attachments";
import { DeliveryError } from "../../src/shared/errors";
import { caught } from "../helpers/caught";
import { fakeDns, file, fileServerCertificate, redirect, startFileServer, type FileServer } from "../helpers/https-file-server";

const PUBLIC = "127.0.0.2";
let publicServer: FileServer;
// The module itself, not a namespace copy, so that its functions can be spied on.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");
/** Warnings logged during the current test: where the refused address goes instead of delivery.error. */
const refusalLogs: string[] = [];
beforeEach(() => {
  refusalLogs.length = 0;
  jest.spyOn(functionsLogger, "warn").mockImplementation((...args: unknown[]) => void refusalLogs.push(JSON.stringify(args)));
});
afterEach(() => jest.restoreAllMocks());
let internal: FileServer;

beforeAll(async () => {
  publicServer = await startFileServer(PUBLIC);
  internal = await startFileServer("127.0.0.1");
  internal.route("/secret", file("INTERNAL-SECRET"));
});
afterAll(async () => {
  await publicServer.close();
  await internal.close();
});

function downloader(dns: Record<string, string[]>, options: DownloadOptions = {}) {
  const lookup = fakeDns({ "files.example.com": [PUBLIC], ...dns });
  return { lookup, download: createAttachmentDownloader({ lookup, ca: fileServerCertificate().cert, allowAddresses: [PUBLIC], ...options }) };
}

const message = (path: string, extra: Record<string, unknown> = {}): SendMailOptions => ({
  attachments: [{ filename: "report.txt", path, ...extra }],
});

async function refused(promise: Promise<unknown>): Promise<DeliveryError> {
  const connectionsBefore = internal.connections();
  const error = await caught(DeliveryError, promise);
  expect(error.code).toBe("invalid-document");
  expect(error.transient).toBe(false);
  expect(error.message).toMatch(/^The attachment message\.attachments\[0\] \("report\.txt"\) could not be downloaded: /);
  expect(internal.connections()).toBe(connectionsBefore);
  return error;
}

describe("a public host name that resolves to an internal address", () => {
  it.each([
    ["loopback", "127.0.0.1", "a loopback address"],
    ["private 10/8", "10.1.2.3", "a private address"],
    ["private 172.16/12", "172.16.5.4", "a private address"],
    ["private 192.168/16", "192.168.1.1", "a private address"],
    ["the metadata server (link-local)", "169.254.169.254", "a link-local address"],
    ["carrier-grade NAT", "100.64.0.1", "a carrier-grade NAT address"],
    ["multicast", "224.0.0.251", "a multicast address"],
    ["unspecified 0.0.0.0 (reaches this machine on Linux)", "0.0.0.0", "an unspecified address"],
    ["IPv6 loopback", "::1", "a loopback address"],
    ["IPv6 unspecified", "::", "an unspecified address"],
    ["IPv6 link-local", "fe80::1", "a link-local address"],
    ["unique-local (fd00::/8, cloud metadata over IPv6)", "fd00:ec2::254", "a unique-local address"],
    ["IPv4-mapped loopback", "::ffff:127.0.0.1", "an IPv4-mapped IPv6 address (127.0.0.1, a loopback address)"],
    ["IPv4-mapped metadata server", "::ffff:a9fe:a9fe", "an IPv4-mapped IPv6 address (169.254.169.254, a link-local"],
    ["NAT64 of the metadata server", "64:ff9b::a9fe:a9fe", "a NAT64 address"],
    ["6to4 of loopback", "2002:7f00:1::1", "a 6to4 address"],
    ["IPv4-compatible loopback (missed by ipaddr.js)", "::7f00:1", "an IPv6 address outside the global unicast range 2000::/3"],
  ])("is refused at connection time: %s", async (_label, address, reason) => {
    const { download, lookup } = downloader({ "evil.example.com": [address] });
    const error = await refused(download(message(`https://evil.example.com:${internal.port}/secret?token=abc`)));
    expect(error.message).toContain("evil.example.com resolved to a non-public address");
    expect(error.message).not.toContain(address);
    expect(refusalLogs.join("\n")).toContain(`${address}, ${reason}`);
    expect(error.message).not.toContain("token=abc");
    expect(error.message).not.toContain("/secret");
    expect(lookup.calls).toEqual(["evil.example.com"]);
  });

  it("is refused when any one of several answers is internal", async () => {
    const lookup = fakeDns({});
    const mixed: typeof lookup = Object.assign(
      ((_host, _options, callback) =>
        callback(null, [
          { address: PUBLIC, family: 4 },
          { address: "127.0.0.1", family: 4 },
        ])) as typeof lookup,
      { calls: [] },
    );
    const download = createAttachmentDownloader({ lookup: mixed, ca: fileServerCertificate().cert, allowAddresses: [PUBLIC] });
    await refused(download(message(`https://files.example.com:${internal.port}/secret`)));
  });
});

describe("literal addresses, in every spelling the URL parser accepts", () => {
  it.each([
    ["dotted", "127.0.0.1"],
    ["decimal", "2130706433"],
    ["hex", "0x7f000001"],
    ["octal", "0177.0.0.1"],
    ["short", "127.1"],
    ["IPv4-mapped IPv6", "[::ffff:127.0.0.1]"],
    ["IPv4-mapped IPv6 in hex", "[::ffff:7f00:1]"],
    ["unspecified", "0.0.0.0"],
  ])("%s (%s) is refused before connecting", async (_label, host) => {
    const { download, lookup } = downloader({});
    const error = await refused(download(message(`https://${host}:${internal.port}/secret`)));
    expect(error.message).toMatch(/the host .* is (a loopback|an unspecified|an IPv4-mapped)/);
    expect(lookup.calls).toEqual([]);
  });
});

describe("what a refusal tells the document's author", () => {
  it("never the private DNS answer: the error says a non-public address, the address goes to the server log", async () => {
    const { download } = downloader({ "db.corp.example.com": ["10.1.2.3"] });
    const error = await refused(download(message(`https://db.corp.example.com:${internal.port}/secret`)));
    expect(error.message).toContain("db.corp.example.com resolved to a non-public address; attachments are only downloaded from public addresses");
    expect(error.message).not.toContain("10.1.2.3");
    expect(error.message).not.toContain("private");
    expect(refusalLogs.join("\n")).toContain("10.1.2.3, a private address");
  });

  it("a literal address the author wrote is named, since it tells them nothing new", async () => {
    const { download } = downloader({});
    const error = await refused(download(message(`https://10.1.2.3:${internal.port}/secret`)));
    expect(error.message).toContain("the host 10.1.2.3 is a private address");
  });
});

describe("redirects", () => {
  it("a redirect to an internal name is checked like the first URL", async () => {
    publicServer.route("/to-internal", redirect(`https://internal.example.com:${internal.port}/secret`));
    const { download } = downloader({ "internal.example.com": ["127.0.0.1"] });
    const error = await refused(download(message(`https://files.example.com:${publicServer.port}/to-internal`)));
    expect(error.message).toContain("internal.example.com resolved to a non-public address");
  });

  it("a redirect to a literal internal address is refused", async () => {
    publicServer.route("/to-literal", redirect(`https://127.0.0.1:${internal.port}/secret`, 307));
    const { download } = downloader({});
    await refused(download(message(`https://files.example.com:${publicServer.port}/to-literal`)));
  });

  it("a redirect to http: is refused (https only, throughout)", async () => {
    publicServer.route("/to-http", redirect(`http://files.example.com:${publicServer.port}/plain`, 301));
    const { download } = downloader({});
    const error = await refused(download(message(`https://files.example.com:${publicServer.port}/to-http`)));
    expect(error.message).toContain("a redirect leads to a http: URL; only https: is downloaded");
  });

  it("at most 3 redirects are followed", async () => {
    for (let i = 0; i < 4; i++) publicServer.route(`/hop${i}`, redirect(`/hop${i + 1}`));
    publicServer.route("/hop4", file("far away"));
    const { download } = downloader({});
    const error = await refused(download(message(`https://files.example.com:${publicServer.port}/hop0`)));
    expect(error.message).toContain("more than 3 redirects");
    const followed = await download(message(`https://files.example.com:${publicServer.port}/hop1`));
    expect(String(followed.attachments?.[0].content)).toBe("far away");
  });

  it("a DNS answer that changes to an internal address on the next connection is refused", async () => {
    // Same host name, same port: only the address behind the name changes (DNS rebinding).
    publicServer.route("/rebind", redirect(`https://files.example.com:${publicServer.port}/secret`));
    const { download, lookup } = downloader({ "files.example.com": [PUBLIC, "127.0.0.1"] });
    const error = await refused(download(message(`https://files.example.com:${publicServer.port}/rebind`)));
    expect(error.message).toContain("files.example.com resolved to a non-public address");
    expect(lookup.calls).toEqual(["files.example.com", "files.example.com"]);
  });
});

describe("httpHeaders", () => {
  it("are sent to the URL's own origin, through same-origin redirects, and not after a redirect elsewhere", async () => {
    const other = await startFileServer(PUBLIC);
    try {
      other.route("/elsewhere", file("elsewhere"));
      publicServer.route("/private.pdf", file("%PDF-secret"));
      publicServer.route("/moved", redirect("/private.pdf"));
      publicServer.route("/away", redirect(`https://cdn.example.com:${other.port}/elsewhere`));
      const { download } = downloader({ "cdn.example.com": [PUBLIC] });
      const headers = { httpHeaders: { Authorization: "Bearer s3cret-token" } };
      const same = await download(message(`https://files.example.com:${publicServer.port}/moved`, headers));
      await download(message(`https://files.example.com:${publicServer.port}/away`, headers));
      expect(String(same.attachments?.[0].content)).toBe("%PDF-secret");
      const sent = publicServer.requests.filter((request) => ["/moved", "/private.pdf"].includes(request.path));
      expect(sent.map((request) => request.headers.authorization)).toEqual(["Bearer s3cret-token", "Bearer s3cret-token"]);
      expect(other.requests.map((request) => request.headers.authorization)).toEqual([undefined]);
    } finally {
      await other.close();
    }
  });
});
