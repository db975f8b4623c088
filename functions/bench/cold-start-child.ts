/**
 * A fresh Functions instance for the cold-start figures: a new Node.js
 * process that loads the compiled extension (as Cloud Functions loads
 * lib/index.js) and handles the events its parent forwards over IPC.
 * It reports how long the import took, which heavy libraries the import
 * loaded, and how long each invocation took.
 */
import { performance } from "node:perf_hooks";

/** Libraries a request may or may not need; loading one at import costs every cold start. */
const WATCHED = ["@google-cloud/firestore", "nodemailer", "handlebars", "@sendgrid", "googleapis", "google-auth-library", "firebase-admin/lib/eventarc"];

const entry = process.argv[2];
const started = performance.now();
const extension = require(entry) as { processQueue: (raw: unknown) => Promise<unknown> };
const importMs = performance.now() - started;
const loaded = Object.keys(require.cache);
const loadedAtImport = WATCHED.filter((name) => loaded.some((file) => file.includes(`/node_modules/${name}/`)));
process.send?.({ type: "ready", importMs, modules: loaded.length, loadedAtImport });

process.on("message", (message: { type: string; id: number; raw: Record<string, unknown> & { data: string } }) => {
  if (message.type !== "event") return;
  const raw = { ...message.raw, data: Buffer.from(message.raw.data, "base64") };
  const start = performance.now();
  const reply = (error?: unknown) =>
    process.send?.({ type: "done", id: message.id, ms: performance.now() - start, error: error === undefined ? undefined : String(error) });
  Promise.resolve(extension.processQueue(raw)).then(() => reply(), reply);
});
