#!/usr/bin/env node
/**
 * `npm start`: the extension running locally. Starts the mail viewer
 * (maildev, 127.0.0.1 only) and the Cloud Storage emulator
 * (scripts/storage-emulator.js, for attachments), builds functions/, and
 * runs the Firebase Emulator Suite with the extension installed from this
 * folder (firebase.json "extensions", params in
 * extensions/firestore-send-email.env.local), and
 * loads the example rules (examples/firestore.rules) into its Firestore
 * emulator, reloading them when the file changes. Prints where everything
 * is; Ctrl-C stops everything, leaving no process behind.
 */
"use strict";

const { existsSync, readFileSync, unwatchFile, watchFile } = require("node:fs");
const path = require("node:path");
const { prepareEmulators, EmulatorSetupError } = require("./emulator-setup");
const stack = require("./emulator-stack");
const storageEmulator = require("./storage-emulator");

const ENV_FILE = path.join("extensions", `${stack.INSTANCE_ID}.env.local`);
/** Secret Manager version name → value, for sender profiles tried locally; not committed (.gitignore). */
const SECRETS_FILE = path.join("extensions", "secrets.local.json");
const READY_TIMEOUT_MS = 240_000;

function readConfig() {
  const firebase = JSON.parse(readFileSync(path.join(stack.ROOT, "firebase.json"), "utf8"));
  const params = readFileSync(path.join(stack.ROOT, ENV_FILE), "utf8");
  const uri = /^SMTP_CONNECTION_URI=(.*)$/m.exec(params)?.[1]?.trim() ?? "";
  const smtp = /^smtps?:\/\/(?:[^@/]*@)?127\.0\.0\.1:(\d+)/.exec(uri);
  if (!smtp) {
    throw new Error(`${ENV_FILE}: SMTP_CONNECTION_URI must point at the local mail viewer, smtp://127.0.0.1:<port>; got "${uri}".`);
  }
  const emulators = firebase.emulators ?? {};
  const project = JSON.parse(readFileSync(path.join(stack.ROOT, ".firebaserc"), "utf8")).projects.default;
  return {
    project,
    smtpPort: Number(smtp[1]),
    webPort: Number(process.env.MAIL_VIEWER_PORT || 1080),
    firestore: `${emulators.firestore?.host ?? "127.0.0.1"}:${emulators.firestore?.port ?? 8080}`,
    eventarc: `${emulators.eventarc?.host ?? "127.0.0.1"}:${emulators.eventarc?.port ?? 9299}`,
    functions: `${emulators.functions?.host ?? "127.0.0.1"}:${emulators.functions?.port ?? 5001}`,
    mailCollection: /^MAIL_COLLECTION=(.*)$/m.exec(params)?.[1]?.trim() || "mail",
    storageAttachments: /^STORAGE_ATTACHMENTS_PATH=(.*)$/m.exec(params)?.[1]?.trim() || undefined,
  };
}

async function main() {
  const config = readConfig();
  const needed = stack.neededEmulators();
  let setup;
  try {
    setup = prepareEmulators(needed.filter((name) => name === "firestore" || name === "pubsub"));
  } catch (error) {
    if (error instanceof EmulatorSetupError) {
      console.error(stack.banner(error.message.split("\n")));
      process.exit(1);
    }
    throw error;
  }
  console.log(setup.notes.join("\n"));

  for (const [what, port] of [
    ["The mail viewer's SMTP port (SMTP_CONNECTION_URI)", config.smtpPort],
    ["The mail viewer's web port (MAIL_VIEWER_PORT)", config.webPort],
    ["The Storage emulator's port (STORAGE_EMULATOR_PORT)", storageEmulator.LOCAL_PORT],
  ]) {
    if (!(await stack.portIsFree(port))) {
      console.error(`${what} ${port} is already in use on 127.0.0.1. Is another \`npm start\` running? Stop it, or change the port.`);
      process.exit(1);
    }
  }

  console.log("\nBuilding functions/ …");
  stack.buildFunctions();

  const viewer = await stack.startMailViewer({ smtpPort: config.smtpPort, webPort: config.webPort });
  console.log(`Mail viewer (maildev) listening: SMTP 127.0.0.1:${viewer.smtpPort}, web ${viewer.webUrl}`);
  // Outside firebase-tools, whose own start would download a rules runtime; the functions get its address from the environment.
  const storage = await storageEmulator.startStorageEmulator({ port: storageEmulator.LOCAL_PORT, projectId: config.project }).catch(async (error) => {
    await viewer.stop();
    throw error;
  });
  const storageHost = `${storage.host}:${storage.port}`;
  console.log(`Storage emulator listening: ${storageHost}\n`);

  // Sender profiles' secrets, locally: the functions read this file instead of Secret Manager (docs/tenants.md).
  const secretsFile = path.join(stack.ROOT, SECRETS_FILE);
  const secretsEnv = existsSync(secretsFile) ? { FIRESTORE_SEND_EMAIL_SECRETS_FILE: secretsFile } : {};
  if (secretsEnv.FIRESTORE_SEND_EMAIL_SECRETS_FILE) console.log(`Sender profiles' secrets read from ${SECRETS_FILE}\n`);

  const logsBefore = stack.debugLogs();
  const firebase = stack.spawnFirebase(
    ["emulators:start", "--project", config.project, "--only", needed.join(",")],
    { env: { ...setup.env, ...secretsEnv, FIREBASE_STORAGE_EMULATOR_HOST: storageHost, STORAGE_EMULATOR_HOST: `http://${storageHost}` }, stdio: ["ignore", "pipe", "pipe"] },
  );

  let stopping = false;
  async function stop(code) {
    if (stopping) return;
    stopping = true;
    clearTimeout(readyTimer);
    unwatchFile(stack.EXAMPLE_RULES);
    console.log("\nStopping the emulators and the mail viewer …");
    await stack.stopGroup(firebase);
    await viewer.stop();
    await storage.stop().catch(() => undefined);
    stack.removeNewDebugLogs(logsBefore);
    console.log("Stopped.");
    process.exit(code);
  }
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  const readyTimer = setTimeout(() => {
    console.error(`\nThe emulators were not ready within ${READY_TIMEOUT_MS / 1000} s; see the output above.`);
    void stop(1);
  }, READY_TIMEOUT_MS);

  let extensionLoaded = false;
  const relay = (stream, out) => {
    let pending = "";
    stream.on("data", (chunk) => {
      out.write(chunk);
      pending = (pending + chunk.toString("utf8")).slice(-4000);
      if (/processQueue\]: firestore function initialized/.test(pending)) extensionLoaded = true;
      if (/ignored bec(?:au|ua)se it includes/.test(pending)) {
        pending = "";
        console.error(stack.banner(["The Extensions emulator refused the extension (see the warning above)."]));
      }
      if (/All emulators ready/.test(pending)) {
        pending = "";
        clearTimeout(readyTimer);
        void whenReady();
      }
    });
  };
  async function whenReady() {
    try {
      await loadRules(config);
    } catch (error) {
      console.error(stack.banner([error instanceof Error ? error.message : String(error)]));
      void stop(1);
      return;
    }
    // Edits to the example take effect at once, as firebase-tools does for rules named in firebase.json.
    watchFile(stack.EXAMPLE_RULES, { interval: 1000 }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs || stopping) return;
      loadRules(config).catch((error) => console.error(`${error.message}\nThe emulator keeps the previous rules.`));
    });
    printSummary(config, viewer, storageHost, extensionLoaded);
  }
  relay(firebase.stdout, process.stdout);
  relay(firebase.stderr, process.stderr);

  firebase.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`\nfirebase emulators:start exited (${signal ?? `code ${code}`}).`);
    void stop(code || 1);
  });
}

/**
 * firebase.json names no rules, so the Firestore emulator starts open (and
 * firebase-tools says so); this replaces that with the example.
 */
async function loadRules(config) {
  const file = path.relative(stack.ROOT, stack.EXAMPLE_RULES);
  const warnings = await stack.loadFirestoreRules(config.firestore, config.project, stack.EXAMPLE_RULES);
  console.log(`Loaded the example security rules ${file} into the Firestore emulator (project ${config.project}).`);
  for (const warning of warnings) console.warn(`  ${warning}`);
}

function printSummary(config, viewer, storageHost, extensionLoaded) {
  const lines = [
    "",
    "┌─ firestore-send-email is running locally ─────────────────────────────────",
    `│ Firestore emulator   ${config.firestore}   (project ${config.project}, collection "${config.mailCollection}")`,
    `│ Mail viewer          ${viewer.webUrl}   (SMTP sink 127.0.0.1:${viewer.smtpPort})`,
    `│ Functions / Eventarc ${config.functions} / ${config.eventarc}`,
    `│ Storage emulator     ${storageHost}   (attachments: ${config.storageAttachments ?? "STORAGE_ATTACHMENTS_PATH not set"})`,
    `│ Extension params     ${ENV_FILE}`,
    `│ Security rules       ${path.relative(stack.ROOT, stack.EXAMPLE_RULES)} (the example: loaded by npm start only, never deployed)`,
    "│",
    "│ Send a mail, in another terminal:",
    '│   npm run send -- --to someone@example.com --subject "Hello" --text "It works"',
    "│ Attach a local file (uploaded to the Storage emulator, sent by storagePath):",
    '│   npm run send -- --to someone@example.com --attach ./invoice.pdf',
    "│ Retry a failed one:",
    "│   npm run send -- --retry <documentId>",
    "│",
    "│ Ctrl-C stops everything.",
    "└───────────────────────────────────────────────────────────────────────────",
    "",
  ];
  if (!extensionLoaded) lines.splice(1, 0, "(The extension's processQueue function was not reported as loaded: check the output above.)");
  console.log(lines.join("\n"));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
