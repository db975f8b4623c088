/**
 * The contract between the delivery pipeline and whatever sends mail. A
 * provider checks the document fields it owns before a mail is claimed, and
 * its transport turns every failure into a DeliveryError (a stable `code`
 * and a `transient` flag), so the pipeline never knows which provider sent.
 * Each provider is a folder whose `*-provider.ts` exports one MailProvider;
 * heavy modules are required inside `createTransport`, so a cold start loads
 * only the provider in use.
 */
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import type { DeliveryInfo, MailRequest } from "../shared/types";

/** The longest one send may take (delivery/budget.ts, beside the lease it must fit in). */
export { SEND_DEADLINE_MS } from "../delivery/budget";

/** The document fields a transport may read beside the message; tests pass only the ones they exercise. */
export type MailFields = Partial<MailRequest>;

export interface MailProvider {
  /** For logs and tests: `"smtp"`, `"sendgrid"`. */
  readonly name: string;
  /** Whether this provider sends mail for `config`. */
  handles(config: Config): boolean;
  /**
   * Checks the fields this provider reads before the mail is claimed, so
   * that a document it cannot send ends in ERROR in one write.
   * @throws ValidationError naming the field and what was expected.
   */
  checkFields(mail: MailRequest): void;
  /** @throws ConfigError when `config` lacks what this provider needs. */
  createTransport(config: Config): MailTransport;
  /**
   * Attaches what makes this provider's delivery reports name the mail
   * document (docs/webhooks.md). Only when its webhook is configured, so that
   * an instance without webhooks sends exactly what it did before.
   */
  track?(config: Config, mailPath: string, message: SendMailOptions, mail: MailRequest): { message: SendMailOptions; mail: MailRequest };
}

export interface SendOptions {
  /** A deadline shorter than the transport's own, for a send that must end before its lease does. */
  deadlineMs?: number;
}

export interface MailTransport {
  /** The provider's name, for logs. */
  readonly kind: string;
  /** Whether connections are kept open and reused between sends. */
  readonly pooled: boolean;
  /**
   * Sends one message within SEND_DEADLINE_MS (or a shorter
   * `options.deadlineMs`); rejects with a SendEmailError.
   */
  send(message: SendMailOptions, mail?: MailFields, options?: SendOptions): Promise<DeliveryInfo>;
  /** Releases pooled connections. Sends still in flight may fail afterwards. */
  close(): void;
}
