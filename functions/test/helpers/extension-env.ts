/**
 * Configures the extension for an integration test the way Firebase does,
 * through environment variables named after the params. (A test's Firestore
 * client comes from emulator-fixture.ts.)
 */
import { resetConfigForTests } from "../../src/config";
import { resetRuntime } from "../../src/handlers/runtime";

/** Every param of extension.yaml, so that one test's settings never leak into the next. */
const PARAMS = [
  "DATABASE",
  "DATABASE_REGION",
  "AUTH_TYPE",
  "SMTP_CONNECTION_URI",
  "SMTP_PASSWORD",
  "HOST",
  "OAUTH_PORT",
  "OAUTH_SECURE",
  "CLIENT_ID",
  "CLIENT_SECRET",
  "REFRESH_TOKEN",
  "USER",
  "MAIL_COLLECTION",
  "DEFAULT_FROM",
  "DEFAULT_REPLY_TO",
  "USERS_COLLECTION",
  "TEMPLATES_COLLECTION",
  "TTL_EXPIRE_TYPE",
  "TTL_EXPIRE_VALUE",
  "TLS_OPTIONS",
  "MAX_ATTEMPTS",
  "RETRY_BACKOFF_SECONDS",
  "MAINTENANCE_SCHEDULE",
  "ALLOW_SENDGRID_BYPASS",
  "SENDGRID_WEBHOOK_PUBLIC_KEY",
  "MAILGUN_WEBHOOK_SIGNING_KEY",
  "POSTMARK_WEBHOOK_USERNAME",
  "POSTMARK_WEBHOOK_PASSWORD",
  "TRACK_OPENS_AND_CLICKS",
  "EVENT_HISTORY",
  "SUPPRESSION_COLLECTION",
  "UNSUBSCRIBE_SIGNING_KEY",
  "UNSUBSCRIBE_DEFAULT",
  "UNSUBSCRIBE_MAILTO",
  "WEBHOOK_URL",
  "TRACKING_SIGNING_KEY",
];

/** Replaces the extension's params with `params` (unset ones are removed) and drops cached config and transports. */
export function configureExtension(params: Record<string, string | undefined>): void {
  for (const name of PARAMS) delete process.env[name];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfigForTests();
  resetRuntime();
}
