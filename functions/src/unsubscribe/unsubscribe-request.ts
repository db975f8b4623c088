/**
 * Whether a mail carries a one-click unsubscribe link: when its document says `unsubscribe: true`, or
 * UNSUBSCRIBE_DEFAULT is on and it does not say `false`, unless it is on the transactional stream (a password reset
 * must not invite its reader to stop password resets). The link names one recipient, so only a mail with one can.
 */
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import { ValidationError } from "../shared/errors";
import * as logs from "../shared/logs";
import { messageRecipients } from "../suppression/message-recipients";
import { TRANSACTIONAL_STREAM } from "../suppression/streams";
import type { MailRequest } from "../shared/types";
import { countRecipients } from "../mail/validation";
import { unsubscribeHeaders } from "./unsubscribe-headers";

/** Before the claim: a document that asks for a link it cannot get ends in ERROR at once. */
export function checkUnsubscribeRequest(mail: MailRequest, config: Pick<Config, "unsubscribe">): void {
  if (mail.unsubscribe !== true) return;
  if (!config.unsubscribe) {
    throw new ValidationError(
      'Invalid field "unsubscribe". One-click unsubscribe links need the UNSUBSCRIBE_SIGNING_KEY and SUPPRESSION_COLLECTION params; set them, or remove the field.',
    );
  }
  const count = countRecipients(mail);
  if (count !== 1) {
    throw new ValidationError(
      `Invalid field "unsubscribe". An unsubscribe link names one recipient: expected exactly 1 address across to, cc, bcc and the uid fields, got ${count}. Send one mail per recipient.`,
    );
  }
}

/** The List-Unsubscribe headers for the composed message (after suppression), or none. */
export function unsubscribeHeadersFor(config: Pick<Config, "unsubscribe">, mail: MailRequest, message: SendMailOptions, path: string): Record<string, string> {
  const links = config.unsubscribe;
  if (!links || !(mail.unsubscribe ?? (mail.stream !== TRANSACTIONAL_STREAM && links.byDefault))) return {};
  const recipients = messageRecipients(message);
  if (recipients.length !== 1) {
    logs.unsubscribeLinkSkipped(path, recipients.length);
    return {};
  }
  return unsubscribeHeaders(links, path, recipients[0].address, mail.stream);
}
