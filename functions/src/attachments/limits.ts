/**
 * Bounds on what downloading a mail's URL attachments may cost. The URLs are
 * chosen by whoever writes the mail document, so without bounds one document
 * could hold the function's memory, its network and its processing lease.
 */
export const DOWNLOAD_LIMITS = Object.freeze({
  /** Attachments per message given as an https URL (`path` or `href`); each is at least one request. */
  urlAttachments: 10,
  /** Bytes in one downloaded attachment. Reading stops at the limit. */
  attachmentBytes: 10 * 1024 * 1024,
  /**
   * Bytes of all of a message's attachments together, downloaded or inline.
   * Below SendGrid's 30 MB message limit and most SMTP servers' 25 MB, once
   * base64 has added its third.
   */
  mailBytes: 18 * 1024 * 1024,
  /** Redirects followed per attachment; each one is checked like the first URL. */
  redirects: 3,
  /**
   * All of a message's downloads together, redirects included. It runs
   * before the send's own deadline (SEND_DEADLINE_MS, 40 s), and both
   * together stay inside the 60 s processing lease.
   */
  deadlineMs: 12_000,
  /** A server that sends nothing for this long is dropped, even with deadline left. */
  idleMs: 5_000,
  /** Entries in one attachment's `httpHeaders`. */
  httpHeaders: 20,
  /** Characters in one `httpHeaders` value. */
  httpHeaderValueLength: 8192,
});
