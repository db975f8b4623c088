/** One attachment URL: https only, every hop's address checked, a few redirects, and a byte limit enforced while reading. */
import * as https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { ErrorCode } from "../shared/errors";
import * as logs from "../shared/logs";
import { isTlsFailureCode } from "../shared/network-codes";
import { BodyTooLargeError, IncompleteBodyError, readBody } from "../shared/read-body";
import { addressRefusal, AddressRefusedError } from "./address-policy";

/** How connections are made (download-attachments.ts); `allowed` is for tests, `deadlineMs` what the caller's signal stands for. */
export interface Connector {
  agent: https.Agent;
  lookup: LookupFunction;
  allowed: readonly string[];
  idleMs: number;
  redirects: number;
  deadlineMs: number;
}

/** Why a download failed, in words for `delivery.error`; never the URL's path or query. */
export class DownloadFailure extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = "DownloadFailure";
  }
}

export class TooLargeFailure extends DownloadFailure {
  constructor(maxBytes: number) {
    const size = maxBytes >= 1024 * 1024 ? `${Math.round((maxBytes / 1024 / 1024) * 10) / 10} MB` : `${maxBytes} bytes`;
    super(`it is larger than ${size}`, "invalid-document", false);
    this.name = "TooLargeFailure";
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * An agent that applies request-filtering-agent's address check to every
 * connection it makes. The policy's own checks ride on the lookup passed
 * with each request; this one sits in the agent itself, so it still holds
 * for a connection made without that lookup.
 */
export async function filteringAgent(options: { ca?: string | Buffer; allowed: readonly string[] }): Promise<https.Agent> {
  // Loaded on first use: most mails have no URL attachment, and the package is an ES module.
  const { RequestFilteringHttpsAgent } = await import("request-filtering-agent");
  return new RequestFilteringHttpsAgent({ keepAlive: false, ...(options.ca === undefined ? {} : { ca: options.ca }), allowIPAddressList: [...options.allowed] });
}

/** @throws DownloadFailure */
export async function downloadUrl(location: string, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, connector: Connector): Promise<Buffer> {
  let url = parseHttps(location, "the URL");
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    // A literal address skips DNS, and so the checked lookup. The URL parser has already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1.
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const reason = isIP(host) === 0 ? undefined : addressRefusal(host, connector.allowed);
    if (reason) throw refused(new AddressRefusedError(host, host, reason));
    // Headers such as Authorization are meant for the URL's own server, not for wherever it redirects to.
    const response = await fetchOnce(url, url.origin === origin ? headers : {}, maxBytes, signal, connector);
    if ("body" in response) return response.body;
    if (hop >= connector.redirects) {
      throw new DownloadFailure(`more than ${connector.redirects} redirects`, "invalid-document", false);
    }
    url = parseHttps(new URL(response.redirect, url).href, "a redirect");
  }
}

function parseHttps(location: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new DownloadFailure(`${what} is not a valid URL`, "invalid-document", false);
  }
  if (url.protocol !== "https:") {
    throw new DownloadFailure(`${what} leads to a ${url.protocol} URL; only https: is downloaded`, "invalid-document", false);
  }
  return url;
}

/**
 * A literal address is named with its class: the author wrote it. A DNS
 * answer is not: the error reaches clients, and private answers would map
 * the network behind the function; it goes to the server log instead.
 */
function refused(error: AddressRefusedError): DownloadFailure {
  if (error.host !== error.address) logs.attachmentAddressRefused(error.host, error.address, error.reason);
  const what = error.host === error.address ? `the host ${error.address} is ${error.reason}` : `${error.host} resolved to a non-public address`;
  return new DownloadFailure(`${what}; attachments are only downloaded from public addresses`, "invalid-document", false);
}

function fetchOnce(url: URL, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, connector: Connector): Promise<{ body: Buffer } | { redirect: string }> {
  return new Promise((resolve, reject) => {
    const { agent, lookup, idleMs } = connector;
    const request = https.get(url, { agent, lookup, headers: { "user-agent": "firestore-send-email", ...headers }, signal, timeout: idleMs });
    const fail = (error: unknown) => {
      request.destroy();
      reject(downloadFailure(error, url, signal, connector.deadlineMs));
    };
    const midBody = () => new DownloadFailure(`the server at ${url.host} closed the connection mid-body`, "connection-failed", true);
    request.on("timeout", () => fail(new DownloadFailure(`the server at ${url.host} stopped sending for ${connector.idleMs / 1000} s`, "timeout", true)));
    request.on("error", fail);
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location) {
        response.destroy();
        request.destroy();
        return resolve({ redirect: location });
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        // 408 and 429 ask the client to come back later; other 4xx will not change by themselves.
        const transient = status >= 500 || status === 408 || status === 429;
        return fail(new DownloadFailure(`the server at ${url.host} answered HTTP ${status}`, transient ? "unknown" : "invalid-document", transient));
      }
      readBody(response, maxBytes).then(
        (body) => resolve({ body }),
        (error: unknown) => fail(error instanceof BodyTooLargeError ? new TooLargeFailure(maxBytes) : error instanceof IncompleteBodyError ? midBody() : error),
      );
    });
  });
}

function downloadFailure(error: unknown, url: URL, signal: AbortSignal, deadlineMs: number): DownloadFailure {
  if (error instanceof DownloadFailure) return error;
  if (error instanceof AddressRefusedError) return refused(error);
  if (signal.aborted) {
    return new DownloadFailure(`the attachments were not all downloaded within ${deadlineMs / 1000} s`, "timeout", true);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") {
    // Only request-filtering-agent fails a connection with an Error without a code: its own address check.
    return new DownloadFailure(`the connection to ${url.host} was refused by the address policy`, "invalid-document", false);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new DownloadFailure(`the host ${url.hostname} could not be resolved (${code})`, "connection-failed", true);
  }
  if (isTlsFailureCode(code)) {
    return new DownloadFailure(`the TLS certificate of ${url.host} was not accepted (${code})`, "tls-failed", false);
  }
  return new DownloadFailure(`the server at ${url.host} could not be reached (${code})`, "connection-failed", true);
}
