/**
 * What the send path attaches so that SendGrid's events name their mail
 * document (see webhook.ts): a custom argument of the v3 API request, which
 * SendGrid repeats in every event and never shows recipients. (Mail to
 * smtp.sendgrid.net always goes through the API here, so the SMTP form,
 * unique_args in X-SMTPAPI, is not needed.)
 */
import { TRACKING_KEY } from "../../webhooks/webhook-provider";

/** For the v3 mail-send body's `custom_args` (merged with the document's own `sendGrid.customArgs`). */
export function sendGridCustomArgs(mailPath: string): Record<string, string> {
  return { [TRACKING_KEY]: mailPath };
}

