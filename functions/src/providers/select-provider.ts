/**
 * The one place that decides how mail leaves: the first provider that
 * handles the configuration. SMTP handles every configuration, so it comes
 * last. Adding a provider is one entry here (see docs/contributing.md).
 */
import type { Config } from "../config";
import type { ProviderWebhook } from "../webhooks/webhook-provider";
import { mailgunWebhook } from "./mailgun/webhook";
import { postmarkWebhook } from "./postmark/webhook";
import type { MailProvider, MailTransport } from "./provider";
import { sendGridProvider } from "./sendgrid/sendgrid-provider";
import { sendGridWebhook } from "./sendgrid/webhook";
import { smtpProvider } from "./smtp/smtp-provider";

const PROVIDERS: readonly MailProvider[] = [sendGridProvider, smtpProvider];

/**
 * The providers whose delivery events the webhooks endpoint accepts. Mailgun
 * and Postmark relay the extension's SMTP mail, so they have a webhook here
 * but no transport of their own.
 */
export const PROVIDER_WEBHOOKS: readonly ProviderWebhook[] = [sendGridWebhook, mailgunWebhook, postmarkWebhook];

export function selectProvider(config: Config): MailProvider {
  return PROVIDERS.find((provider) => provider.handles(config)) ?? smtpProvider;
}

/** The transport of the provider selected for `config`. */
export function createTransport(config: Config): MailTransport {
  return selectProvider(config).createTransport(config);
}
