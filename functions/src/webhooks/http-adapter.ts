/**
 * Adapts the endpoint to Node's request and response, as Cloud Functions
 * hands them over (Express objects, with the unparsed body in `rawBody`).
 * The endpoint is built per request, so that a configuration problem is
 * answered 500 (and retried by the provider) rather than crashing the instance.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleWebhook, type WebhookEndpoint } from "./router";
import * as logs from "../shared/logs";

export type RawBodyRequest = IncomingMessage & { rawBody?: Buffer };

export function webhookRequestHandler(endpoint: () => WebhookEndpoint): (req: RawBodyRequest, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let reply;
    try {
      reply = await handleWebhook(
        { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers, rawBody: req.rawBody ?? Buffer.alloc(0) },
        endpoint(),
      );
    } catch (error) {
      logs.webhookFailed("endpoint", error);
      reply = { status: 500, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "Internal error; please retry\n" };
    }
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body);
  };
}
