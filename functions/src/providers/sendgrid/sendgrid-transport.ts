/**
 * The SendGrid transport: one POST to the v3 mail-send API per message, with
 * node:https rather than fetch because TLS_OPTIONS must reach the connection.
 * Once the body is sent in full, a failure without an answer is outcome-unknown.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { SendMailOptions } from "nodemailer";
import { ConfigError } from "../../shared/errors";
import { formatDuration, withDeadline } from "../../shared/deadline";
import { readBody } from "../../shared/read-body";
import type { DeliveryInfo } from "../../shared/types";
import { SEND_DEADLINE_MS } from "../../shared/budget";
import type { MailFields, MailTransport } from "../provider";
import { classifyHttpNetworkError, classifyHttpStatus } from "../shared/classify-http-error";
import { deadlineError, handedOverWithoutAnswer, type Handover } from "../shared/unknown-outcome";
import { buildSendGridMail, readAttachments } from "./sendgrid-payload";

const DEFAULT_API_URL = "https://api.sendgrid.com";
const MAIL_SEND_PATH = "/v3/mail/send";
const SENDGRID = "SendGrid";

/** An error body is read this far; SendGrid's are a few hundred bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendGridTransportOptions {
  apiKey: string | undefined;
  /** TLS_OPTIONS, for the HTTPS connection to the API. */
  tls?: Readonly<Record<string, unknown>>;
  /** ALLOW_SENDGRID_BYPASS. Default false. */
  allowBypass?: boolean;
  /** A loopback fake of the API (provider-endpoints.ts). */
  apiUrl?: string;
}

export function createSendGridTransport(options: SendGridTransportOptions, deadlineMs = SEND_DEADLINE_MS): MailTransport {
  const apiKey = options.apiKey;
  if (!apiKey) throw new ConfigError("SendGrid (host smtp.sendgrid.net) needs its API key in SMTP_PASSWORD, got nothing");
  const endpoint = new URL(MAIL_SEND_PATH, options.apiUrl ?? DEFAULT_API_URL);
  // A fresh connection per request: a kept-alive socket SendGrid closed while
  // the instance sat idle fails the next POST with a reset, after which
  // whether SendGrid took the request cannot be known.
  const agent =
    endpoint.protocol === "https:" ? new https.Agent({ keepAlive: false, ...options.tls }) : new http.Agent({ keepAlive: false });

  const post = (body: string, signal: AbortSignal, handover: Handover) =>
    new Promise<{ status: number; messageId: string | undefined; body: string }>((resolve, reject) => {
      // After the deadline the abort's own error is moot: withDeadline has already answered.
      const fail = (error: unknown) => reject(handover.complete ? handedOverWithoutAnswer(SENDGRID) : classifyHttpNetworkError(SENDGRID, error, endpoint.host));
      const headers = { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
      const request = (endpoint.protocol === "https:" ? https : http).request(endpoint, { method: "POST", agent, signal, headers }, (response) => {
        const messageId = response.headers["x-message-id"];
        readBody(response, MAX_RESPONSE_BYTES, true).then(
          (text) => resolve({ status: response.statusCode ?? 0, messageId: Array.isArray(messageId) ? messageId[0] : messageId, body: text.toString("utf8") }),
          fail,
        );
      });
      request.on("error", fail);
      // Emitted once the last of the body is handed to the operating system: SendGrid may have the whole request from then on.
      request.on("finish", () => (handover.complete = true));
      request.end(body);
    });

  const sendOne = async (message: SendMailOptions, fields: MailFields, signal: AbortSignal, handover: Handover): Promise<DeliveryInfo> => {
    const request = buildSendGridMail(message, fields, await readAttachments(message.attachments), { allowBypass: options.allowBypass ?? false });
    const response = await post(JSON.stringify(request.body), signal, handover);
    if (response.status < 200 || response.status >= 300) {
      const credentialsAdvice = 'Check the API key in SMTP_PASSWORD; it needs the "Mail Send" permission';
      throw classifyHttpStatus({ provider: SENDGRID, status: response.status, messages: errorMessages(response.body), credentialsAdvice });
    }
    // sendgridQueueId: SendGrid's id for the queued message, to find it in its activity feed; `response`: a stable form users may match on.
    return { messageId: request.messageId, sendgridQueueId: response.messageId ?? null, accepted: request.recipients, rejected: [], pending: [], response: `status=${response.status}` };
  };

  return {
    kind: "sendgrid",
    pooled: false,
    send: (message, fields = {}, call) => {
      const within = Math.min(deadlineMs, call?.deadlineMs ?? deadlineMs);
      const handover = { complete: false };
      const timeout = `SendGrid did not answer within ${formatDuration(within)} at ${endpoint.host}.`;
      return withDeadline((signal) => sendOne(message, fields, signal, handover), within, () => deadlineError(SENDGRID, handover, within, timeout));
    },
    close: () => agent.destroy(),
  };
}

/** SendGrid's error body: {"errors": [{"message": "...", "field": "...", "help": ...}]}. */
function errorMessages(body: string): string[] {
  let errors: unknown;
  try {
    errors = (JSON.parse(body) as { errors?: unknown } | null)?.errors;
  } catch {
    return body.trim() ? [body.trim()] : [];
  }
  return (Array.isArray(errors) ? errors : []).flatMap((entry: unknown) => {
    const { message, field } = (entry ?? {}) as { message?: unknown; field?: unknown };
    return typeof message !== "string" ? [] : [typeof field === "string" && field !== "" ? `${field}: ${message}` : message];
  });
}
