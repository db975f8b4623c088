/**
 * A validated mail document as the message nodemailer sends: template rendered, recipients looked up by uid,
 * defaults filled in. The Firestore reads run only after the document is claimed, so that a stale or
 * duplicate event, which loses its claim, costs none. Templates and users are read together, except when the
 * template needs its recipient's fields (USER_TEMPLATE_FIELDS): then the user document comes first. A mail with
 * `separateMessages` reads both once and renders one message per recipient (prepareSeparateMessages).
 */
import type { Firestore } from "firebase-admin/firestore";
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import { ValidationError } from "../shared/errors";
import * as logs from "../shared/logs";
import { withDeadline } from "../shared/deadline";
import { preparePayload } from "./prepare-payload";
import addressparser from "nodemailer/lib/addressparser";
import { resolveEach, resolveRecipients, usersUnavailable, type ResolvedUser } from "./recipients";
import { LOOKUP_DEADLINE_MS } from "../shared/budget";
import { canonicalLocale, canonicalTimeZone } from "./locale";
import { applyTemplate, loadTemplate, renderTemplate, templatesUnavailable, type RenderOptions, type TemplateCache, type TemplateDocument } from "./templates";
import type { DeliveryInfo, MailMessage, MailRequest, TemplateRequest } from "../shared/types";

const TIMED_OUT = `Firestore did not answer within ${LOOKUP_DEADLINE_MS / 1000} s. Try again by setting delivery.state to RETRY.`;
const inTime = <T>(work: () => Promise<T>, unavailable: (reason: string) => Error): Promise<T> =>
  withDeadline(work, LOOKUP_DEADLINE_MS, () => unavailable(TIMED_OUT));

const hasUids = (mail: MailRequest): boolean => mail.toUids.length + mail.ccUids.length + mail.bccUids.length > 0;

/** Templates or users to read. */
export const needsLookups = (mail: MailRequest): boolean => mail.template !== undefined || hasUids(mail);

/** The message, and what composing it adds to `delivery.info`. */
export interface ComposedMessage {
  message: SendMailOptions;
  info: Pick<DeliveryInfo, "templateLocale">;
}

/**
 * `templates` keeps compiled templates between mails; `path` (the mail document's) only labels log lines.
 * @throws ValidationError when the document cannot be sent as written; `lookup-failed` when Firestore fails or is late.
 */
export async function composeMessage(mail: MailRequest, config: Config, db: Firestore, templates: TemplateCache, path = ""): Promise<ComposedMessage> {
  const { usersCollection, templatesCollection } = checkLookups(mail, config);
  const { template } = mail;
  const profile = template && config.userTemplateFields.length > 0 ? profileUid(mail) : undefined;
  const lookup =
    hasUids(mail) && usersCollection
      ? inTime(
          () => resolveRecipients(db, usersCollection, { to: mail.toUids, cc: mail.ccUids, bcc: mail.bccUids }, profile === undefined ? undefined : { uid: profile, fields: config.userTemplateFields }),
          (reason) => usersUnavailable(usersCollection, reason),
        )
      : undefined;
  const options = profile !== undefined ? renderOptions(mail, (await lookup)?.profile, path) : renderOptions(mail, undefined, path);
  const [rendered, found] = await Promise.all([
    template && templatesCollection
      ? inTime(() => render(db, templatesCollection, template, mail.message, templates, options, path), (reason) => templatesUnavailable(templatesCollection, reason))
      : { message: mail.message, templateLocale: undefined },
    lookup,
  ]);
  if (found && found.unresolved.length > 0) logs.uidsWithoutEmail(path, found.unresolved);
  // Addresses found by uid come after the document's own.
  const recipients = found && { to: [...mail.to, ...found.to], cc: [...mail.cc, ...found.cc], bcc: [...mail.bcc, ...found.bcc] };
  const message = preparePayload({ ...mail, message: rendered.message, ...recipients }, config);
  return { message, info: rendered.templateLocale === undefined ? {} : { templateLocale: rendered.templateLocale } };
}

/** @throws ValidationError when the mail needs a collection the params do not name. */
function checkLookups(mail: MailRequest, config: Config): Pick<Config, "usersCollection" | "templatesCollection"> {
  const { usersCollection, templatesCollection } = config;
  const { template } = mail;
  if (hasUids(mail) && !usersCollection) throw new ValidationError("Must specify a users collection to send using uids.");
  // Sending such a mail without its template would deliver something its author never wrote.
  if (template && !templatesCollection) {
    throw new ValidationError(
      `Cannot render template '${template.name}': templates are not configured. Set the TEMPLATES_COLLECTION param to the collection that holds your templates.`,
    );
  }
  return { usersCollection, templatesCollection };
}

/** One recipient of a mail with `separateMessages`. */
export interface SeparateRecipient {
  /** Its entry's key in `delivery.recipients`: the address, lower-cased (the same mailbox however the document spells it). */
  key: string;
  address: string;
  name?: string;
  /** When found through `toUids`. */
  uid?: string;
}

/** A mail with `separateMessages`, its lookups done once: who gets a message, and each one's message on demand. */
export interface SeparateMessages {
  /** Distinct by key, `to` first, then `toUids` in order. */
  recipients: SeparateRecipient[];
  /** Renders one recipient's message (its own data and user fields). @throws ValidationError when its template data cannot render */
  compose(recipient: SeparateRecipient): ComposedMessage;
}

/**
 * The template and the users are read once for every recipient; each message is rendered when it is sent, with
 * `recipientData` for its address (or uid) over `template.data`, and its own user's fields as `@recipient`.
 * @throws as composeMessage
 */
export async function prepareSeparateMessages(mail: MailRequest, config: Config, db: Firestore, templates: TemplateCache, path = ""): Promise<SeparateMessages> {
  const { usersCollection, templatesCollection } = checkLookups(mail, config);
  const { template } = mail;
  const fields = template ? config.userTemplateFields : [];
  const [loaded, users] = await Promise.all([
    template && templatesCollection ? inTime(() => loadTemplate(db, templatesCollection, template.name), (reason) => templatesUnavailable(templatesCollection, reason)) : undefined,
    mail.toUids.length > 0 && usersCollection ? inTime(() => resolveEach(db, usersCollection, mail.toUids, fields), (reason) => usersUnavailable(usersCollection, reason)) : [],
  ]);
  const unresolved = users.filter((user) => user.email === undefined).map((user) => user.uid);
  if (unresolved.length > 0) logs.uidsWithoutEmail(path, [...new Set(unresolved)]);
  const profiles = new Map(users.map((user) => [user.uid, user.profile]));
  const recipients = distinctRecipients(mail, users);
  if (recipients.length === 0) throw new ValidationError("Failed to deliver email. Expected at least 1 recipient.");
  const dataFor = recipientDataLookup(mail.recipientData);

  return {
    recipients,
    compose(recipient) {
      let message = mail.message;
      let templateLocale: string | null | undefined;
      if (template && loaded) {
        const options = renderOptions(mail, recipient.uid === undefined ? undefined : profiles.get(recipient.uid), path);
        const data = { ...template.data, ...dataFor(recipient) };
        ({ message, templateLocale } = renderLoaded(loaded, template.name, data, mail.message, templates, options, path));
      }
      const composed = preparePayload({ ...mail, to: [recipient.address], toUids: [], message }, config);
      composed.to = [recipient.name ? { name: recipient.name, address: recipient.address } : recipient.address];
      return { message: composed, info: templateLocale === undefined ? {} : { templateLocale } };
    },
  };
}

/** `to`'s addresses (an entry may list several) and the users' in order, each mailbox once. */
function distinctRecipients(mail: MailRequest, users: ResolvedUser[]): SeparateRecipient[] {
  const found = new Map<string, SeparateRecipient>();
  const add = (recipient: Omit<SeparateRecipient, "key">) => {
    const key = recipient.address.toLowerCase();
    if (!found.has(key)) found.set(key, { key, ...recipient });
  };
  for (const entry of mail.to) {
    for (const { name, address } of addressparser(entry, { flatten: true }) as Array<{ name?: string; address?: string }>) {
      if (address) add({ address, ...(name && { name }) });
    }
  }
  for (const user of users) if (user.email !== undefined) add({ address: user.email, uid: user.uid });
  return [...found.values()];
}

/** A recipient's own data: by its address in any case, else by its uid. */
function recipientDataLookup(byKey: Record<string, Record<string, unknown>> = {}): (recipient: SeparateRecipient) => Record<string, unknown> {
  const lowered = new Map(Object.entries(byKey).map(([key, data]) => [key.toLowerCase(), data]));
  return (recipient) => lowered.get(recipient.key) ?? (recipient.uid === undefined ? undefined : byKey[recipient.uid]) ?? {};
}

/**
 * The one user whose fields a template may read: the mail's only recipient, named in `toUids`. Any other
 * recipient would read that user's fields too: whoever writes the mail could add their own address and learn
 * them, and with several users each would see the others'.
 */
function profileUid(mail: MailRequest): string | undefined {
  const others = mail.to.length + mail.cc.length + mail.bcc.length + mail.ccUids.length + mail.bccUids.length;
  return mail.toUids.length === 1 && others === 0 ? mail.toUids[0] : undefined;
}

/**
 * The mail's own locale and time zone win; else the user's, when USER_TEMPLATE_FIELDS lists them. A user's value
 * that is not one is skipped with a warning rather than failing the mail: the user document is not the mail's
 * author's to fix, and a password reset should still arrive.
 */
function renderOptions(mail: MailRequest, recipient: Record<string, unknown> | undefined, path: string): RenderOptions {
  const fromUser = (field: "locale" | "timeZone", canonical: (value: unknown) => string | undefined): string | undefined => {
    if (mail[field] !== undefined || recipient?.[field] === undefined) return mail[field];
    const value = canonical(recipient[field]);
    if (value === undefined) logs.userTemplateFieldIgnored(path, field);
    return value;
  };
  return { locale: fromUser("locale", canonicalLocale), timeZone: fromUser("timeZone", canonicalTimeZone), recipient };
}

async function render(
  db: Firestore,
  collection: string,
  request: TemplateRequest,
  message: MailMessage | undefined,
  templates: TemplateCache,
  options: RenderOptions,
  path: string,
): Promise<{ message: MailMessage; templateLocale?: string | null }> {
  return renderLoaded(await loadTemplate(db, collection, request.name), request.name, request.data, message, templates, options, path);
}

function renderLoaded(
  loaded: { template: TemplateDocument; partials: TemplateDocument[] },
  name: string,
  data: Record<string, unknown>,
  message: MailMessage | undefined,
  templates: TemplateCache,
  options: RenderOptions,
  path: string,
): { message: MailMessage; templateLocale?: string | null } {
  const rendered = renderTemplate(loaded.template, loaded.partials, data, templates, options);
  if (rendered.ignoredFields.length > 0) logs.ignoredTemplateFields(path, name, rendered.ignoredFields);
  return { message: applyTemplate(message, rendered), templateLocale: rendered.templateLocale };
}
