/**
 * What the send path attaches to mail relayed through Mailgun's SMTP servers
 * so that Mailgun's events name their mail document: X-Mailgun-Variables, a
 * JSON object Mailgun removes from the message and repeats in every event as
 * `user-variables`.
 */
import { TRACKING_KEY } from "../../webhooks/webhook-provider";

/** Mailgun's SMTP relays (US and EU regions). */
export const MAILGUN_SMTP_HOSTS: readonly string[] = ["smtp.mailgun.org", "smtp.eu.mailgun.org"];

export function mailgunSmtpHeaders(mailPath: string): Record<string, string> {
  return { "X-Mailgun-Variables": JSON.stringify({ [TRACKING_KEY]: mailPath }) };
}
