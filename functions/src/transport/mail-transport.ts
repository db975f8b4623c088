/**
 * The seam between the delivery pipeline and whatever actually sends mail.
 * The pipeline only ever sees `DeliveryInfo` on success and a `DeliveryError`
 * (with a stable `code` and `transient` flag) on failure, so it can record the
 * outcome and decide about retries without knowing which provider was used.
 */
import type { SendMailOptions } from "nodemailer";
import type { DeliveryInfo, MailRequest } from "../types";

/** A mail document's provider-only fields (`sendGrid`, `categories`), for transports that use them. */
export type ProviderFields = Pick<MailRequest, "sendGrid" | "categories">;

export interface MailTransport {
  /** Which kind of transport this is, for logs: `"smtp"` or `"sendgrid"`. */
  readonly kind: string;
  /**
   * Sends one message; resolves with what goes into `delivery.info`, rejects
   * with a `SendEmailError` (a `DeliveryError`, or a `ValidationError` for
   * provider fields it cannot use). SMTP ignores `provider`.
   */
  send(message: SendMailOptions, provider?: ProviderFields): Promise<DeliveryInfo>;
  /** Releases pooled connections. Sends still in flight may fail afterwards. */
  close(): void;
}
