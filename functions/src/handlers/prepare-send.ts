/**
 * The steps between composing a mail and handing it to its provider that
 * serve delivery status after the send (docs/webhooks.md): suppressed
 * recipients dropped (SUPPRESSION_COLLECTION, one batched read), the
 * one-click unsubscribe link, and the provider's tracking metadata. With
 * none of those params set, the message passes through untouched and
 * nothing is read.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import * as logs from "../shared/logs";
import { withHeaders } from "../mail/prepare-payload";
import { selectProvider } from "../providers/select-provider";
import { dropSuppressed } from "../suppression/drop-suppressed";
import { messageRecipients } from "../suppression/message-recipients";
import type { MailRequest } from "../shared/types";
import { unsubscribeHeadersFor } from "../unsubscribe/unsubscribe-request";

export interface PreparedSend {
  message: SendMailOptions;
  /** The document's fields as the provider's transport reads them (with its tracking fields). */
  mail: MailRequest;
  /** Recipients left out as suppressed, for `delivery.info.suppressed`. */
  suppressed: string[];
}

export async function prepareSend(db: Firestore, path: string, config: Config, mail: MailRequest, composed: SendMailOptions): Promise<PreparedSend> {
  let message = composed;
  let suppressed: string[] = [];
  const collection = config.webhooks.suppressionCollection;
  if (collection) {
    ({ message, suppressed } = await dropSuppressed(db, collection, message));
    if (suppressed.length > 0) logs.recipientsSuppressed(path, suppressed.length, messageRecipients(message).length);
  }
  message = withHeaders(message, unsubscribeHeadersFor(config, mail, message, path));
  const tracked = selectProvider(config).track?.(config, path, message, mail) ?? { message, mail };
  return { ...tracked, suppressed };
}
