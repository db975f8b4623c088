/**
 * A local stand-in for SendGrid's v3 mail-send API (`POST /v3/mail/send`),
 * speaking the subset the extension uses: bearer-key authentication, the
 * checks behind SendGrid's common 400s (recipients, content, base64
 * attachments, categories, unique addresses, verified senders), `202` with
 * an `X-Message-Id` header, and its error body
 * `{"errors": [{"message", "field", "help"}]}`. HTTP, or HTTPS with
 * smtp-sink's self-signed certificate.
 */
import { once } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { selfSignedCertificate } from "./self-signed-certificate";

export interface SendGridApiOptions {
  apiKey: string;
  /** When set, a `from` outside this list gets SendGrid's 403 for unverified senders. */
  verifiedSenders?: string[];
  https?: boolean;
}

export interface ReceivedRequest {
  authorization: string | undefined;
  body: Record<string, unknown>;
  /** The X-Message-Id the server answered with. */
  queueId: string;
}

export interface SendGridApi {
  /** Base URL, for redirectProviders's `sendGridApiUrl`. */
  url: string;
  /** Accepted requests (202), in order. */
  accepted: ReceivedRequest[];
  /** Every request that reached the server, accepted or not. */
  requestCount(): number;
  /** Answers the next request with this status and SendGrid-style error messages instead of handling it. */
  failNext(status: number, messages: string[]): void;
  /** Reads each request in full but never answers it. */
  hang(): void;
  /** Reads each request in full, then closes the connection without answering. */
  dropAfterBody(): void;
  close(): Promise<void>;
}

type ApiError = { message: string; field: string | null; help: string | null };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export async function startSendGridApi(options: SendGridApiOptions): Promise<SendGridApi> {
  const accepted: ReceivedRequest[] = [];
  let requests = 0;
  let scripted: { status: number; messages: string[] } | undefined;
  let hanging = false;
  let dropping = false;
  let queue = 0;

  const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests += 1;
      if (hanging) return;
      if (dropping) {
        request.socket.destroy();
        return;
      }
      const fail = (status: number, errors: ApiError[]) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ errors }));
      };
      if (scripted) {
        const { status, messages } = scripted;
        scripted = undefined;
        return fail(status, messages.map((message) => ({ message, field: null, help: null })));
      }
      if (request.method !== "POST" || request.url !== "/v3/mail/send") {
        return fail(404, [{ message: "Not found", field: null, help: null }]);
      }
      if (request.headers.authorization !== `Bearer ${options.apiKey}`) {
        return fail(401, [{ message: "The provided authorization grant is invalid, expired, or revoked", field: null, help: null }]);
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return fail(400, [{ message: "Bad Request", field: null, help: null }]);
      }
      const from = (body.from as { email?: string } | undefined)?.email;
      if (options.verifiedSenders && (!from || !options.verifiedSenders.includes(from))) {
        return fail(403, [
          {
            message: "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved.",
            field: "from",
            help: "https://sendgrid.com/docs/for-developers/sending-email/sender-identity/",
          },
        ]);
      }
      const errors = check(body);
      if (errors.length > 0) return fail(400, errors);
      const queueId = `queue-${++queue}`;
      accepted.push({ authorization: request.headers.authorization, body, queueId });
      response.writeHead(202, { "X-Message-Id": queueId });
      response.end();
    });
  };

  const server = options.https
    ? https.createServer({ ...selfSignedCertificate() }, handler)
    : http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.https ? "https" : "http"}://127.0.0.1:${port}`,
    accepted,
    requestCount: () => requests,
    failNext: (status, messages) => {
      scripted = { status, messages };
    },
    hang: () => {
      hanging = true;
    },
    dropAfterBody: () => {
      dropping = true;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request checks behind SendGrid's usual 400 answers. */
function check(body: Record<string, unknown>): ApiError[] {
  const errors: ApiError[] = [];
  const error = (field: string, message: string) => errors.push({ message, field, help: null });
  const personalization = (Array.isArray(body.personalizations) ? body.personalizations[0] : undefined) as
    | Record<string, Array<{ email: string }> | undefined>
    | undefined;
  if (!personalization?.to?.length) {
    error("personalizations.0.to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address.");
  }
  const all = ["to", "cc", "bcc"].flatMap((key) => personalization?.[key] ?? []).map((entry) => entry.email.toLowerCase());
  if (new Set(all).size !== all.length) {
    error("personalizations.0", "Each email address in the personalization block should be unique between to, cc, and bcc.");
  }
  if (!(body.from as { email?: string } | undefined)?.email) error("from.email", "The from email does not contain a valid address.");
  const template = typeof body.template_id === "string";
  if (!template && !(Array.isArray(body.content) && body.content.length > 0)) {
    error("content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.");
  }
  if (!template && typeof body.subject !== "string") {
    error("subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.");
  }
  const attachments = Array.isArray(body.attachments) ? (body.attachments as Array<Record<string, unknown>>) : [];
  attachments.forEach((attachment, index) => {
    if (typeof attachment.content !== "string" || !BASE64.test(attachment.content)) {
      error(`attachments.${index}.content`, "The attachment content must be base64 encoded.");
    }
    if (typeof attachment.filename !== "string" || attachment.filename === "") {
      error(`attachments.${index}.filename`, "The attachment filename parameter is required.");
    }
  });
  if (Array.isArray(body.categories) && body.categories.length > 10) {
    error("categories", "You cannot have more than 10 categories per request.");
  }
  return errors;
}
