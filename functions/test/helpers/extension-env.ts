/**
 * The tests' composition root. It configures the extension the way Firebase
 * does, through environment variables named after the params, and runs the
 * handlers as index.ts wires them, over a runtime that each configuration
 * rebuilds. (A test's Firestore client comes from emulator-fixture.ts.)
 */
import type { Runtime } from "../../src/delivery/runtime";
import type { SweepOptions } from "../../src/delivery/sweep";
import * as maintenance from "../../src/handlers/maintain-queue";
import { extensionFunctions } from "../../src/handlers/functions";
import type { DownloadOptions } from "../../src/attachments/download-attachments";
import { createRuntime, type InstanceRuntime, type RuntimeOptions } from "../../src/handlers/runtime";
import type { ProviderEndpoints } from "../../src/providers/shared/provider-endpoints";
import type { SecretSourceOptions } from "../../src/secrets/secret-source";

export type { MaintenanceReport } from "../../src/handlers/maintain-queue";

let options: RuntimeOptions = {};
let current = createRuntime();

/** The runtime the handlers run with here: safe to hold, it follows every configureExtension. */
export const testRuntime: InstanceRuntime = {
  config: () => current.config(),
  endpointConfig: () => current.endpointConfig(),
  store: (database) => current.store(database),
  transport: (config) => current.transport(config),
  download: (message, call) => current.download(message, call),
  get templates() {
    return current.templates;
  },
  get lifecycle() {
    return current.lifecycle;
  },
  get profiles() {
    return current.profiles;
  },
  close: () => current.close(),
};

/** The three functions as index.ts wires them, over testRuntime. */
export const { processQueue, maintainQueue, webhooks } = extensionFunctions(testRuntime);

/** One sweep at `nowMs`, as maintainQueue runs it. */
export function runMaintenance(nowMs = Date.now(), options: SweepOptions = {}, runtime: Runtime = testRuntime) {
  return maintenance.runMaintenance(runtime, nowMs, options);
}

/** Builds the runtime afresh: cached config, clients and pooled transports are dropped. */
export function rebuildRuntime(): void {
  current.close();
  current = createRuntime(options);
}

/** Sends the runtime's provider requests to loopback fakes; returns the undo. */
export function redirectProviders(endpoints: ProviderEndpoints): () => void {
  return withOptions({ ...options, endpoints: { ...options.endpoints, ...endpoints } });
}

/** The loopback endpoints redirected so far, for transports a test builds itself. */
export function testEndpoints(): ProviderEndpoints {
  return options.endpoints ?? {};
}

/** Points the runtime's Secret Manager client at a fake on loopback; returns the undo. */
export function useSecrets(secrets: SecretSourceOptions): () => void {
  return withOptions({ ...options, secrets });
}

/** Lets the runtime download attachments from loopback test servers; returns the undo. */
export function useDownloadOptions(downloads: DownloadOptions): () => void {
  return withOptions({ ...options, downloads });
}

function withOptions(next: RuntimeOptions): () => void {
  const previous = options;
  const built = createRuntime(next);
  options = next;
  current.close();
  current = built;
  return () => {
    options = previous;
    rebuildRuntime();
  };
}

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
  "USER_TEMPLATE_FIELDS",
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
  "SENDER_PROFILES_COLLECTION",
  "SUPPRESSION_SCOPE",
  "STORAGE_ATTACHMENTS_PATH",
  "ARCHIVE_SENT_MAIL",
  "ARCHIVE_STORAGE_PATH",
];

/** Replaces the extension's params with `params` (unset ones are removed) and drops cached config and transports. */
export function configureExtension(params: Record<string, string | undefined>): void {
  for (const name of PARAMS) delete process.env[name];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rebuildRuntime();
}
