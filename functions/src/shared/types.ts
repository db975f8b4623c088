/** A mail document once validated, and what a send records. */

/** `delivery.state`'s values, promised in the delivery contract. Only people and clients write `RETRY`, to ask for another attempt. */
export const STATES = ["PENDING", "PROCESSING", "SUCCESS", "ERROR", "RETRY"] as const;
export type State = (typeof STATES)[number];

/** What a successful send records in `delivery.info`. */
export interface DeliveryInfo {
  /** The Message-ID header of the email that was sent. */
  messageId: string | null;
  /** Addresses the server accepted. */
  accepted: string[];
  /** Addresses the server refused, permanently or temporarily. */
  rejected: string[];
  /** Addresses the server deferred (always empty over SMTP). */
  pending: string[];
  /** The server's last reply, for example `250 2.0.0 OK queued`. */
  response: string | null;
  /** SendGrid only: its id for the queued message (the API's `X-Message-Id`). */
  sendgridQueueId?: string | null;
  /** The template variant used (mail-documents.md#localized-templates); only when a locale was asked for or the template has variants. */
  templateLocale?: string | null;
  /** Recipients left out because SUPPRESSION_COLLECTION lists them; only when there were any. */
  suppressed?: string[];
  /** Only when something was shortened to fit the document (delivery/bounded-info.ts); `counts` has the full numbers. */
  truncated?: true;
  counts?: DeliveryCounts;
  /** With ARCHIVE_SENT_MAIL, where this attempt's copy of the message was stored, and its hash; absent when it could not be. */
  archive?: ArchiveReference;
}

/** `delivery.info.archive`: one of `path` and `storageUri` (mail-documents.md#the-archive-of-what-was-sent). */
export interface ArchiveReference {
  /** Hex SHA-256 of the archived record's canonical JSON (archive/canonical-json.ts). */
  sha256: string;
  /** The archive document, `{mail path}/archive/{attempt id}`. */
  path?: string;
  /** The Cloud Storage object, `gs://BUCKET/NAME`, when the record did not fit a document. */
  storageUri?: string;
}

/** The full length of each address list of a `DeliveryInfo`. */
export interface DeliveryCounts {
  accepted: number;
  rejected: number;
  pending: number;
  /** Only when the info had a `suppressed` list. */
  suppressed?: number;
}

/** One attachment of a mail document, after validation. */
export interface MailAttachment {
  filename?: string;
  /** A string (decoded with `encoding`) or raw bytes. */
  content?: string | Buffer | Uint8Array;
  /** A `data:` URI, an `https:` URL or a `gs://` Cloud Storage location; local file paths are refused. */
  path?: string;
  href?: string;
  contentType?: string;
  contentDisposition?: "attachment" | "inline";
  cid?: string;
  encoding?: string;
  headers?: Record<string, string | string[]>;
  /** Request headers for downloading an https `path`/`href` (e.g. `Authorization`); sent to that URL's origin only. */
  httpHeaders?: Record<string, string>;
  /** The whole MIME part as the author built it; takes precedence over every other source. */
  raw?: string;
  /** A Cloud Storage object name relative to STORAGE_ATTACHMENTS_PATH filled from the mail's path (`invoices/42.pdf`). */
  storagePath?: string;
}

/** The `message` map of a mail document, after validation. */
export interface MailMessage {
  subject?: string;
  text?: string;
  html?: string;
  amp?: string;
  attachments?: MailAttachment[];
  messageId?: string;
  inReplyTo?: string;
  references?: string | string[];
  priority?: "high" | "normal" | "low";
  headers?: Record<string, string | string[]>;
  date?: Date;
}

/** `template: {name, data}`: which template to render, and with what. */
export interface TemplateRequest {
  name: string;
  data: Record<string, unknown>;
}

/** A mail document after validation, addresses normalised to arrays. */
export interface MailRequest {
  to: string[];
  cc: string[];
  bcc: string[];
  toUids: string[];
  ccUids: string[];
  bccUids: string[];
  from?: string;
  replyTo?: string;
  headers?: Record<string, string | string[]>;
  message?: MailMessage;
  template?: TemplateRequest;
  /** SendGrid's own options, checked further by providers/sendgrid/. */
  sendGrid?: Record<string, unknown>;
  /** Categories for provider analytics; each provider applies its own limits. */
  categories?: string[];
  /** Add a one-click List-Unsubscribe link (needs UNSUBSCRIBE_SIGNING_KEY and exactly one recipient). */
  unsubscribe?: boolean;
  /** SMTP delivery status notifications (RFC 3461); other providers ignore it. */
  dsn?: MailDsn;
  /** A BCP 47 tag, canonical: picks the template's localized variant and the helpers' formats. */
  locale?: string;
  /** An IANA time zone, canonical: where the template helpers show times. Default UTC. */
  timeZone?: string;
  /**
   * The mail stream (`newsletter`, `transactional`…; suppression/streams.ts): unsubscribes and complaints about
   * this mail suppress only this stream, and `transactional` mail gets no unsubscribe link unless it asks. Unset:
   * as before streams, stopped by any suppression of the address.
   */
  stream?: string;
  /** One message per recipient of `to` and `toUids` (mail-documents.md#one-message-per-recipient); `cc` and `bcc` are refused with it. */
  separateMessages?: boolean;
  /** With `separateMessages`: template data per recipient, keyed by address (any case) or uid, merged over `template.data`. */
  recipientData?: Record<string, Record<string, unknown>>;
}

/** `dsn`: what the SMTP server is asked to report back to the envelope sender, and how. Every field is optional. */
export interface MailDsn {
  /** When to report, per recipient (`NOTIFY`): some of success, failure and delay, or never. Default: the server's (usually failure and delay). */
  notify?: "never" | Array<"success" | "failure" | "delay">;
  /** How much of the message a report returns (`RET`): all of it or its headers. Default: the server's. */
  ret?: "full" | "headers";
  /** The sender's identifier for this mail (`ENVID`), repeated in each report: printable ASCII, at most 100 characters. */
  envid?: string;
}
