/**
 * The SMTP transport: nodemailer with settings a configuration cannot
 * loosen, a hard deadline on every send, and a watch on the handover
 * (handover.ts), after which a failure without a reply is never retried.
 */
import { createTransport } from "nodemailer";
import type SMTPConnection from "nodemailer/lib/smtp-connection";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import { ConfigError } from "../../shared/errors";
import { formatDuration, withDeadline } from "../../shared/deadline";
import type { DeliveryInfo, MailDsn } from "../../shared/types";
import { SEND_DEADLINE_MS, SMTP_TIMEOUT_CAPS } from "../../shared/budget";
import type { MailTransport } from "../provider";
import { deadlineError, type Handover } from "../shared/unknown-outcome";
import { classifySmtpError, classifySmtpErrorAfterHandover, SMTP_SERVER } from "./classify-error";
import { watchHandovers } from "./handover";


/** Options that would build another transport, or reparse a URL whose query could override the settings below. */
const REFUSED_OPTIONS = ["url", "sendmail", "streamTransport", "jsonTransport", "SES"];

export function createSmtpTransport(options: SMTPPool.Options, deadlineMs = SEND_DEADLINE_MS): MailTransport {
  const refused = REFUSED_OPTIONS.filter((key) => key in options);
  if (refused.length > 0) throw new ConfigError(`The SMTP transport does not accept the option(s) ${refused.join(", ")}`);
  const socketTimeout = capped(options.socketTimeout, SMTP_TIMEOUT_CAPS.socketTimeout);
  const transporter = createTransport({
    ...options,
    connectionTimeout: capped(options.connectionTimeout, SMTP_TIMEOUT_CAPS.connectionTimeout),
    greetingTimeout: capped(options.greetingTimeout, SMTP_TIMEOUT_CAPS.greetingTimeout),
    socketTimeout,
    dnsTimeout: capped(options.dnsTimeout, SMTP_TIMEOUT_CAPS.dnsTimeout),
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
    // On expiry the send's AbortSignal fires: nodemailer closes that message's connection, leaving other sends of a pool alone.
    send: (message, mail, call) => {
      const within = Math.min(deadlineMs, call?.deadlineMs ?? deadlineMs);
      let handover: Handover | undefined;
      const send = async (deadline: AbortSignal) => {
        // A signal of this send's own (AbortSignal.any makes a new one), which is how the handover watch finds it.
        const signal = message.signal ? AbortSignal.any([message.signal, deadline]) : deadline;
        const watched = (handover = handovers.watch(signal));
        try {
          return toDeliveryInfo(await transporter.sendMail({ ...message, ...dsnOption(mail?.dsn), signal }));
        } catch (error) {
          throw watched.complete ? classifySmtpErrorAfterHandover(error, socketTimeout) : classifySmtpError(error);
        }
      };
      const timeout =
        `The SMTP server did not complete the send within ${formatDuration(within)}; the connection was closed. ` +
        "Check that SMTP_CONNECTION_URI points to a responsive SMTP server.";
      return withDeadline(send, within, () => deadlineError(SMTP_SERVER, handover, within, timeout));
    },
    close: () => transporter.close(),
  };
}

/**
 * The document's `dsn` as nodemailer's option. nodemailer adds RET and ENVID to
 * MAIL FROM and NOTIFY to each RCPT TO only when the server announces DSN, as
 * RFC 3461 requires; elsewhere the mail goes out without them.
 */
function dsnOption(dsn: MailDsn | undefined): { dsn?: SMTPConnection.DSNOptions } {
  if (!dsn) return {};
  const options: SMTPConnection.DSNOptions = {};
  if (dsn.notify) options.notify = dsn.notify === "never" ? "NEVER" : dsn.notify.map((when) => when.toUpperCase() as SMTPConnection.DSNOption);
  // nodemailer's types spell FULL "Full"; it upper-cases the value before sending.
  if (dsn.ret) options.ret = dsn.ret === "full" ? "Full" : "HDRS";
  if (dsn.envid) options.envid = dsn.envid;
  return Object.keys(options).length > 0 ? { dsn: options } : {};
}

/** nodemailer's result; addresses may be strings or `{address}` objects. */
function toDeliveryInfo(info: Partial<Record<"messageId" | "accepted" | "rejected" | "pending" | "response", unknown>>): DeliveryInfo {
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  const addresses = (value: unknown): string[] =>
    (Array.isArray(value) ? value : []).flatMap((entry: unknown) => {
      const address = typeof entry === "object" && entry !== null ? (entry as { address?: unknown }).address : entry;
      return typeof address === "string" ? [address] : [];
    });
  return { messageId: text(info.messageId), accepted: addresses(info.accepted), rejected: addresses(info.rejected), pending: addresses(info.pending), response: text(info.response) };
}

/** nodemailer treats 0 as "use my default" (minutes), so only a positive, smaller value counts. */
function capped(value: number | undefined, cap: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 && value < cap ? value : cap;
}
