/**
 * Mail relayed over SMTP through a provider that reports delivery events
 * (Mailgun, Postmark) carries that provider's tracking header, so that its
 * events name the mail document. Chosen by the relay's host, like
 * Microsoft's rules, and only when that provider's webhook is configured.
 */
import type { Config } from "../../config";
import { MAILGUN_SMTP_HOSTS, mailgunSmtpHeaders } from "../mailgun/tracking";
import { POSTMARK_SMTP_HOSTS, postmarkSmtpHeaders } from "../postmark/tracking";

export function relayTrackingHeaders(config: Pick<Config, "smtp" | "webhooks">, mailPath: string): Record<string, string> {
  const host = config.smtp.host?.toLowerCase();
  if (!host) return {};
  if (config.webhooks.mailgunSigningKey && MAILGUN_SMTP_HOSTS.includes(host)) return mailgunSmtpHeaders(config.webhooks, mailPath);
  if (config.webhooks.postmarkCredentials && POSTMARK_SMTP_HOSTS.includes(host)) return postmarkSmtpHeaders(config.webhooks, mailPath);
  return {};
}
