/**
 * The SendGrid transport: mail sent through SendGrid's v3 mail-send HTTP API
 * with SMTP_PASSWORD as the API key, as the original does when the SMTP URI's
 * host is smtp.sendgrid.net. Loaded only then (see select-transport.ts).
 *
 * The request is made with node:https rather than fetch because TLS_OPTIONS
 * has to reach the connection, and fetch takes no TLS options. One deadline
 * (the SMTP transport's 40 s) covers reading attachments and the API call.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { SendMailOptions } from "nodemailer";
import { ConfigError, DeliveryError } from "../errors";
import type { DeliveryInfo } from "../types";
import { classifyHttpNetworkError, classifyHttpStatus } from "./classify-http-error";
import type { MailTransport } from "./mail-transport";
import { readAttachments } from "./sendgrid-attachments";
import { redirectedEndpoints } from "./provider-endpoints";
import { buildSendGridMail, type SendGridExtras } from "./sendgrid-payload";
import { SEND_DEADLINE_MS } from "./smtp-transport";

const DEFAULT_API_URL = "https://api.sendgrid.com";
const MAIL_SEND_PATH = "/v3/mail/send";

/** An error body longer than this is not read further; SendGrid's are a few hundred bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendGridTransportOptions {
  apiKey: string | undefined;
  /** TLS_OPTIONS, for the HTTPS connection to the API. */
  tls?: Readonly<Record<string, unknown>>;
}

/** A MailTransport whose `send` also takes the document's SendGrid-only fields. */
export interface SendGridTransport extends MailTransport {
  send(message: SendMailOptions, extras?: SendGridExtras): Promise<DeliveryInfo>;
}

export function createSendGridTransport(options: SendGridTransportOptions, deadlineMs = SEND_DEADLINE_MS): SendGridTransport {
  const { apiKey } = options;
  if (!apiKey) {
    throw new ConfigError("SendGrid (host smtp.sendgrid.net) needs its API key in SMTP_PASSWORD, got nothing");
  }
  const endpoint = new URL(MAIL_SEND_PATH, redirectedEndpoints().sendGridApiUrl ?? DEFAULT_API_URL);
  // A fresh connection per request, on purpose (Node 20 keeps connections alive
  // by default). A kept-alive socket that SendGrid closed while the instance
  // sat idle fails the next POST with a reset, and whether SendGrid had already
  // taken that request cannot be known, so it could be neither failed nor
  // retried safely. Unlike SMTP there is no login to save, only a handshake.
  const agent =
    endpoint.protocol === "https:" ? new https.Agent({ keepAlive: false, ...options.tls }) : new http.Agent({ keepAlive: false });

  return {
    kind: "sendgrid",
    async send(message, extras = {}) {
      const signal = AbortSignal.timeout(deadlineMs);
      const attachments = await readAttachments(message.attachments, signal);
      const request = buildSendGridMail(message, extras, attachments);
      const response = await post(endpoint, agent, apiKey, JSON.stringify(request.body), signal, deadlineMs);
      if (response.status < 200 || response.status >= 300) {
        throw classifyHttpStatus({
          provider: "SendGrid",
          status: response.status,
          messages: errorMessages(response.body),
          credentialsAdvice: 'Check the API key in SMTP_PASSWORD; it needs the "Mail Send" permission',
        });
      }
      return {
        messageId: request.messageId,
        // SendGrid's id for the queued message, used to find it in SendGrid's activity feed and event webhooks.
        sendgridQueueId: response.headers["x-message-id"] ?? null,
        accepted: request.recipients,
        rejected: [],
        pending: [],
        // The original recorded this form; users may match on it.
        response: `status=${response.status}`,
      };
    },
    close: () => agent.destroy(),
  };
}

interface ApiResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

function post(
  endpoint: URL,
  agent: http.Agent,
  apiKey: string,
  body: string,
  signal: AbortSignal,
  deadlineMs: number,
): Promise<ApiResponse> {
  const client = endpoint.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) =>
      reject(
        signal.aborted
          ? new DeliveryError("timeout", `SendGrid did not answer within ${deadlineMs / 1000} s at ${endpoint.host}.`, { transient: true })
          : classifyHttpNetworkError("SendGrid", error, endpoint.host),
      );
    const request = client.request(
      endpoint,
      {
        method: "POST",
        agent,
        signal,
        headers: {
          Authorization: `Bearer ${apiKey}`,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        response.on("error", fail);
        response.on("end", () => {
          const headers: Record<string, string | undefined> = {};
          for (const [name, value] of Object.entries(response.headers)) headers[name] = Array.isArray(value) ? value[0] : value;
          resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    request.on("error", fail);
    request.end(body);
  });
}

/** SendGrid's error body: {"errors": [{"message": "...", "field": "...", "help": ...}]}. */
function errorMessages(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() ? [body.trim()] : [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((entry: unknown) => {
    const { message, field } = (entry ?? {}) as { message?: unknown; field?: unknown };
    if (typeof message !== "string") return [];
    return [typeof field === "string" && field !== "" ? `${field}: ${message}` : message];
  });
}
