/**
 * Turns a validated mail document into the message nodemailer sends:
 * render its template, look up its recipients by uid, then fill in defaults
 * (prepare-payload.ts). The steps that read Firestore run only after the
 * document has been claimed, so that a stale or duplicate event, which loses
 * its claim, costs no reads.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import { ValidationError } from "../shared/errors";
import * as logs from "../shared/logs";
import { withDeadline } from "../shared/deadline";
import { preparePayload } from "./prepare-payload";
import { resolveRecipients, usersUnavailable, type ResolvedRecipients } from "./recipients";
import { applyTemplate, loadTemplate, renderTemplate, templatesUnavailable } from "./templates";
import type { MailMessage, MailRequest, TemplateRequest } from "../shared/types";

/**
 * How long each lookup may take. Reads and the send (at most 40 s) must fit
 * in the 60 s lease, or another invocation could fail the document as
 * expired while this one still sends it.
 */
export const LOOKUP_DEADLINE_MS = 10_000;

const hasUids = (mail: MailRequest): boolean => mail.toUids.length + mail.ccUids.length + mail.bccUids.length > 0;

/** True when composing needs Firestore reads (templates, users). */
export function needsLookups(mail: MailRequest): boolean {
  return mail.template !== undefined || hasUids(mail);
}

/**
 * Composes the message. `path` (the mail document's) only labels log lines.
 * @throws ValidationError when the document cannot be sent as written;
 *   a DeliveryError (`lookup-failed`) when the templates or users cannot be
 *   read in time.
 */
export async function composeMessage(mail: MailRequest, config: Config, db: Firestore, path = ""): Promise<SendMailOptions> {
  const { usersCollection, templatesCollection } = config;
  if (hasUids(mail) && !usersCollection) {
    throw new ValidationError("Must specify a users collection to send using uids.");
  }
  // Sending such a mail without its template would deliver something its author never wrote.
  if (mail.template && !templatesCollection) {
    throw new ValidationError(
      `Cannot render template '${mail.template.name}': templates are not configured. Set the TEMPLATES_COLLECTION param to the collection that holds your templates.`,
    );
  }

  const { template } = mail;
  const [message, recipients] = await Promise.all([
    template && templatesCollection
      ? withDeadline(() => render(db, templatesCollection, template, mail.message, path), LOOKUP_DEADLINE_MS, () =>
          templatesUnavailable(templatesCollection, deadlineText()),
        )
      : mail.message,
    hasUids(mail) && usersCollection
      ? withDeadline(
          () => resolveRecipients(db, usersCollection, { to: mail.toUids, cc: mail.ccUids, bcc: mail.bccUids }),
          LOOKUP_DEADLINE_MS,
          () => usersUnavailable(usersCollection, deadlineText()),
        )
      : undefined,
  ]);
  if (recipients && recipients.unresolved.length > 0) logs.uidsWithoutEmail(path, recipients.unresolved);

  return preparePayload({ ...mail, message, ...withRecipients(mail, recipients) }, config);
}

async function render(
  db: Firestore,
  collection: string,
  request: TemplateRequest,
  message: MailMessage | undefined,
  path: string,
): Promise<MailMessage> {
  const { template, partials } = await loadTemplate(db, collection, request.name);
  const rendered = renderTemplate(template, partials, request.data);
  if (rendered.ignoredFields.length > 0) logs.ignoredTemplateFields(path, request.name, rendered.ignoredFields);
  return applyTemplate(message, rendered);
}

/** Addresses found by uid come after the document's own addresses. */
function withRecipients(mail: MailRequest, found: ResolvedRecipients | undefined): Pick<MailRequest, "to" | "cc" | "bcc"> {
  if (!found) return { to: mail.to, cc: mail.cc, bcc: mail.bcc };
  return { to: [...mail.to, ...found.to], cc: [...mail.cc, ...found.cc], bcc: [...mail.bcc, ...found.bcc] };
}

function deadlineText(): string {
  return `Firestore did not answer within ${LOOKUP_DEADLINE_MS / 1000} s. Try again by setting delivery.state to RETRY.`;
}
