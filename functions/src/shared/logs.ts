/**
 * Every log line of the extension: one function per event, structured
 * fields, and every registered secret scrubbed from the text. Message
 * bodies, attachment content and addresses of users looked up by uid are
 * never logged.
 */
import * as logger from "firebase-functions/logger";

const secrets = new Set<string>();

/** Registers values (passwords, tokens) that must never reach a log line. */
export function registerSecrets(values: Array<string | undefined>): void {
  for (const value of values) {
    // Very short values would scrub ordinary words out of every line.
    if (value && value.length >= 4) {
      secrets.add(value);
      // As it appears inside a URL, and inside quoted JSON (a provider's error body, a PEM key's line breaks).
      secrets.add(encodeURIComponent(value));
      secrets.add(JSON.stringify(value).slice(1, -1));
    }
  }
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[REDACTED]");
  return out;
}

/** `what: Name: message`, redacted. */
const failed = (what: string, error: unknown): string => redact(`${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);

export const configInvalid = (message: string): void => logger.error(redact(`firestore-send-email is misconfigured: ${message}`), { code: "invalid-config" });

/** SMTP_CONNECTION_URI options not passed on; by name only, since values may be secret. */
export const ignoredUriOptions = (names: readonly string[]): void =>
  logger.warn("SMTP_CONNECTION_URI options were ignored", { code: "ignored-uri-options", options: names.slice(0, 20).map((name) => redact(name.slice(0, 64))) });

export const transportReady = (kind: string, host: string | undefined, pooled: boolean): void => logger.info("Mail transport initialised", { kind, host, pooled });

export const transportInitFailed = (error: unknown): void => logger.error(failed("Mail transport could not be initialised", error));

export const delivered = (path: string, info: { messageId: string | null; accepted: string[]; rejected: string[] }): void =>
  logger.info("Delivered email", { path, messageId: info.messageId, accepted: info.accepted.length, rejected: info.rejected.length });

export const deliveryFailed = (path: string, code: string, message: string): void => logger.warn(redact(`Delivery failed: ${message}`), { path, code });

export const invalidDocument = (path: string, message: string): void => logger.warn(redact(`Mail document rejected: ${message}`), { path, code: "invalid-document" });

export const unknownState = (path: string, state: unknown): void => logger.warn("Mail document has an unknown delivery.state", { path, state: String(state).slice(0, 64) });

/** An expired lease always ends the mail in ERROR (delivery/lease-expiry.ts). */
export const leaseExpired = (path: string, attempts: number): void =>
  logger.warn("Processing lease expired; the mail was marked as ERROR", { path, state: "ERROR", attempts });

/** A success too large for its document, recorded with the minimal delivery.info (delivery/bounded-info.ts). */
export function outcomeInfoReduced(path: string, reason: string): void {
  logger.warn(
    `The mail was delivered, but Firestore refused delivery.info beside this large document (${reason}); ` +
      "it was recorded with the message id, the server's reply and the counts only.",
    { path, code: "outcome-info-reduced" },
  );
}

export const writeLost = (path: string, step: string): void => logger.debug("Another invocation changed the document first; stopping", { path, step });

export const lateResultDiscarded = (path: string, outcome: string): void =>
  logger.warn("A delivery attempt lost its lease before recording its outcome; the result was not written", { path, outcome });

export const ignoredMessageFields = (path: string, fields: string[]): void => logger.warn("Unsupported fields in the mail document were ignored", { path, fields });

export const unexpectedError = (path: string, error: unknown): void => logger.error(failed("Unexpected error while processing a mail document", error), { path });

/** Logged by uid, never by address. */
export const uidsWithoutEmail = (path: string, uids: string[]): void =>
  logger.warn("Some user ids have no user document or no email address and were skipped", { path, count: uids.length, uids: uids.slice(0, 20).map((uid) => uid.slice(0, 128)) });

export const ignoredTemplateFields = (path: string, template: string, fields: string[]): void =>
  logger.warn("Unsupported attachment fields in a template were ignored", { path, template: template.slice(0, 128), fields });

/** The value is not logged: it comes from a user's document. */
export const userTemplateFieldIgnored = (path: string, field: string): void =>
  logger.warn(`The recipient's user document has a ${field} that is not valid; the mail was rendered without it`, { path, field });

export function maintenanceDone(counts: { expired: number; released: number; cleaned: number; skipped: number; foreign: number }): void {
  if (counts.expired + counts.released + counts.cleaned + counts.skipped + counts.foreign > 0) logger.info("Scheduled maintenance finished", counts);
}
/** A sweep query refused for want of an index: which one to create, with Firestore's link when it gave one. Logged each run until it exists. */
export function sweepIndexMissing(index: { collectionId: string; field: string; group: boolean }, link: string | null, stalled: string): void {
  const scope = index.group ? "collection group" : "collection";
  const where = link ? `here: ${link}` : "in the Firebase console: Firestore → Indexes → Single field → Add exemption.";
  logger.error(
    `The scheduled sweep cannot query ${index.field}: Firestore needs a single-field index on ${scope} "${index.collectionId}", ` +
      `field "${index.field}", ascending, with query scope "${scope}". Until it exists, ${stalled}; the sweep's other query ` +
      `is not affected. Create the index ${where}`,
    { code: "sweep-index-missing", collectionGroup: index.collectionId, field: index.field, queryScope: index.group ? "COLLECTION_GROUP" : "COLLECTION", link },
  );
}

/** A wildcard MAIL_COLLECTION's sweep query met only due documents of same-named collections outside the pattern, page after page. */
export function sweepStoppedAtForeignDocuments(field: string, mailCollection: string, read: number, example: string): void {
  logger.error(
    `The scheduled sweep stopped querying ${field} after ${read} due documents of collections outside MAIL_COLLECTION (${mailCollection}), ` +
      `such as ${example}. Its collection-group query reads every collection of that name, oldest first: mail of ${mailCollection} due after them ` +
      "is not reached until they are no longer due there, or are moved.",
    { code: "sweep-foreign-documents", field, mailCollection, read, example },
  );
}

export const oauth2TokenIssued = (host: string | undefined, expiresAt: number | undefined): void =>
  logger.info("OAuth2 access token obtained", { host, expiresAt: expiresAt ? new Date(expiresAt).toISOString() : undefined });

/** A lifecycle event could not be published; the delivery itself is unaffected. */
export const eventPublishFailed = (type: string, path: string, error: unknown): void =>
  logger.warn(failed(`Could not publish the ${type} event`, error), { path, code: "event-publish-failed" });

/** A webhook or unsubscribe request refused: the reason, never the request. */
export const webhookRefused = (route: string, status: number, reason: string): void => logger.warn(`Webhook request refused: ${reason}`, { route, status, code: "webhook-refused" });

type RecordedCount = "received" | "recorded" | "duplicates" | "ignored" | "untracked" | "missing" | "strangers" | "rejected" | "writes";

/** What one webhook request recorded; counts only, never addresses. */
export const webhookRecorded = (route: string, counts: Readonly<Record<RecordedCount, number>>): void => logger.info("Webhook events recorded", { route, ...counts });

/** Reports for mail not sent by this extension, acknowledged so that the provider stops retrying. */
export function webhookUntracked(route: string, count: number): void {
  if (count > 0) logger.info("Webhook events for mail not sent by this extension were acknowledged and ignored", { route, count });
}

export const webhookFailed = (route: string, error: unknown): void =>
  logger.error(failed("Webhook events could not be recorded; the provider will retry", error), { route, code: "webhook-failed" });

export const unsubscribed = (path: string | undefined): void => logger.info("Recipient unsubscribed through the one-click link", { path });

/** Counted, not named. */
export const recipientsSuppressed = (path: string, count: number, remaining: number): void =>
  logger.info("Suppressed recipients were dropped before sending", { path, suppressed: count, remaining });

/** UNSUBSCRIBE_DEFAULT asked for a link the mail cannot carry (not exactly one recipient). */
export const unsubscribeLinkSkipped = (path: string, recipients: number): void =>
  logger.info("No List-Unsubscribe header: the mail does not have exactly one recipient", { path, recipients });

/** The address stays in the server log: `delivery.error` is read by clients, and must not map the project's private network. */
export const attachmentAddressRefused = (host: string, address: string, reason: string): void =>
  logger.warn(`An attachment download was refused: ${host} resolved to ${address}, ${reason}`, { host, address, code: "address-refused" });

/** Reports left out because Firestore refused their ids or values; the others were recorded. */
export function webhookReportsRejected(route: string, count: number, error: unknown): void {
  if (count > 0) logger.warn(failed("Webhook events were left out, as Firestore refused them", error), { route, count, code: "webhook-events-rejected" });
}
