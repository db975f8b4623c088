#!/usr/bin/env node
/**
 * `npm run send`: writes a mail document to the Firestore emulator that
 * `npm start` runs, then follows its `delivery` live until it is final.
 *
 *   npm run send -- --to a@example.com --subject "Hello" --text "Hi there"
 *   npm run send -- --to a@example.com --template welcome --data '{"name":"Ada"}'
 *   npm run send -- --to a@example.com --attach ./invoice.pdf
 *   npm run send -- --retry <documentId>
 */
"use strict";

const { existsSync } = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");
const { ROOT, emulatorAnswers, functionsRequire, localSettings } = require("./local-settings");

const USAGE = `Usage:
  npm run send -- --to ADDRESS[,ADDRESS] [--cc ..] [--bcc ..] [--from ..] [--subject TEXT] [--text TEXT] [--html HTML]
  npm run send -- --to ADDRESS --template NAME [--data JSON]
  npm run send -- --retry DOCUMENT_ID
Options: --attach FILE (repeatable: uploaded to the Storage emulator under STORAGE_ATTACHMENTS_PATH, attached by storagePath),
  --timeout SECONDS (default 60), --collection PATH (default from the extension's params).`;

const SAMPLE_TEMPLATE = {
  subject: "Welcome, {{name}}!",
  text: "Hello {{name}},\n\nthis mail was rendered from the sample template 'welcome'.",
  html: "<p>Hello <b>{{name}}</b>,</p><p>this mail was rendered from the sample template <code>welcome</code>.</p>",
};

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      to: { type: "string", multiple: true },
      cc: { type: "string", multiple: true },
      bcc: { type: "string", multiple: true },
      from: { type: "string" },
      subject: { type: "string" },
      text: { type: "string" },
      html: { type: "string" },
      template: { type: "string" },
      data: { type: "string" },
      retry: { type: "string" },
      attach: { type: "string", multiple: true },
      collection: { type: "string" },
      timeout: { type: "string", default: "60" },
      help: { type: "boolean", short: "h" },
    },
  });
  return values;
}

const addresses = (list) => (list ?? []).flatMap((entry) => entry.split(",")).map((a) => a.trim()).filter(Boolean);

function mailDocument(args) {
  const doc = { to: addresses(args.to) };
  if (args.cc) doc.cc = addresses(args.cc);
  if (args.bcc) doc.bcc = addresses(args.bcc);
  if (args.from) doc.from = args.from;
  if (args.template) {
    let data = {};
    if (args.data) {
      try {
        data = JSON.parse(args.data);
      } catch (error) {
        throw new Error(`--data must be JSON, for example '{"name":"Ada"}': ${error.message}`);
      }
    }
    doc.template = { name: args.template, data };
  }
  if (args.subject || args.text || args.html || !args.template) {
    doc.message = { subject: args.subject ?? "Hello from firestore-send-email" };
    if (args.text !== undefined) doc.message.text = args.text;
    if (args.html !== undefined) doc.message.html = args.html;
    if (args.text === undefined && args.html === undefined) doc.message.text = "Sent with npm run send.";
  }
  return doc;
}

/** Prints each new `delivery` state until SUCCESS or ERROR; resolves with the final delivery, or null on timeout. */
function follow(ref, timeoutMs) {
  const started = Date.now();
  let last;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      resolve(null);
    }, timeoutMs);
    const unsubscribe = ref.onSnapshot(
      (snap) => {
        const delivery = snap.get("delivery");
        const state = delivery?.state ?? "(no delivery yet)";
        const key = `${state}|${delivery?.attempts ?? ""}`;
        if (key === last) return;
        last = key;
        const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
        const attempts = delivery?.attempts === undefined ? "" : `  attempts=${delivery.attempts}`;
        console.log(`  +${seconds}s  ${state}${attempts}`);
        if (state === "SUCCESS" || state === "ERROR") {
          clearTimeout(timer);
          unsubscribe();
          resolve(delivery);
        }
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function main() {
  const args = parse(process.argv.slice(2));
  if (args.help) return console.log(USAGE);
  const settings = localSettings();
  const timeoutMs = Number(args.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new Error(`--timeout must be a number of seconds, got "${args.timeout}"`);
  if (!args.retry && addresses(args.to).length === 0) throw new Error(`Give at least one recipient with --to.\n\n${USAGE}`);

  if (!(await emulatorAnswers(settings.host))) {
    throw new Error(`No Firestore emulator answers at ${settings.host}. Start the local stack with \`npm start\` in another terminal first.`);
  }
  process.env.FIRESTORE_EMULATOR_HOST = settings.host;
  const { initializeApp } = functionsRequire("firebase-admin/app");
  const { getFirestore } = functionsRequire("firebase-admin/firestore");
  const db = getFirestore(initializeApp({ projectId: settings.project }));
  const collection = args.collection ?? settings.mailCollection;

  let ref;
  if (args.retry) {
    ref = db.collection(collection).doc(args.retry);
    const snap = await ref.get();
    if (!snap.exists) throw new Error(`No document ${ref.path} in the emulator.`);
    await ref.update({ "delivery.state": "RETRY" });
    console.log(`Set delivery.state = RETRY on ${ref.path} (it was ${snap.get("delivery.state") ?? "unset"}). Following delivery:`);
  } else {
    const doc = mailDocument(args);
    if (doc.template) await ensureSampleTemplate(db, settings, doc.template.name);
    ref = db.collection(collection).doc();
    if (args.attach) await attachFiles(doc, args.attach, ref.path, settings, collection);
    await ref.create(doc);
    console.log(`Wrote ${ref.path} to the Firestore emulator at ${settings.host}. Following delivery:`);
  }

  const delivery = await follow(ref, timeoutMs);
  if (delivery === null) {
    console.error(
      `\nNo final state within ${timeoutMs / 1000} s. Is the extension loaded? Check the \`npm start\` output for processQueue.`,
    );
    process.exitCode = 2;
  } else if (delivery.state === "SUCCESS") {
    const info = delivery.info ?? {};
    console.log(`\nDelivered. messageId=${info.messageId}`);
    console.log(`  accepted: ${JSON.stringify(info.accepted ?? [])}  rejected: ${JSON.stringify(info.rejected ?? [])}`);
    console.log(`  server said: ${info.response}`);
    console.log(`Open the mail viewer: ${settings.viewer}`);
  } else {
    console.log(`\nFailed: ${delivery.error}`);
    console.log(`Fix the document if needed, then retry with: npm run send -- --retry ${ref.id}`);
    process.exitCode = 1;
  }
  await db.terminate();
}

/**
 * Uploads each file to the Storage emulator, where the extension will look
 * for this mail's attachments (STORAGE_ATTACHMENTS_PATH filled from the
 * mail's path, with the extension's own code in functions/lib), and names
 * it in the mail by `storagePath`.
 */
async function attachFiles(doc, files, mailPath, settings, collection) {
  if (!settings.storageAttachments) {
    throw new Error("STORAGE_ATTACHMENTS_PATH is not set in extensions/firestore-send-email.env.local, so --attach has nowhere to upload.");
  }
  const lib = path.join(ROOT, "functions", "lib");
  if (!existsSync(path.join(lib, "config", "storage-attachments.js"))) throw new Error("functions/lib is not built: run `npm start` (it builds it) or `npm run build`.");
  const { parseStorageAttachments } = require(path.join(lib, "config", "storage-attachments.js"));
  const { fillPattern, matchPattern, parentOf } = require(path.join(lib, "shared", "path-pattern.js"));
  const problems = [];
  const location = parseStorageAttachments({ STORAGE_ATTACHMENTS_PATH: settings.storageAttachments }, collection, problems);
  if (!location) throw new Error(problems.join("\n"));
  const values = matchPattern(collection, parentOf(mailPath));
  const prefix = location.prefix === "" ? "" : `${fillPattern(location.prefix, values)}/`;

  if (!(await emulatorAnswers(settings.storageHost))) {
    throw new Error(`No Storage emulator answers at ${settings.storageHost}. Start the local stack with \`npm start\` (it runs one).`);
  }
  process.env.FIREBASE_STORAGE_EMULATOR_HOST = settings.storageHost;
  // The client library would otherwise look for a metadata server (for a project id) that this machine has not.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const { getStorage } = functionsRequire("firebase-admin/storage");
  const bucket = getStorage().bucket(location.bucket);
  doc.message = doc.message ?? { subject: "Hello from firestore-send-email", text: "Sent with npm run send." };
  doc.message.attachments = [];
  for (const file of files) {
    const name = path.basename(file);
    // The client library guesses the content type from the file name; the extension passes it on.
    await bucket.upload(file, { destination: `${prefix}${name}`, resumable: false });
    console.log(`Uploaded ${file} to gs://${location.bucket}/${prefix}${name} (Storage emulator ${settings.storageHost}).`);
    doc.message.attachments.push({ storagePath: name });
  }
}

/** The README's template example uses "welcome"; create it on first use so the example works as written. */
async function ensureSampleTemplate(db, settings, name) {
  if (!settings.templatesCollection) {
    throw new Error("TEMPLATES_COLLECTION is not set in extensions/firestore-send-email.env.local, so templates cannot be used.");
  }
  const ref = db.collection(settings.templatesCollection).doc(name);
  if ((await ref.get()).exists) return;
  if (name !== "welcome") {
    throw new Error(`There is no template ${ref.path}. Add one to the emulator first, or use the sample --template welcome.`);
  }
  await ref.set(SAMPLE_TEMPLATE);
  console.log(`Created the sample template ${ref.path}.`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
