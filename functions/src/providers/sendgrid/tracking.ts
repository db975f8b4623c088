/**
 * What the send path attaches so that SendGrid's events name their mail
 * document (see webhook.ts): custom arguments of the v3 API request, which
 * SendGrid repeats in every event and never shows recipients. (Mail to
 * smtp.sendgrid.net always goes through the API here, so the SMTP form,
 * unique_args in X-SMTPAPI, is not needed, and a document may not set it.)
 */
import type { WebhookConfig } from "../../config/webhook-params";
import { trackingValue } from "../../webhooks/tracking-value";

/** For the v3 mail-send body's `custom_args` (merged after the document's own `sendGrid.customArgs`). */
export function sendGridCustomArgs(config: WebhookConfig, mailPath: string): Record<string, string> {
  return { ...trackingValue(config, "sendgrid", mailPath) };
}
