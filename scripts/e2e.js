#!/usr/bin/env node
/**
 * The end-to-end tier (`npm run test:e2e`, and the last step of `npm test`):
 * the extension loaded by the Extensions emulator from extension.yaml, a real
 * SMTP sink (maildev), an Eventarc receiver, and the jest project "e2e" run
 * under `firebase emulators:exec`.
 *
 * Everything runs on free ports from a throw-away project folder, so the
 * tier never collides with a running `npm start`. Where the emulators cannot
 * run on this machine (no suitable Java or emulator), the tier is reported as
 * SKIPPED in a loud banner; any other failure fails the run.
 */
"use strict";

const { generateKeyPairSync } = require("node:crypto");
const { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const { prepareEmulators, EmulatorSetupError } = require("./emulator-setup");
const stack = require("./emulator-stack");

const PROJECT = "demo-send-email-e2e";
const RECEIVER_DIR = path.join(stack.ROOT, "functions", "test", "e2e", "event-receiver");
const JEST_BIN = path.join(stack.ROOT, "functions", "node_modules", "jest", "bin", "jest.js");
/** Bounds the whole tier, emulator start-up included, so it can never hang CI. */
const TIER_TIMEOUT_MS = 15 * 60_000;
const EVENT_TYPES = ["onStart", "onPending", "onRetry", "onProcessing", "onSuccess", "onError", "onComplete"].map(
  (type) => `firebase.extensions.firestore-send-email.v1.${type}`,
);

async function main() {
  const emulators = stack.neededEmulators();
  let setup;
  try {
    setup = prepareEmulators(emulators.filter((name) => name === "firestore" || name === "pubsub"));
  } catch (error) {
    if (!(error instanceof EmulatorSetupError)) throw error;
    console.error(
      stack.banner([
        "END-TO-END TIER SKIPPED: the Firebase emulators cannot run on this machine.",
        ...error.message.split("\n"),
        "The unit and integration tiers above still ran.",
      ]),
    );
    console.log("e2e: 0 passed, 0 failed, 1 skipped");
    return 0;
  }
  console.log(`\nEnd-to-end tier: ${setup.notes.join("\n")}`);
  stack.buildFunctions();

  const viewer = await stack.startMailViewer();
  const dir = mkdtempSync(path.join(tmpdir(), "firestore-send-email-e2e-"));
  let firebase;
  try {
    // SendGrid's signing key pair for the webhook test: the public half is the instance's param.
    const webhookKeys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const functionsPort = await writeProject(dir, emulators, viewer.smtpPort, webhookKeys.publicKey);
    // From functions/, where ts-jest finds its tsconfig.json.
    const jest = `cd ${JSON.stringify(path.join(stack.ROOT, "functions"))} && ${[process.execPath, JEST_BIN, "--selectProjects", "e2e", "--ci"]
      .map((part) => JSON.stringify(part))
      .join(" ")}`;
    firebase = stack.spawnFirebase(
      ["emulators:exec", "--config", path.join(dir, "firebase.json"), "--project", PROJECT, "--only", emulators.join(","), jest],
      {
        cwd: dir,
        env: {
          ...setup.env,
          FIRESTORE_SEND_EMAIL_E2E: "1",
          E2E_MAILDEV_URL: viewer.webUrl,
          E2E_DEFAULT_FROM: DEFAULT_FROM,
          E2E_WEBHOOK_URL: `http://127.0.0.1:${functionsPort}/${PROJECT}/us-central1/ext-${stack.INSTANCE_ID}-webhooks`,
          E2E_SENDGRID_PRIVATE_KEY: webhookKeys.privateKey.export({ format: "pem", type: "pkcs8" }),
          E2E_SUPPRESSION_COLLECTION: SUPPRESSION_COLLECTION,
          E2E_TRACKING_SIGNING_KEY: TRACKING_SIGNING_KEY,
        },
      },
    );
    const child = firebase;
    // Ctrl-C reaches only this script (firebase-tools has its own process group): stop the tier in order.
    process.once("SIGINT", () => void stack.stopGroup(child).then(() => process.exit(130)));
    return await new Promise((resolve) => {
      const timer = setTimeout(() => {
        console.error(stack.banner([`The end-to-end tier did not finish within ${TIER_TIMEOUT_MS / 60_000} minutes; stopping it.`]));
        void stack.stopGroup(firebase).then(() => resolve(1));
      }, TIER_TIMEOUT_MS);
      firebase.once("exit", (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 1 : 0));
      });
    });
  } finally {
    if (firebase) await stack.stopGroup(firebase, 10_000);
    await viewer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const DEFAULT_FROM = "E2E Tests <e2e@example.com>";
const SUPPRESSION_COLLECTION = "suppressedAddresses";
/** TRACKING_SIGNING_KEY of the emulated instance (a test value, not a secret of anything real). */
const TRACKING_SIGNING_KEY = "e2e-tracking-key-0123456789abcdefghij";

/** A project folder of its own: firebase.json on free ports, and the instance's params. Returns the Functions emulator's port. */
async function writeProject(dir, emulators, smtpPort, webhookPublicKey) {
  const host = "127.0.0.1";
  const port = async () => ({ host, port: await stack.freePort() });
  const config = {
    // The example rules, copied in because firebase-tools only reads rules from inside the
    // project folder. This throw-away folder is never deployed.
    firestore: { rules: "firestore.rules" },
    // The receiver is a second codebase; the extension is installed from the repository itself.
    functions: [{ source: path.relative(dir, RECEIVER_DIR), codebase: "e2e-receiver", runtime: "nodejs20" }],
    extensions: { [stack.INSTANCE_ID]: stack.ROOT },
    emulators: {
      singleProjectMode: true,
      ui: { enabled: false },
      hub: await port(),
      logging: await port(),
      tasks: await port(),
      firestore: { ...(await port()), websocketPort: await stack.freePort() },
      ...Object.fromEntries(
        await Promise.all(
          emulators.filter((name) => name !== "firestore" && name !== "extensions").map(async (name) => [name, await port()]),
        ),
      ),
      extensions: {},
    },
  };
  writeFileSync(path.join(dir, "firebase.json"), JSON.stringify(config, null, 2));
  copyFileSync(stack.EXAMPLE_RULES, path.join(dir, "firestore.rules"));
  mkdirSync(path.join(dir, "extensions"));
  const params = {
    DATABASE: "(default)",
    DATABASE_REGION: "us-central1",
    AUTH_TYPE: "UsernamePassword",
    SMTP_CONNECTION_URI: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_COLLECTION: "mail",
    DEFAULT_FROM: JSON.stringify(DEFAULT_FROM),
    USERS_COLLECTION: "users",
    TEMPLATES_COLLECTION: "templates",
    TTL_EXPIRE_TYPE: "never",
    TTL_EXPIRE_VALUE: "1",
    EVENTARC_CHANNEL: "projects/${param:PROJECT_ID}/locations/us-central1/channels/firebase",
    ALLOWED_EVENT_TYPES: EVENT_TYPES.join(","),
    SENDGRID_WEBHOOK_PUBLIC_KEY: webhookPublicKey.export({ format: "der", type: "spki" }).toString("base64"),
    SUPPRESSION_COLLECTION,
  };
  // Params of type secret reach an emulated extension from its .secret.local
  // file, never from .env.local. SendGrid's webhook needs a secret for the
  // tracking value; the test signs its events' values with it too.
  const secrets = { TRACKING_SIGNING_KEY };
  const lines = (values) =>
    Object.entries(values)
      .map(([name, value]) => `${name}=${value}`)
      .join("\n") + "\n";
  writeFileSync(path.join(dir, "extensions", `${stack.INSTANCE_ID}.env.local`), lines(params));
  writeFileSync(path.join(dir, "extensions", `${stack.INSTANCE_ID}.secret.local`), lines(secrets));
  return config.emulators.functions.port;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
