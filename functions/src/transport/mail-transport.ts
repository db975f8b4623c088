/**
 * The seam between the delivery pipeline and whatever actually sends mail.
 * The pipeline only ever sees `DeliveryInfo` on success and a `DeliveryError`
 * (with a stable `code` and `transient` flag) on failure, so it can record the
 * outcome and decide about retries without knowing which provider was used.
 */
import type { SendMailOptions } from "nodemailer";
import type { DeliveryInfo } from "../types";

export interface MailTransport {
  /** Which kind of transport this is, for logs: `"smtp"`. */
  readonly kind: string;
  /** Sends one message; resolves with what goes into `delivery.info`, rejects with a `DeliveryError` only. */
  send(message: SendMailOptions): Promise<DeliveryInfo>;
  /** Releases pooled connections. Sends still in flight may fail afterwards. */
  close(): void;
}
