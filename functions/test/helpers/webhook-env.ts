/**
 * Shared set-up of the webhook tests: the Firestore client of
 * emulator-fixture.ts (emptied before each test), the endpoint served on
 * loopback with the settings a test chooses, and keys made for the run.
 * Call it inside a `describeWithEmulator` block.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { WebhookEndpoint } from "../../src/webhooks/router";
import { createPublicKey } from "node:crypto";
import { WEBHOOK_LIMITS, type WebhookConfig } from "../../src/config/webhook-params";
import { PROVIDER_WEBHOOKS } from "../../src/providers/select-provider";
import { emulatorFirestore } from "./emulator-fixture";
import { configureExtension } from "./extension-env";
import { mailHarness, type MailHarness } from "./mail-harness";
import { startWebhookServer, type WebhookServer } from "./webhook-server";
import { sendGridKeys, TRACKING_SECRET, type SendGridKeys } from "./webhook-signing";

export const MAILGUN_KEY = "mailgun-signing-key-for-tests-0123456789";
export const POSTMARK = { username: "postmark-hooks", password: "pm-password-for-tests-9876" };
export const UNSUBSCRIBE_KEY = "unsubscribe-key-for-tests-abcdefghijklmnop";
export const SUPPRESSED = "suppressed";
/** Where used Mailgun tokens are remembered. */
export const TOKENS = "webhookTokens";

export interface WebhookEnv {
  readonly db: Firestore;
  readonly server: WebhookServer;
  readonly keys: SendGridKeys;
  /** Replaces settings for the current test (reset before each). */
  configure(overrides: Partial<WebhookConfig>): void;
}

export function fullConfig(keys: SendGridKeys): WebhookConfig {
  return {
    sendGridPublicKey: createPublicKey({ key: Buffer.from(keys.publicKey, "base64"), format: "der", type: "spki" }),
    mailgunSigningKey: MAILGUN_KEY,
    postmarkCredentials: POSTMARK,
    trackOpensAndClicks: false,
    eventHistory: false,
    suppressionCollection: SUPPRESSED,
    unsubscribeSigningKey: UNSUBSCRIBE_KEY,
    trackingSigningKey: TRACKING_SECRET,
    tokenCollection: TOKENS,
    ...WEBHOOK_LIMITS,
  };
}

/** The endpoint with PROVIDER_WEBHOOKS and `config()`, writing to `db()`, whose mail collection is `mail`. */
export function testEndpoint(config: () => WebhookConfig, db: () => Firestore): () => WebhookEndpoint {
  return () => ({
    config: config(),
    providers: PROVIDER_WEBHOOKS,
    settings: () => ({
      db: db(),
      isMailPath: (path) => /^mail\/[^/]+$/.test(path),
      eventHistory: config().eventHistory,
      suppressionCollection: suppressionFor(config().suppressionCollection),
    }),
  });
}

const suppressionFor = (collection: string | undefined) => (collection === undefined ? undefined : () => collection);

export function webhookEnv(projectId: string): WebhookEnv {
  const db = emulatorFirestore(projectId);
  let server: WebhookServer | undefined;
  const keys = sendGridKeys();
  let config = fullConfig(keys);

  const endpoint = testEndpoint(() => config, () => db);

  beforeAll(async () => {
    server = await startWebhookServer(endpoint);
  });
  beforeEach(() => {
    config = fullConfig(keys);
  });
  afterAll(async () => {
    await server?.close();
  });

  return {
    db,
    get server() {
      return server!;
    },
    keys,
    configure(overrides) {
      config = { ...config, ...overrides };
    },
  };
}

export interface SendPathEnv {
  readonly h: MailHarness;
  readonly keys: SendGridKeys;
  /** The endpoint over `h.db` with every provider configured (after beforeAll). */
  readonly server: WebhookServer;
  /** The params of suppression and unsubscribe links pointing at `server`, with `extra` on top. */
  statusParams(extra?: Record<string, string>): Record<string, string>;
}

/** The set-up of a send-path test with delivery status: a mail harness, and the webhook endpoint it reports to. */
export function sendPathEnv(projectId: string): SendPathEnv {
  const h = mailHarness(projectId);
  const keys = sendGridKeys();
  let server: WebhookServer | undefined;
  beforeAll(async () => {
    server = await startWebhookServer(testEndpoint(() => fullConfig(keys), () => h.db));
  });
  afterAll(async () => {
    await server?.close();
    configureExtension({});
  });
  const env: SendPathEnv = {
    h,
    keys,
    get server() {
      if (!server) throw new Error("the webhook server starts in beforeAll");
      return server;
    },
    statusParams: (extra = {}) => ({ SUPPRESSION_COLLECTION: SUPPRESSED, UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY, WEBHOOK_URL: env.server.url, ...extra }),
  };
  return env;
}
