/**
 * The SMTP transport: nodemailer with settings a configuration cannot
 * loosen, a hard deadline on every send, and a watch on the handover
 * (handover.ts), after which a failure without a reply is never retried.
 */
import { createTransport, type SendMailOptions } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import { ConfigError } from "../../shared/errors";
import { formatDuration, withDeadline } from "../../shared/deadline";
import type { DeliveryInfo } from "../../shared/types";
import { SEND_DEADLINE_MS, type MailTransport } from "../provider";
import { deadlineError, type Handover } from "../shared/unknown-outcome";
import { classifySmtpError, classifySmtpErrorAfterHandover, SMTP_SERVER } from "./classify-error";
import { watchHandovers, type HandoverWatch } from "./handover";

/** Upper bounds for nodemailer's timeouts (its defaults are minutes); a configuration may only lower them. */
const TIMEOUT_CAPS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000, dnsTimeout: 10_000 } as const;

/** Options that would build another transport, or reparse a URL whose query could override the settings below. */
const REFUSED_OPTIONS = ["url", "sendmail", "streamTransport", "jsonTransport", "SES"];

export function createSmtpTransport(options: SMTPPool.Options, deadlineMs = SEND_DEADLINE_MS): MailTransport {
  const refused = REFUSED_OPTIONS.filter((key) => key in options);
  if (refused.length > 0) {
    throw new ConfigError(`The SMTP transport does not accept the option(s) ${refused.join(", ")}`);
  }
  const socketTimeout = capped(options.socketTimeout, TIMEOUT_CAPS.socketTimeout);
  const transporter = createTransport({
    ...options,
    connectionTimeout: capped(options.connectionTimeout, TIMEOUT_CAPS.connectionTimeout),
    greetingTimeout: capped(options.greetingTimeout, TIMEOUT_CAPS.greetingTimeout),
    socketTimeout,
    dnsTimeout: capped(options.dnsTimeout, TIMEOUT_CAPS.dnsTimeout),
    // Never read the function's own files (`path: "/etc/passwd"`), nor fetch
    // URLs (its fetch follows redirects to any host; attachments/ downloads them
    // under the address policy). These transport options override the message's.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const handovers = watchHandovers(transporter);

  return {
    kind: "smtp",
    pooled: options.pool === true,
    send: (message, _mail, call) =>
      sendWithDeadline(transporter, handovers, socketTimeout, message, Math.min(deadlineMs, call?.deadlineMs ?? deadlineMs)),
    close: () => transporter.close(),
  };
}

type Sender = Pick<ReturnType<typeof createTransport>, "sendMail">;

/** On expiry the send's AbortSignal fires: nodemailer closes that message's connection, leaving other sends of a pool alone. */
async function sendWithDeadline(
  transporter: Sender,
  handovers: HandoverWatch,
  socketTimeoutMs: number,
  message: SendMailOptions,
  deadlineMs: number,
): Promise<DeliveryInfo> {
  let handover: Handover | undefined;
  const expired = () =>
    deadlineError(
      SMTP_SERVER,
      handover,
      deadlineMs,
      `The SMTP server did not complete the send within ${formatDuration(deadlineMs)}; the connection was closed. ` +
        "Check that SMTP_CONNECTION_URI points to a responsive SMTP server.",
    );
  const send = async (deadline: AbortSignal) => {
    // A signal of this send's own (AbortSignal.any makes a new one), which is how the handover watch finds it.
    const signal = message.signal ? AbortSignal.any([message.signal, deadline]) : deadline;
    const watched = handovers.watch(signal);
    handover = watched;
    try {
      return toDeliveryInfo(await transporter.sendMail({ ...message, signal }));
    } catch (error) {
      throw watched.complete ? classifySmtpErrorAfterHandover(error, socketTimeoutMs) : classifySmtpError(error);
    }
  };
  return withDeadline(send, deadlineMs, expired);
}

/** nodemailer's result; addresses may be strings or `{address}` objects. */
function toDeliveryInfo(info: Record<"messageId" | "accepted" | "rejected" | "pending" | "response", unknown>): DeliveryInfo {
  return {
    messageId: typeof info.messageId === "string" ? info.messageId : null,
    accepted: addresses(info.accepted),
    rejected: addresses(info.rejected),
    pending: addresses(info.pending),
    response: typeof info.response === "string" ? info.response : null,
  };
}

function addresses(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry === "string") return [entry];
    if (typeof entry === "object" && entry !== null && typeof (entry as { address?: unknown }).address === "string") {
      return [(entry as { address: string }).address];
    }
    return [];
  });
}

/** nodemailer treats 0 as "use my default" (minutes), so only a positive, smaller value counts. */
function capped(value: number | undefined, cap: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 && value < cap ? value : cap;
}
