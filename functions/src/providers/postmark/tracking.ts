/**
 * What the send path attaches to mail relayed through Postmark's SMTP
 * servers so that Postmark's webhooks name their mail document: an
 * X-PM-Metadata-fse_mail header, which Postmark removes from the message and
 * repeats in every record's `Metadata`.
 */
import { TRACKING_KEY } from "../../webhooks/webhook-provider";

/** Postmark's SMTP relays (transactional and broadcast streams). */
export const POSTMARK_SMTP_HOSTS: readonly string[] = ["smtp.postmarkapp.com", "smtp-broadcasts.postmarkapp.com"];

/** Postmark keeps metadata values up to 80 characters; a longer path is not sent (its events are then untracked). */
export const POSTMARK_METADATA_MAX = 80;

export function postmarkSmtpHeaders(mailPath: string): Record<string, string> {
  if (mailPath.length > POSTMARK_METADATA_MAX || /[\u0000-\u001f\u007f]/.test(mailPath)) return {};
  return { [`X-PM-Metadata-${TRACKING_KEY}`]: mailPath };
}
