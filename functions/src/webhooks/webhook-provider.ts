/**
 * The contract every provider's webhook module fulfils. The endpoint
 * (handlers/webhook-router.ts) calls it and never names a provider.
 */
import type { WebhookConfig } from "../config/webhook-params";
import type { ParsedReports } from "./delivery-report";

export type { WebhookConfig } from "../config/webhook-params";

/** An HTTP request as the endpoint sees it: the raw body, as signatures cover the exact bytes. */
export interface WebhookRequest {
  method: string;
  /** Path and query, relative to the function (`/sendgrid`, `/unsubscribe?t=…`). */
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

/**
 * Whether a request is authentic. When the signature does not cover the
 * body (Mailgun's), `replay` names the signed value that must be accepted
 * only once, so that the signature cannot be reused with another body.
 */
export type Authentication =
  | { ok: true; replay?: ReplayToken }
  | { ok: false; status: 400 | 401 | 403; reason: string; headers?: Record<string, string> };

export interface ReplayToken {
  token: string;
  signedAtMs: number;
}

/** A body the provider would never send: answered 400. */
export class MalformedBody extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedBody";
  }
}

export interface ProviderWebhook {
  /** The path segment the provider posts to: `/sendgrid`, `/mailgun`, `/postmark`. */
  readonly route: string;
  /**
   * The largest body this provider ever sends, when far below the
   * endpoint's limit: a scheme that signs fields inside the body can only
   * refuse a larger one before parsing it this way.
   */
  readonly maxBodyBytes?: number;
  /** Whether its key is configured; without it the route answers 404. */
  configured(config: WebhookConfig): boolean;
  /** Checks the request is the provider's, before anything in it is used. */
  authenticate(request: WebhookRequest, config: WebhookConfig, nowMs: number): Authentication;
  /**
   * The reports in an authenticated, JSON-parsed body, each naming its mail
   * only when its tracking value verifies (tracking-value.ts).
   * @throws MalformedBody
   */
  parse(body: unknown, config: WebhookConfig): ParsedReports;
}
