/**
 * Where the local stack that `npm start` runs can be reached, and the
 * params of its extension instance, for the scripts that talk to it
 * (`npm run send`, `npm run report`).
 */
"use strict";

const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
// firebase-admin is a dependency of the extension's functions, not of the root.
const functionsRequire = createRequire(path.join(ROOT, "functions", "package.json"));

/** The emulator's address and project (env first, then firebase.json and .firebaserc) and the instance's params. */
function localSettings() {
  const firebase = JSON.parse(readFileSync(path.join(ROOT, "firebase.json"), "utf8"));
  const params = readFileSync(path.join(ROOT, "extensions", "firestore-send-email.env.local"), "utf8");
  const param = (name) => new RegExp(`^${name}=(.*)$`, "m").exec(params)?.[1]?.trim() || undefined;
  const firestore = firebase.emulators?.firestore ?? {};
  return {
    project: process.env.GCLOUD_PROJECT || JSON.parse(readFileSync(path.join(ROOT, ".firebaserc"), "utf8")).projects.default,
    host: process.env.FIRESTORE_EMULATOR_HOST || `${firestore.host ?? "127.0.0.1"}:${firestore.port ?? 8080}`,
    database: param("DATABASE") ?? "(default)",
    mailCollection: param("MAIL_COLLECTION") ?? "mail",
    templatesCollection: param("TEMPLATES_COLLECTION"),
    storageAttachments: param("STORAGE_ATTACHMENTS_PATH"),
    storageHost: process.env.FIREBASE_STORAGE_EMULATOR_HOST || `127.0.0.1:${require("./storage-emulator").LOCAL_PORT}`,
    viewer: `http://127.0.0.1:${process.env.MAIL_VIEWER_PORT || 1080}`,
  };
}

async function emulatorAnswers(host) {
  try {
    await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

module.exports = { ROOT, functionsRequire, localSettings, emulatorAnswers };
