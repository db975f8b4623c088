/**
 * The SendGrid transport: one POST to SendGrid's v3 mail-send API per
 * message. Loaded only when SendGrid is the provider (sendgrid-provider.ts).
 *
 * The request is made with node:https rather than fetch because TLS_OPTIONS
 * has to reach the connection, and fetch takes no TLS options. One deadline
 * (SEND_DEADLINE_MS, as for every provider) covers building the request and
 * the API call.
 *
 * Once the request's body has been sent in full, SendGrid may accept the
 * mail at any moment: a reset, a closed connection or the deadline before
 * its answer then leaves the outcome unknown (../shared/unknown-outcome.ts),
 * and the mail is not retried automatically.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { SendMailOptions } from "nodemailer";
import { ConfigError, DeliveryError } from "../../shared/errors";
import { formatDuration, withDeadline } from "../../shared/deadline";
import type { DeliveryInfo } from "../../shared/types";
import { SEND_DEADLINE_MS, type MailFields, type MailTransport } from "../provider";
import { classifyHttpNetworkError, classifyHttpStatus } from "../shared/classify-http-error";
import { handedOverWithoutAnswer } from "../shared/unknown-outcome";
import { redirectedEndpoints } from "../shared/provider-endpoints";
import { readAttachments } from "./sendgrid-attachments";
import { buildSendGridMail } from "./sendgrid-payload";

const DEFAULT_API_URL = "https://api.sendgrid.com";
const MAIL_SEND_PATH = "/v3/mail/send";

/** An error body longer than this is not read further; SendGrid's are a few hundred bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendGridTransportOptions {
  apiKey: string | undefined;
  /** TLS_OPTIONS, for the HTTPS connection to the API. */
  tls?: Readonly<Record<string, unknown>>;
  /** ALLOW_SENDGRID_BYPASS. Default false. */
  allowBypass?: boolean;
}

export function createSendGridTransport(options: SendGridTransportOptions, deadlineMs = SEND_DEADLINE_MS): MailTransport {
  const apiKey = options.apiKey;
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

  const expired = (within: number, handover: Handover) =>
    handover.complete
      ? handedOverWithoutAnswer(SENDGRID, within)
      : new DeliveryError("timeout", `SendGrid did not answer within ${formatDuration(within)} at ${endpoint.host}.`, { transient: true });

  const sendOne = async (message: SendMailOptions, fields: MailFields, signal: AbortSignal, handover: Handover): Promise<DeliveryInfo> => {
    const attachments = await readAttachments(message.attachments);
    const request = buildSendGridMail(message, fields, attachments, { allowBypass: options.allowBypass ?? false });
    const response = await post(endpoint, agent, apiKey, JSON.stringify(request.body), signal, handover);
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
      // A stable form users may match on.
      response: `status=${response.status}`,
    };
  };

  return {
    kind: "sendgrid",
    pooled: false,
    send: (message, fields = {}, call) => {
      const within = Math.min(deadlineMs, call?.deadlineMs ?? deadlineMs);
      const handover = { complete: false };
      return withDeadline((signal) => sendOne(message, fields, signal, handover), within, () => expired(within, handover));
    },
    close: () => agent.destroy(),
  };
}

/** Who may have accepted a request handed over without an answer. */
const SENDGRID = "SendGrid";

/** One send's request: `complete` once its body has been handed to the operating system in full. */
interface Handover {
  complete: boolean;
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
  handover: Handover,
): Promise<ApiResponse> {
  const client = endpoint.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    // After the deadline the abort's own error is moot: withDeadline has already answered.
    const fail = (error: unknown) =>
      reject(handover.complete ? handedOverWithoutAnswer(SENDGRID) : classifyHttpNetworkError(SENDGRID, error, endpoint.host));
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
    // Emitted once the last of the body has been handed to the operating system: SendGrid may have the whole request from then on.
    request.on("finish", () => {
      handover.complete = true;
    });
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
