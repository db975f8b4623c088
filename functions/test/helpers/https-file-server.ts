/**
 * In-process https servers on loopback for attachment download tests: one
 * stands in for a public file host, another for an internal service that a
 * download must never reach. Each records every TCP connection and request,
 * so a test can assert that a refused download never even connected.
 *
 * The certificate (made once per process with openssl) names *.example.com,
 * example.com, 127.0.0.1 and 127.0.0.2; tests pass it as the downloader's CA.
 * `fakeDns` resolves test host names to loopback addresses, answer by answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { LookupAddress } from "node:dns";
import type { Socket } from "node:net";
import type { Lookup } from "../../src/attachments/address-policy";
import { makeCertificate } from "./self-signed-certificate";

export function fileServerCertificate(): { key: string; cert: string } {
  return makeCertificate(
    "files.example.com",
    ["DNS:*.example.com", "DNS:example.com", "IP:127.0.0.1", "IP:127.0.0.2"],
    true,
  );
}

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage["headers"];
}

export interface FileServer {
  host: string;
  port: number;
  /** Requests received, in order. */
  requests: RecordedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  connections(): number;
  /** Bytes the routes have written to response bodies. */
  bytesWritten(): number;
  /** Serves `route` at `path` (exact match, query ignored). Unknown paths get 404. */
  route(path: string, route: Route): void;
  close(): Promise<void>;
}

/** Starts an https server on `host` (a loopback address) and a free port. */
export async function startFileServer(host = "127.0.0.1"): Promise<FileServer> {
  const routes = new Map<string, Route>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let written = 0;
  const server = https.createServer(fileServerCertificate(), (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    requests.push({ path, headers: request.headers });
    const write = response.write.bind(response) as (chunk: unknown, ...rest: unknown[]) => boolean;
    response.write = ((chunk: unknown, ...rest: unknown[]) => {
      written += typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
      return write(chunk, ...rest);
    }) as typeof response.write;
    const route = routes.get(path);
    if (route) route(request, response);
    else response.writeHead(404).end("not found");
  });
  server.on("connection", (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // A client that gives up mid-handshake is expected here, not a test failure.
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return {
    host,
    port,
    requests,
    connections: () => connections,
    bytesWritten: () => written,
    route: (path, route) => routes.set(path, route),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A body served whole, with Content-Length. */
export const file =
  (body: string | Buffer, headers: Record<string, string> = {}): Route =>
  (_request, response) => {
    response.writeHead(200, { "content-length": Buffer.byteLength(body), ...headers });
    response.end(body);
  };

export const redirect =
  (location: string, status = 302): Route =>
  (_request, response) => {
    response.writeHead(status, { location }).end();
  };

/**
 * A body of `total` bytes streamed in 16 KB chunks without Content-Length,
 * as fast as the client reads; stops when the client goes away.
 */
export const endless =
  (total: number): Route =>
  (_request, response) => {
    response.writeHead(200, { "content-type": "application/octet-stream" });
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !response.destroyed) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once("drain", pump);
      }
      if (!response.destroyed) response.end();
    };
    response.on("close", () => (sent = total));
    pump();
  };

/** Headers at once, then one byte every `intervalMs`, never finishing within a test. */
export const trickle =
  (intervalMs: number): Route =>
  (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    const timer = setInterval(() => response.write("."), intervalMs);
    response.on("close", () => clearInterval(timer));
  };

/** Headers, then silence. */
export const stall: Route = (_request, response) => {
  response.writeHead(200, { "content-type": "text/plain" });
  response.flushHeaders();
};

/**
 * A resolver for the downloader's `lookup` seam: each name answers with its
 * list of addresses in turn (the last one repeats), so a test can make a name
 * resolve publicly first and to an internal address next. Unknown names fail
 * with ENOTFOUND, as a real resolver would. `calls` records each lookup.
 */
export function fakeDns(answers: Record<string, string[]>): Lookup & { calls: string[] } {
  const served = new Map<string, number>();
  const calls: string[] = [];
  const lookup = ((hostname, _options, callback) => {
    calls.push(hostname);
    const list = answers[hostname];
    if (!list) {
      return process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), []));
    }
    const count = served.get(hostname) ?? 0;
    served.set(hostname, count + 1);
    const address = list[Math.min(count, list.length - 1)];
    const answer: LookupAddress[] = [{ address, family: address.includes(":") ? 6 : 4 }];
    process.nextTick(() => callback(null, answer));
  }) as Lookup & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}
