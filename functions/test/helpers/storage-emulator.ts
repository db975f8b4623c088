/**
 * firebase-tools' Cloud Storage emulator for one test file, in a child
 * process (scripts/storage-emulator.js: the emulator without its rules
 * runtime, which is a download), on a free port on 127.0.0.1. While it runs,
 * FIREBASE_STORAGE_EMULATOR_HOST points the Admin SDK at it, as it would
 * point the extension's own client.
 *
 * Where firebase-tools is not installed (the root `npm ci` installs it), a
 * suite in `describeWithStorageEmulator` says so on the console and is
 * reported as skipped; one that cannot start fails loudly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const SCRIPT = join(__dirname, "..", "..", "..", "scripts", "storage-emulator.js");
const START_TIMEOUT_MS = 30_000;

function firebaseToolsInstalled(): boolean {
  try {
    require.resolve("firebase-tools/lib/emulator/storage", { paths: [SCRIPT] });
    return true;
  } catch {
    return false;
  }
}

type Suite = (name: string, fn: () => void) => void;

/** A suite that needs the Storage emulator (and the shared Firestore emulator: combine with describeWithEmulator). */
export const describeWithStorageEmulator: Suite = firebaseToolsInstalled()
  ? describe
  : (name, fn) => {
      console.warn(`SKIPPED "${name}": the Storage emulator needs firebase-tools, which is not installed (run npm ci at the repository root).`);
      describe.skip(name, fn);
    };

export interface StorageEmulator {
  /** host:port */
  host: string;
  stop(): Promise<void>;
}

export async function startStorageEmulator(projectId: string): Promise<StorageEmulator> {
  const child = spawn(process.execPath, [SCRIPT, "--port", "0", "--project", projectId], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const host = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`The Storage emulator did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => fail(new Error(`The Storage emulator exited (code ${code}) before it listened:\n${output}`)));
  });
  process.env.FIREBASE_STORAGE_EMULATOR_HOST = host;
  return { host, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  delete process.env.FIREBASE_STORAGE_EMULATOR_HOST;
  // firebase-admin copies the host into STORAGE_EMULATOR_HOST on first use.
  delete process.env.STORAGE_EMULATOR_HOST;
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
