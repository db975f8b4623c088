/**
 * Every log line of the extension: one function per event, structured
 * fields, and every registered secret scrubbed from the text. Message
 * bodies, attachment content and addresses of users looked up by uid are
 * never logged.
 *
 * Each line carries `event`, a stable name that log-based metrics and
 * alerts filter on (docs/operations.md lists them), and where they apply
 * the same few fields under the same names: `mailPath`, `state` (the
 * delivery state the mail is given), `code` (what went wrong), `provider`
 * and `profile`. The message texts stay as they were: people search for them.
 */
import * as logger from "firebase-functions/logger";
import type { State } from "./types";

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

/** What sent a mail: the provider's name (`smtp`, `sendgrid`) and, with sender profiles, the profile's id. */
export interface SentWith {
  provider: string;
  profile?: string;
}

/** `profile` is left out when there is none. */
const sentWithFields = ({ provider, profile }: SentWith) => ({ provider, ...(profile !== undefined && { profile }) });

/** The `code` of a thrown value that has one (SendEmailError), else `fallback`. */
const codeOf = (error: unknown, fallback: string): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[a-z][a-z0-9-]{0,63}$/.test(code) ? code : fallback;
};

export const configInvalid = (message: string): void =>
  logger.error(redact(`firestore-send-email is misconfigured: ${message}`), { event: "config-invalid", code: "invalid-config" });

/** SMTP_CONNECTION_URI options not passed on; by name only, since values may be secret. */
export const ignoredUriOptions = (names: readonly string[]): void =>
  logger.warn("SMTP_CONNECTION_URI options were ignored", {
    event: "uri-options-ignored",
    code: "ignored-uri-options",
    options: names.slice(0, 20).map((name) => redact(name.slice(0, 64))),
  });

export const transportReady = (kind: string, host: string | undefined, pooled: boolean): void =>
  logger.info("Mail transport initialised", { event: "transport-ready", provider: kind, host, pooled });

export const transportInitFailed = (error: unknown): void =>
  logger.error(failed("Mail transport could not be initialised", error), { event: "transport-init-failed", code: codeOf(error, "unknown") });

export const delivered = (path: string, info: { messageId: string | null; accepted: string[]; rejected: string[] }, sentWith: SentWith): void =>
  logger.info("Delivered email", {
    event: "mail-delivered",
    mailPath: path,
    state: "SUCCESS" satisfies State,
    ...sentWithFields(sentWith),
    messageId: info.messageId,
    accepted: info.accepted.length,
    rejected: info.rejected.length,
  });

/**
 * A failed send. `state` is what the attempt records: PENDING when it is
 * retried automatically, ERROR when it is final. `code` `outcome-unknown`
 * means the provider may have accepted the mail.
 */
export const deliveryFailed = (path: string, failure: { code: string; state: State; message: string }, sentWith: SentWith): void =>
  logger.warn(redact(`Delivery failed: ${failure.message}`), { event: "delivery-failed", mailPath: path, state: failure.state, code: failure.code, ...sentWithFields(sentWith) });

export const invalidDocument = (path: string, message: string): void =>
  logger.warn(redact(`Mail document rejected: ${message}`), { event: "document-invalid", mailPath: path, state: "ERROR" satisfies State, code: "invalid-document" });

/** `found`: the value that is not a state, clipped. */
export const unknownState = (path: string, found: unknown): void =>
  logger.warn("Mail document has an unknown delivery.state", {
    event: "unknown-state",
    mailPath: path,
    state: "ERROR" satisfies State,
    code: "unknown-state",
    found: String(found).slice(0, 64),
  });

/** An expired lease always ends the mail in ERROR (delivery/lease-expiry.ts). */
export const leaseExpired = (path: string, attempts: number): void =>
  logger.warn("Processing lease expired; the mail was marked as ERROR", { event: "lease-expired", mailPath: path, state: "ERROR" satisfies State, code: "lease-expired", attempts });

/** A success too large for its document, recorded with the minimal delivery.info (delivery/bounded-info.ts). */
export function outcomeInfoReduced(path: string, reason: string): void {
  logger.warn(
    `The mail was delivered, but Firestore refused delivery.info beside this large document (${reason}); ` +
      "it was recorded with the message id, the server's reply and the counts only.",
    { event: "outcome-info-reduced", mailPath: path, state: "SUCCESS" satisfies State, code: "outcome-info-reduced" },
  );
}

/**
 * An accepted message was not archived (ARCHIVE_SENT_MAIL): the mail's outcome stands, without
 * `delivery.info.archive`. `code` says why; the reason never holds the message's content.
 */
export const archiveFailed = (path: string, code: string, reason: string): void =>
  logger.warn(`The mail was delivered, but its copy was not archived: ${reason}`, { event: "archive-failed", mailPath: path, state: "SUCCESS" satisfies State, code });

export const writeLost = (path: string, step: string): void =>
  logger.debug("Another invocation changed the document first; stopping", { event: "write-lost", mailPath: path, step });

/** `outcome`: the state the attempt would have written; nothing was written. */
export const lateResultDiscarded = (path: string, outcome: string): void =>
  logger.warn("A delivery attempt lost its lease before recording its outcome; the result was not written", {
    event: "late-result-discarded",
    mailPath: path,
    code: "late-result-discarded",
    outcome,
  });

export const ignoredMessageFields = (path: string, fields: string[]): void =>
  logger.warn("Unsupported fields in the mail document were ignored", { event: "message-fields-ignored", mailPath: path, fields });

export const unexpectedError = (path: string, error: unknown): void =>
  logger.error(failed("Unexpected error while processing a mail document", error), { event: "unexpected-error", mailPath: path, code: codeOf(error, "unexpected-error") });

/** Logged by uid, never by address. */
export const uidsWithoutEmail = (path: string, uids: string[]): void =>
  logger.warn("Some user ids have no user document or no email address and were skipped", {
    event: "uids-without-email",
    mailPath: path,
    count: uids.length,
    uids: uids.slice(0, 20).map((uid) => uid.slice(0, 128)),
  });

export const ignoredTemplateFields = (path: string, template: string, fields: string[]): void =>
  logger.warn("Unsupported attachment fields in a template were ignored", { event: "template-fields-ignored", mailPath: path, template: template.slice(0, 128), fields });

/** The value is not logged: it comes from a user's document. */
export const userTemplateFieldIgnored = (path: string, field: string): void =>
  logger.warn(`The recipient's user document has a ${field} that is not valid; the mail was rendered without it`, { event: "user-template-field-ignored", mailPath: path, field });

/** `truncated`: due work may remain for the next run (see sweepOutOfBudget and sweepStoppedAtForeignDocuments for why). */
export function maintenanceDone(counts: { expired: number; released: number; cleaned: number; skipped: number; foreign: number; truncated: boolean }): void {
  const { expired, released, cleaned, skipped, foreign, truncated } = counts;
  if (expired + released + cleaned + skipped + foreign > 0 || truncated) {
    logger.info("Scheduled maintenance finished", { event: "sweep-finished", expired, released, cleaned, skipped, foreign, truncated });
  }
}

/**
 * One of the sweep's scans stopped because the run's time budget
 * (SWEEP_BUDGET_MS) was spent while due documents remained; the next run
 * continues. Now and then is normal after a burst; every run means the
 * sweep does not keep up.
 */
export const sweepOutOfBudget = (field: string, mailCollection: string, pages: number): void =>
  logger.warn(`The scheduled sweep ran out of time while querying ${field}; the next run continues where it stopped.`, {
    event: "sweep-out-of-budget",
    code: "sweep-out-of-budget",
    field,
    mailCollection,
    pages,
  });

/** A sweep query refused for want of an index: which one to create, with Firestore's link when it gave one. Logged each run until it exists. */
export function sweepIndexMissing(index: { collectionId: string; field: string; group: boolean }, link: string | null, stalled: string): void {
  const scope = index.group ? "collection group" : "collection";
  const where = link ? `here: ${link}` : "in the Firebase console: Firestore → Indexes → Single field → Add exemption.";
  logger.error(
    `The scheduled sweep cannot query ${index.field}: Firestore needs a single-field index on ${scope} "${index.collectionId}", ` +
      `field "${index.field}", ascending, with query scope "${scope}". Until it exists, ${stalled}; the sweep's other query ` +
      `is not affected. Create the index ${where}`,
    {
      event: "sweep-index-missing",
      code: "sweep-index-missing",
      collectionGroup: index.collectionId,
      field: index.field,
      queryScope: index.group ? "COLLECTION_GROUP" : "COLLECTION",
      link,
    },
  );
}

/** A wildcard MAIL_COLLECTION's sweep query met only due documents of same-named collections outside the pattern, page after page. */
export function sweepStoppedAtForeignDocuments(field: string, mailCollection: string, read: number, example: string): void {
  logger.error(
    `The scheduled sweep stopped querying ${field} after ${read} due documents of collections outside MAIL_COLLECTION (${mailCollection}), ` +
      `such as ${example}. Its collection-group query reads every collection of that name, oldest first: mail of ${mailCollection} due after them ` +
      "is not reached until they are no longer due there, or are moved.",
    { event: "sweep-foreign-documents", code: "sweep-foreign-documents", field, mailCollection, read, example },
  );
}

/** A secret version fetched (not served from the cache): by name, never by value. Counts what reading secrets costs. */
export const secretRead = (name: string, source: "secret-manager" | "local-file"): void => logger.info("Secret version read", { event: "secret-read", secret: name, source });

export const oauth2TokenIssued = (host: string | undefined, expiresAt: number | undefined): void =>
  logger.info("OAuth2 access token obtained", { event: "oauth2-token-issued", provider: "smtp", host, expiresAt: expiresAt ? new Date(expiresAt).toISOString() : undefined });

/** A lifecycle event could not be published; the delivery itself is unaffected. */
export const eventPublishFailed = (type: string, path: string, error: unknown): void =>
  logger.warn(failed(`Could not publish the ${type} event`, error), { event: "event-publish-failed", mailPath: path, code: "event-publish-failed", eventType: type });

/** A webhook or unsubscribe request refused: the reason, never the request. */
export const webhookRefused = (route: string, status: number, reason: string): void =>
  logger.warn(`Webhook request refused: ${reason}`, { event: "webhook-refused", route, status, code: "webhook-refused" });

type RecordedCount = "received" | "recorded" | "duplicates" | "ignored" | "untracked" | "missing" | "strangers" | "rejected" | "writes";

/** What one webhook request recorded; counts only, never addresses. */
export const webhookRecorded = (route: string, counts: Readonly<Record<RecordedCount, number>>): void =>
  logger.info("Webhook events recorded", { event: "webhook-recorded", route, ...counts });

/** Reports for mail not sent by this extension, acknowledged so that the provider stops retrying. */
export function webhookUntracked(route: string, count: number): void {
  if (count > 0) logger.info("Webhook events for mail not sent by this extension were acknowledged and ignored", { event: "webhook-untracked", route, count });
}

export const webhookFailed = (route: string, error: unknown): void =>
  logger.error(failed("Webhook events could not be recorded; the provider will retry", error), { event: "webhook-failed", route, code: "webhook-failed" });

/**
 * A bounce or spam complaint recorded for one recipient of a mail, once per
 * provider event (a redelivered event is not logged again): what the
 * per-hour alerts count. Never the address, nor the provider's reason text,
 * which often quotes it.
 */
export const recipientReported = (report: { mailPath: string; source: string; status: "bounced" | "complained"; bounceType?: "hard" | "soft" }): void =>
  logger.info(report.status === "bounced" ? "A recipient's mail bounced" : "A recipient marked the mail as spam", {
    event: "recipient-reported",
    mailPath: report.mailPath,
    provider: report.source,
    recipientStatus: report.status,
    ...(report.bounceType && { bounceType: report.bounceType }),
  });

export const unsubscribed = (path: string | undefined): void => logger.info("Recipient unsubscribed through the one-click link", { event: "unsubscribed", mailPath: path });

/** Counted, not named. */
export const recipientsSuppressed = (path: string, count: number, remaining: number): void =>
  logger.info("Suppressed recipients were dropped before sending", { event: "recipients-suppressed", mailPath: path, suppressed: count, remaining });

/** UNSUBSCRIBE_DEFAULT asked for a link the mail cannot carry (not exactly one recipient). */
export const unsubscribeLinkSkipped = (path: string, recipients: number): void =>
  logger.info("No List-Unsubscribe header: the mail does not have exactly one recipient", { event: "unsubscribe-link-skipped", mailPath: path, recipients });

/** The address stays in the server log: `delivery.error` is read by clients, and must not map the project's private network. */
export const attachmentAddressRefused = (host: string, address: string, reason: string): void =>
  logger.warn(`An attachment download was refused: ${host} resolved to ${address}, ${reason}`, { event: "attachment-address-refused", host, address, code: "address-refused" });

/** Reports left out because Firestore refused their ids or values; the others were recorded. */
export function webhookReportsRejected(route: string, count: number, error: unknown): void {
  if (count > 0) logger.warn(failed("Webhook events were left out, as Firestore refused them", error), { event: "webhook-events-rejected", route, count, code: "webhook-events-rejected" });
}
