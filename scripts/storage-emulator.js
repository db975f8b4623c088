/**
 * firebase-tools' Cloud Storage emulator, without its security-rules runtime.
 * `firebase emulators:start --only storage` downloads a rules JAR on first
 * use (and asks for Java 21), which fails offline; the server itself is
 * plain Node.js inside firebase-tools. The extension and these scripts only
 * use the Admin API, which the emulator serves without rules, so the rules
 * runtime is never started: a client SDK request would be refused.
 *
 * `node scripts/storage-emulator.js [--port N] [--project ID]` serves on
 * 127.0.0.1 (port 0: a free one) and prints `storage emulator listening on
 * 127.0.0.1:PORT` once it answers (the tests start it so); scripts/start.js
 * starts it in-process and hands its address to the Functions emulator.
 */
"use strict";

const { mkdtempSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");

const HOST = "127.0.0.1";
/** Where `npm start` serves it (firebase-tools' usual Storage port); STORAGE_EMULATOR_PORT changes it. */
const LOCAL_PORT = Number(process.env.STORAGE_EMULATOR_PORT || 9199);

/** Starts the emulator; resolves to `{ host, port, stop() }`. */
async function startStorageEmulator({ port = 0, projectId = "demo-send-email" } = {}) {
  const { StorageEmulator } = require("firebase-tools/lib/emulator/storage");
  const { createApp } = require("firebase-tools/lib/emulator/storage/server");
  const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry");
  // Each emulator keeps its blobs apart, so that two stacks on one machine never share files.
  const blobs = mkdtempSync(path.join(tmpdir(), "storage-emulator-"));

  class AdminOnlyStorageEmulator extends StorageEmulator {
    getPersistenceTmpDir() {
      return blobs;
    }
    async start() {
      this._app = await createApp(projectId, this);
      const server = this._app.listen(port, HOST);
      await new Promise((resolve, reject) => server.once("listening", resolve).once("error", reject));
      // The emulator writes its own address into object metadata (download links): it must know the real port.
      this.args.port = server.address().port;
      this.server = server;
    }
    async stop() {
      await new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
      this.server?.closeAllConnections?.();
      rmSync(blobs, { recursive: true, force: true });
    }
  }

  const emulator = new AdminOnlyStorageEmulator({ projectId, host: HOST, port, auto_download: false });
  await EmulatorRegistry.start(emulator);
  return { host: HOST, port: emulator.args.port, stop: () => EmulatorRegistry.stop(emulator.getName()) };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  startStorageEmulator({ port: Number(option("--port", "0")), projectId: option("--project", "demo-send-email") }).then(
    (emulator) => {
      console.log(`storage emulator listening on ${emulator.host}:${emulator.port}`);
      const stop = () => emulator.stop().finally(() => process.exit(0));
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    },
    (error) => {
      console.error(`The Storage emulator could not start: ${error.stack || error}`);
      process.exit(1);
    },
  );
}

module.exports = { startStorageEmulator, LOCAL_PORT };
