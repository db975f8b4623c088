/**
 * What the send path attaches to mail relayed through Postmark's SMTP
 * servers so that Postmark's webhooks name their mail document: the signed
 * tracking value (tracking-value.ts) as X-PM-Metadata-fse_mail and
 * X-PM-Metadata-fse_sig headers, which Postmark removes from the message and
 * repeats in every record's `Metadata`.
 */
import type { WebhookConfig } from "../../config/webhook-params";
import { trackingValue } from "../../webhooks/tracking-value";

/** Postmark's SMTP relays (transactional and broadcast streams). */
export const POSTMARK_SMTP_HOSTS: readonly string[] = ["smtp.postmarkapp.com", "smtp-broadcasts.postmarkapp.com"];

/** Postmark keeps metadata values up to 80 characters; a longer path is not sent (its events are then untracked). */
export const POSTMARK_METADATA_MAX = 80;

export function postmarkSmtpHeaders(config: WebhookConfig, mailPath: string): Record<string, string> {
  if (mailPath.length > POSTMARK_METADATA_MAX || /[\u0000-\u001f\u007f]/.test(mailPath)) return {};
  const value = trackingValue(config, "postmark", mailPath);
  return value ? Object.fromEntries(Object.entries(value).map(([key, text]) => [`X-PM-Metadata-${key}`, text])) : {};
}
