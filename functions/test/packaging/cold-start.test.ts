/**
 * What a cold start loads before its first event: importing the entry point
 * must not load the libraries only some instances need, or only the first
 * Firestore call needs (the benchmark measures the time; this pins the list).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const FUNCTIONS_DIR = join(__dirname, "..", "..");

/** The packages loaded by running `setup` (by default, importing src/index.ts) in a fresh process. */
function loadedAtImport(setup = `require("./src/index");`): Set<string> {
  const script = `${setup} for (const path of Object.keys(require.cache)) { const at = path.lastIndexOf("/node_modules/"); if (at >= 0) { const parts = path.slice(at + 14).split("/"); console.log(parts[0].startsWith("@") ? parts[0] + "/" + parts[1] : parts[0]); } }`;
  const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: FUNCTIONS_DIR,
    env: { ...process.env, DATABASE: "(default)", MAIL_COLLECTION: "mail" },
    encoding: "utf8",
  });
  return new Set(out.split("\n").filter(Boolean));
}

test("importing the functions loads no gRPC stack, template engine, download filter, Secret Manager or Cloud Storage client", () => {
  const loaded = loadedAtImport();
  expect(loaded.has("firebase-functions")).toBe(true); // the probe itself works
  for (const lazy of ["google-gax", "@grpc/grpc-js", "handlebars", "request-filtering-agent", "@google-cloud/secret-manager", "@google-cloud/storage"]) {
    expect([lazy, loaded.has(lazy)]).toEqual([lazy, false]);
  }
}, 60_000);

test("building the secret source loads no Secret Manager client: it comes with the first read of a sender profile's secret", () => {
  const loaded = loadedAtImport(
    `require("./src/index"); const { createSecretSource } = require("./src/secrets/secret-source"); createSecretSource(); createSecretSource({ endpoint: "http://127.0.0.1:9" });`,
  );
  expect(loaded.has("firebase-functions")).toBe(true);
  for (const lazy of ["@google-cloud/secret-manager", "google-gax", "@grpc/grpc-js"]) expect([lazy, loaded.has(lazy)]).toEqual([lazy, false]);
}, 60_000);
