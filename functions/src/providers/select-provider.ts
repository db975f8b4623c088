/**
 * The one place that decides how mail leaves: the first provider that
 * handles the configuration, SMTP last as it handles every one. Adding a
 * provider is one entry here (docs/contributing.md).
 */
import type { Config } from "../config";
import type { ProviderEndpoints } from "./shared/provider-endpoints";
import type { ProviderWebhook } from "../webhooks/webhook-provider";
import { mailgunWebhook } from "./mailgun/webhook";
import { postmarkWebhook } from "./postmark/webhook";
import type { MailProvider, MailTransport } from "./provider";
import { sendGridProvider } from "./sendgrid/sendgrid-provider";
import { sendGridWebhook } from "./sendgrid/webhook";
import { smtpProvider } from "./smtp/smtp-provider";

const PROVIDERS: readonly MailProvider[] = [sendGridProvider, smtpProvider];

/** The webhooks the endpoint accepts. Mailgun and Postmark relay SMTP mail: a webhook, no transport. */
export const PROVIDER_WEBHOOKS: readonly ProviderWebhook[] = [sendGridWebhook, mailgunWebhook, postmarkWebhook];

export function selectProvider(config: Config): MailProvider {
  return PROVIDERS.find((provider) => provider.handles(config)) ?? smtpProvider;
}

export function createTransport(config: Config, endpoints: ProviderEndpoints = {}): MailTransport {
  return selectProvider(config).createTransport(config, endpoints);
}
