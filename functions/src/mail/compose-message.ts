/**
 * A validated mail document as the message nodemailer sends: template rendered, recipients looked up by uid,
 * defaults filled in. The Firestore reads run only after the document is claimed, so that a stale or
 * duplicate event, which loses its claim, costs none.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import { ValidationError } from "../shared/errors";
import * as logs from "../shared/logs";
import { withDeadline } from "../shared/deadline";
import { preparePayload } from "./prepare-payload";
import { resolveRecipients, usersUnavailable } from "./recipients";
import { LOOKUP_DEADLINE_MS } from "../shared/budget";
import { applyTemplate, loadTemplate, renderTemplate, templatesUnavailable, type TemplateCache } from "./templates";
import type { MailMessage, MailRequest, TemplateRequest } from "../shared/types";

const TIMED_OUT = `Firestore did not answer within ${LOOKUP_DEADLINE_MS / 1000} s. Try again by setting delivery.state to RETRY.`;
const inTime = <T>(work: () => Promise<T>, unavailable: (reason: string) => Error): Promise<T> =>
  withDeadline(work, LOOKUP_DEADLINE_MS, () => unavailable(TIMED_OUT));

const hasUids = (mail: MailRequest): boolean => mail.toUids.length + mail.ccUids.length + mail.bccUids.length > 0;

/** Templates or users to read. */
export const needsLookups = (mail: MailRequest): boolean => mail.template !== undefined || hasUids(mail);

/**
 * `templates` keeps compiled templates between mails; `path` (the mail document's) only labels log lines.
 * @throws ValidationError when the document cannot be sent as written; `lookup-failed` when Firestore fails or is late.
 */
export async function composeMessage(mail: MailRequest, config: Config, db: Firestore, templates: TemplateCache, path = ""): Promise<SendMailOptions> {
  const { usersCollection, templatesCollection } = config;
  const { template } = mail;
  if (hasUids(mail) && !usersCollection) throw new ValidationError("Must specify a users collection to send using uids.");
  // Sending such a mail without its template would deliver something its author never wrote.
  if (template && !templatesCollection) {
    throw new ValidationError(
      `Cannot render template '${template.name}': templates are not configured. Set the TEMPLATES_COLLECTION param to the collection that holds your templates.`,
    );
  }
  const [message, found] = await Promise.all([
    template && templatesCollection
      ? inTime(() => render(db, templatesCollection, template, mail.message, templates, path), (reason) => templatesUnavailable(templatesCollection, reason))
      : mail.message,
    hasUids(mail) && usersCollection
      ? inTime(() => resolveRecipients(db, usersCollection, { to: mail.toUids, cc: mail.ccUids, bcc: mail.bccUids }), (reason) => usersUnavailable(usersCollection, reason))
      : undefined,
  ]);
  if (found && found.unresolved.length > 0) logs.uidsWithoutEmail(path, found.unresolved);
  // Addresses found by uid come after the document's own.
  const recipients = found && { to: [...mail.to, ...found.to], cc: [...mail.cc, ...found.cc], bcc: [...mail.bcc, ...found.bcc] };
  return preparePayload({ ...mail, message, ...recipients }, config);
}

async function render(db: Firestore, collection: string, request: TemplateRequest, message: MailMessage | undefined, templates: TemplateCache, path: string): Promise<MailMessage> {
  const { template, partials } = await loadTemplate(db, collection, request.name);
  const rendered = renderTemplate(template, partials, request.data, templates);
  if (rendered.ignoredFields.length > 0) logs.ignoredTemplateFields(path, request.name, rendered.ignoredFields);
  return applyTemplate(message, rendered);
}
