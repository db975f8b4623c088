/**
 * Serves the webhook endpoint on 127.0.0.1 (a free port) the way Cloud
 * Functions does: the body read in full into `rawBody`, then the handler.
 * `post` and `get` are small fetch wrappers for the tests.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookEndpoint } from "../../src/webhooks/router";
import { webhookRequestHandler, type RawBodyRequest } from "../../src/webhooks/http-adapter";

export interface WebhookServer {
  url: string;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
  close(): Promise<void>;
}

export function startWebhookServer(endpoint: () => WebhookEndpoint): Promise<WebhookServer> {
  return serveHttpFunction(webhookRequestHandler(endpoint));
}

/** Serves any HTTPS function handler (such as the exported `webhooks`) the same way. */
export async function serveHttpFunction(handle: (req: RawBodyRequest, res: http.ServerResponse) => unknown): Promise<WebhookServer> {
  const server = http.createServer((req: RawBodyRequest, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      req.rawBody = Buffer.concat(chunks);
      void handle(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } }),
    get: (path) => fetch(`${url}${path}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
