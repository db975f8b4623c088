/**
 * Turns a validated mail document into the message nodemailer sends:
 * render its template, look up its recipients by uid, then fill in defaults
 * (prepare-payload.ts). The steps that read Firestore run only after the
 * document has been claimed, so that a stale or duplicate event, which loses
 * its claim, costs no reads.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "./config";
import { ValidationError } from "./errors";
import { preparePayload } from "./prepare-payload";
import type { MailRequest } from "./types";

/** True when composing needs Firestore reads (templates, users). */
export function needsLookups(mail: MailRequest): boolean {
  return mail.template !== undefined || mail.toUids.length + mail.ccUids.length + mail.bccUids.length > 0;
}

/** Composes the message; throws ValidationError when the document cannot be sent as written. */
export async function composeMessage(mail: MailRequest, config: Config, _db: Firestore): Promise<SendMailOptions> {
  if (mail.toUids.length + mail.ccUids.length + mail.bccUids.length > 0 && !config.usersCollection) {
    throw new ValidationError("Must specify a users collection to send using uids.");
  }
  return preparePayload(mail, config);
}
