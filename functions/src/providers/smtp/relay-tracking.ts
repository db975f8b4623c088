/**
 * Mail relayed over SMTP through a provider that sends delivery reports
 * (Mailgun, Postmark) carries that provider's tracking headers, chosen by
 * the relay's host and only when its webhook is configured.
 */
import type { Config } from "../../config";
import { MAILGUN_SMTP_HOSTS, mailgunSmtpHeaders, mailgunWebhook } from "../mailgun/webhook";
import { POSTMARK_SMTP_HOSTS, postmarkSmtpHeaders, postmarkWebhook } from "../postmark/webhook";

const RELAYS = [
  { hosts: MAILGUN_SMTP_HOSTS, webhook: mailgunWebhook, headers: mailgunSmtpHeaders },
  { hosts: POSTMARK_SMTP_HOSTS, webhook: postmarkWebhook, headers: postmarkSmtpHeaders },
];

export function relayTrackingHeaders(config: Pick<Config, "smtp" | "webhooks">, mailPath: string): Record<string, string> {
  const host = config.smtp.host?.toLowerCase();
  const relay = host ? RELAYS.find(({ hosts, webhook }) => webhook.configured(config.webhooks) && hosts.includes(host)) : undefined;
  return relay ? relay.headers(config.webhooks, mailPath) : {};
}
