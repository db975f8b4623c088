/** The contract of a provider's webhook module; the endpoint (webhooks/router.ts) never names a provider. */
import type { WebhookConfig } from "../config/webhook-params";
import type { ParsedReports } from "./delivery-report";

/** An HTTP request as the endpoint sees it: the raw body, as signatures cover the exact bytes. */
export interface WebhookRequest {
  method: string;
  /** Path and query, relative to the function. */
  url: string;
  /** Header names in lower case, as Node.js gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  rawBody: Buffer;
}

/** A request header's value: the first one when it was sent more than once. */
export function header(request: Pick<WebhookRequest, "headers">, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export interface WebhookReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Whether a request is authentic; `replay`: a signed value to accept once, as the signature does not cover the body (Mailgun). */
export type Authentication =
  | { ok: true; replay?: { token: string; signedAtMs: number } }
  | { ok: false; status: 400 | 401 | 403; reason: string; headers?: Record<string, string> };

/** A body the provider would never send: answered 400. */
export class MalformedBody extends Error {
  override name = "MalformedBody";
}

export interface ProviderWebhook {
  /** The path segment the provider posts to. */
  readonly route: string;
  /** The largest body it sends, when far below the endpoint's limit: a signature inside the body cannot refuse more before parsing. */
  readonly maxBodyBytes?: number;
  /** Whether its key is configured; without it the route answers 404. */
  configured(config: WebhookConfig): boolean;
  /** Checks the request is the provider's, before anything in it is used. */
  authenticate(request: WebhookRequest, config: WebhookConfig, nowMs: number): Authentication;
  /** The reports in an authenticated, JSON-parsed body, each naming its mail only if its tracking value verifies. @throws MalformedBody */
  parse(body: unknown, config: WebhookConfig): ParsedReports;
}
