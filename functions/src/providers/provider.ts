/**
 * The contract between the delivery pipeline and whatever actually sends
 * mail. The handlers see only this: a provider checks the document fields it
 * owns before a mail is claimed, and its transport sends and turns every
 * failure into a `DeliveryError` (a stable `code` and a `transient` flag), so
 * the pipeline records outcomes and decides about retries without knowing
 * which provider was used.
 *
 * A provider is a folder (smtp/, sendgrid/) whose `*-provider.ts` exports one
 * `MailProvider`; select-provider.ts lists them. Modules that are heavy to
 * load (an HTTP client, OAuth2) are required inside `createTransport`, so a
 * cold start loads only the provider in use. Later per-provider capabilities
 * (such as parsing the provider's delivery webhooks) become further optional
 * members here, implemented in that provider's folder.
 */
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import type { DeliveryInfo, MailRequest } from "../shared/types";

/** The longest one send may take (delivery/budget.ts, beside the lease it must fit in). */
export { SEND_DEADLINE_MS } from "../shared/budget";

/** The document fields a transport may read beside the message; tests pass only the ones they exercise. */
export type MailFields = Partial<MailRequest>;

export interface MailProvider {
  /** For logs and tests: `"smtp"`, `"sendgrid"`. */
  readonly name: string;
  /** Whether this provider sends mail for `config`; select-provider.ts asks each provider in turn. */
  handles(config: Config): boolean;
  /**
   * Checks, before the mail is claimed, the document fields this provider
   * reads (or cannot honour), so that a document it cannot send ends in
   * ERROR in one write, without a lease.
   * @throws ValidationError naming the field and what was expected.
   */
  checkFields(mail: MailRequest): void;
  /**
   * Builds the transport for `config`: connections, credentials.
   * @throws ConfigError when `config` lacks what this provider needs.
   */
  createTransport(config: Config): MailTransport;
  /**
   * Attaches what makes this provider's delivery events name the mail
   * document (docs/webhooks.md): headers for the message, or fields its
   * transport reads. Only when the provider's webhook is configured, so that
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
   * Sends one message within SEND_DEADLINE_MS, or within `options.deadlineMs`
   * when that is shorter; resolves with what goes into `delivery.info`,
   * rejects with a `SendEmailError` (a `DeliveryError`, or a
   * `ValidationError` for document fields the provider cannot use).
   */
  send(message: SendMailOptions, mail?: MailFields, options?: SendOptions): Promise<DeliveryInfo>;
  /** Releases pooled connections. Sends still in flight may fail afterwards. */
  close(): void;
}
