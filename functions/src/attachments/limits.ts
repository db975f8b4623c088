/**
 * Bounds on what downloading a mail's URL attachments may cost: the URLs
 * are chosen by whoever writes the document, who could otherwise hold the
 * function's memory, network and processing lease.
 */
import { DOWNLOAD_DEADLINE_MS, DOWNLOAD_IDLE_MS } from "../shared/budget";

export const DOWNLOAD_LIMITS = Object.freeze({
  /** Attachments per message given as an https URL (`path` or `href`). */
  urlAttachments: 10,
  /** Bytes in one downloaded attachment; reading stops there. */
  attachmentBytes: 10 * 1024 * 1024,
  /** A message's attachments together, downloaded or inline: under SendGrid's 30 MB and most servers' 25 MB once base64 adds its third. */
  mailBytes: 18 * 1024 * 1024,
  /** Redirects followed per attachment; each is checked like the first URL. */
  redirects: 3,
  deadlineMs: DOWNLOAD_DEADLINE_MS,
  idleMs: DOWNLOAD_IDLE_MS,
  /** Entries in one attachment's `httpHeaders`. */
  httpHeaders: 20,
  /** Characters in one `httpHeaders` value. */
  httpHeaderValueLength: 8192,
});
