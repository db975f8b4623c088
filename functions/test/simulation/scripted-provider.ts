/**
 * The mail provider as the simulation sees it: a `MailTransport` whose every
 * send waits for the scheduler to say how it ends, and a ledger of what the
 * provider really received. The delivery core is judged against the ledger,
 * never against what the document claims.
 *
 * Failures are raised the way the transport contract (providers/provider.ts)
 * says the real transports raise them; that the real SMTP and SendGrid
 * transports keep the contract is tested against real servers elsewhere.
 */
import type { SendMailOptions } from "nodemailer";
import { DeliveryError } from "../../src/shared/errors";
import type { MailTransport, SendOptions } from "../../src/providers/provider";
import { handedOverWithoutAnswer } from "../../src/providers/shared/unknown-outcome";
import type { DeliveryInfo } from "../../src/shared/types";

/** How a send ends, as the scheduler chooses it. */
export type SendEnding =
  /** The provider accepted the message and said so. */
  | "accept"
  /** Refused for good (550), nothing delivered. */
  | "reject"
  /** Refused for now (451), nothing delivered. */
  | "defer"
  /** The connection failed before the message was handed over. */
  | "connection-lost"
  /** The deadline ran out before the message was handed over. */
  | "timeout-before-handover"
  /** Handed over, then no answer before the deadline; the provider did NOT accept it. */
  | "timeout-after-handover"
  /** Handed over, then no answer before the deadline; the provider DID accept it. */
  | "timeout-after-accept";

export interface SendRecord {
  id: number;
  mailPath: string;
  /** Whom the message was for: a mail with `separateMessages` sends one per recipient. */
  recipient: string;
  /** The invocation that sent it. */
  owner: number;
  startedAt: number;
  deadlineAt: number;
  /** Set when the send ended (answered, timed out, or its instance died). */
  endedAt?: number;
  ending?: SendEnding | "crash";
  /** Whether the provider took the message for delivery. */
  accepted: boolean;
}

export interface PendingSend {
  record: SendRecord;
  resolve(info: DeliveryInfo): void;
  reject(error: unknown): void;
}

export interface SendHooks {
  /** Called as a send starts, before it waits; may throw to report an invariant violation. */
  started(record: SendRecord): void;
  /** Registers the send with the scheduler. */
  wait(send: PendingSend): void;
  now(): number;
  owner(): number;
}

export class ScriptedProvider {
  readonly sends: SendRecord[] = [];
  private nextId = 1;

  constructor(private readonly hooks: SendHooks) {}

  transport(): MailTransport {
    return {
      kind: "scripted",
      pooled: false,
      send: (message, _mail, options) => this.send(message, options),
      close: () => undefined,
    };
  }

  /** The documents' subjects carry their own path, so a send names its mail. */
  private send(message: SendMailOptions, options?: SendOptions): Promise<DeliveryInfo> {
    const now = this.hooks.now();
    const record: SendRecord = {
      id: this.nextId++,
      mailPath: String(message.subject),
      recipient: recipientOf(message),
      owner: this.hooks.owner(),
      startedAt: now,
      deadlineAt: now + (options?.deadlineMs ?? 40_000),
      accepted: false,
    };
    this.sends.push(record);
    this.hooks.started(record);
    return new Promise<DeliveryInfo>((resolve, reject) => this.hooks.wait({ record, resolve, reject }));
  }

  /** Ends `send` as `ending`; the caller has already moved the clock to the deadline for timeouts. */
  static settle(send: PendingSend, ending: SendEnding, now: number): void {
    const { record } = send;
    record.endedAt = now;
    record.ending = ending;
    record.accepted = ending === "accept" || ending === "timeout-after-accept";
    switch (ending) {
      case "accept":
        send.resolve({
          messageId: `<sim-${record.id}@example.com>`,
          accepted: ["user@example.com"],
          rejected: [],
          pending: [],
          response: "250 2.0.0 Ok: queued",
        });
        return;
      case "reject":
        send.reject(new DeliveryError("recipients-rejected", "SMTP server rejected every recipient (550): 550 no such user", { responseCode: 550 }));
        return;
      case "defer":
        send.reject(new DeliveryError("message-rejected", "The SMTP server refused the message (451): 451 try later", { responseCode: 451, transient: true }));
        return;
      case "connection-lost":
        send.reject(new DeliveryError("connection-failed", "The connection to the SMTP server failed (ECONNRESET).", { transient: true }));
        return;
      case "timeout-before-handover":
        send.reject(new DeliveryError("timeout", "The SMTP server did not answer in time (ETIMEDOUT).", { transient: true }));
        return;
      case "timeout-after-handover":
      case "timeout-after-accept":
        send.reject(handedOverWithoutAnswer("The SMTP server", record.deadlineAt - record.startedAt));
        return;
    }
  }

  /** The instance running the send died: the provider may or may not have taken the message. */
  static crash(send: PendingSend, now: number, accepted: boolean): void {
    send.record.endedAt = now;
    send.record.ending = "crash";
    send.record.accepted = accepted;
  }
}

/** The message's one recipient as the world's mails name it (an address, or `{ name, address }`). */
function recipientOf(message: SendMailOptions): string {
  const to: unknown[] = Array.isArray(message.to) ? message.to : [message.to];
  return to.map((entry) => (typeof entry === "object" && entry !== null ? String((entry as { address?: unknown }).address) : String(entry))).join(", ");
}
