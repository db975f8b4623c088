/**
 * The contract between the delivery pipeline and whatever sends mail. Each
 * provider is a folder whose `*-provider.ts` exports one MailProvider; its
 * transport turns every failure into a DeliveryError (a stable `code`, a
 * `transient` flag), so the pipeline never knows which provider sent. Heavy
 * modules load inside `createTransport`: a cold start loads only the one in use.
 */
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import type { ProviderEndpoints } from "./shared/provider-endpoints";
import type { DeliveryInfo, MailRequest } from "../shared/types";

/** The document fields a transport may read beside the message; tests pass only the ones they exercise. */
export type MailFields = Partial<MailRequest>;

export interface MailProvider {
  /** For logs and tests: `"smtp"`, `"sendgrid"`. */
  readonly name: string;
  handles(config: Config): boolean;
  /** Before the claim, so that a document it cannot send ends in ERROR in one write. @throws ValidationError */
  checkFields(mail: MailRequest): void;
  /** @throws ConfigError when `config` lacks what this provider needs. */
  createTransport(config: Config, endpoints: ProviderEndpoints): MailTransport;
  /** What makes its delivery reports name the mail (docs/webhooks.md); without its webhook configured, nothing. */
  track?(config: Config, mailPath: string, message: SendMailOptions, mail: MailRequest): { message: SendMailOptions; mail: MailRequest };
}

/** `deadlineMs`: shorter than the transport's own, for a send that must end before its lease does. */
export type SendOptions = { deadlineMs?: number };

export interface MailTransport {
  /** The provider's name, for logs. */
  readonly kind: string;
  /** Whether connections are kept open and reused between sends. */
  readonly pooled: boolean;
  /** Sends within SEND_DEADLINE_MS (or a shorter `options.deadlineMs`); rejects with a SendEmailError. */
  send(message: SendMailOptions, mail?: MailFields, options?: SendOptions): Promise<DeliveryInfo>;
  /** Releases pooled connections; sends still in flight may fail. */
  close(): void;
}
