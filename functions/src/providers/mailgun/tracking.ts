/**
 * What the send path attaches to mail relayed through Mailgun's SMTP servers
 * so that Mailgun's events name their mail document: X-Mailgun-Variables, a
 * JSON object Mailgun removes from the message and repeats in every event as
 * `user-variables`, holding the signed tracking value (tracking-value.ts).
 */
import type { WebhookConfig } from "../../config/webhook-params";
import { trackingValue } from "../../webhooks/tracking-value";

/** Mailgun's SMTP relays (US and EU regions). */
export const MAILGUN_SMTP_HOSTS: readonly string[] = ["smtp.mailgun.org", "smtp.eu.mailgun.org"];

export function mailgunSmtpHeaders(config: WebhookConfig, mailPath: string): Record<string, string> {
  const value = trackingValue(config, "mailgun", mailPath);
  return value ? { "X-Mailgun-Variables": JSON.stringify(value) } : {};
}
