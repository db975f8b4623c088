/**
 * Cold start: compile the extension as it is deployed, load it in a new
 * process, and send it its first mail. Reports the import time, what the
 * import loaded, the first invocation's duration and the first mail's
 * latency from the client's write to SUCCESS.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Firestore } from "firebase-admin/firestore";
import { processQueue } from "../test/helpers/extension-env";
import { now, type EventDriver, type RawEvent } from "../test/helpers/event-driver";
import { FINAL_STATES } from "./scenarios";

const FUNCTIONS_DIR = join(__dirname, "..");

export interface ColdStartResult {
  importMs: number;
  modules: number;
  loadedAtImport: string[];
  /** Client write started → the emulator delivering its event. */
  firstEventMs: number;
  firstInvocationMs: number;
  firstMailMs: number;
}

interface Ready {
  importMs: number;
  modules: number;
  loadedAtImport: string[];
}

/** The child process: its ready report, and invocations by IPC, matched by id since they run concurrently. */
async function startChild(entry: string, env: NodeJS.ProcessEnv) {
  const child = fork(join(__dirname, "cold-start-child.ts"), [entry], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    cwd: FUNCTIONS_DIR,
    stdio: ["ignore", "ignore", "ignore", "ipc"],
    env,
  });
  const calls = new Map<number, { resolve: (ms: number) => void; reject: (error: Error) => void }>();
  let ids = 0;
  let ready: ((value: Ready) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  const readyReport = new Promise<Ready>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  child.on("message", (message: Ready & { type: string; id: number; ms: number; error?: string }) => {
    if (message.type === "ready") ready?.(message);
    const call = calls.get(message.id);
    if (message.type !== "done" || !call) return;
    calls.delete(message.id);
    if (message.error) call.reject(new Error(message.error));
    else call.resolve(message.ms);
  });
  child.on("exit", (code) => {
    const error = new Error(`The cold-start process exited with code ${code}`);
    failed?.(error);
    for (const call of calls.values()) call.reject(error);
    calls.clear();
  });
  return {
    child,
    ready: readyReport,
    /** Runs one event in the child; resolves with the invocation's duration. */
    invoke(raw: RawEvent): Promise<number> {
      const id = ++ids;
      child.send({ type: "event", id, raw: { ...raw, data: raw.data.toString("base64") } });
      return new Promise((resolve, reject) => calls.set(id, { resolve, reject }));
    },
  };
}

/** Compiles src/ with the build config into a temporary folder; returns the entry file. */
function compile(outDir: string): string {
  try {
    execFileSync(join(FUNCTIONS_DIR, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", outDir, "--sourceMap", "false"], {
      cwd: FUNCTIONS_DIR,
      stdio: "pipe",
    });
  } catch (error) {
    // Type errors still emit JavaScript; only a missing entry point is fatal.
    if (!existsSync(join(outDir, "index.js"))) throw error;
  }
  return join(outDir, "index.js");
}

export async function coldStart(
  driver: EventDriver,
  emulatorHost: string,
  client: Firestore,
  project: string,
  env: Record<string, string>,
): Promise<ColdStartResult> {
  const outDir = mkdtempSync(join(tmpdir(), "send-email-build-"));
  let child: ChildProcess | undefined;
  try {
    const worker = await startChild(compile(outDir), {
      ...process.env,
      ...env,
      // The compiled files live outside functions/, so their imports are resolved from here.
      NODE_PATH: join(FUNCTIONS_DIR, "node_modules"),
      FIRESTORE_EMULATOR_HOST: emulatorHost,
      GCLOUD_PROJECT: project,
      FIREBASE_CONFIG: JSON.stringify({ projectId: project }),
    });
    child = worker.child;
    const ready = await worker.ready;

    // The first event (the client's write) is the one that finds the instance cold.
    let first: Promise<number> | undefined;
    await driver.register(emulatorHost, {
      project,
      fn: processQueue,
      handler: (raw: RawEvent) => {
        const invocation = worker.invoke(raw);
        first ??= invocation;
        return invocation;
      },
    });

    const path = "mail/cold-start";
    const start = now();
    await client.doc(path).create({ to: "cold@example.com", message: { subject: "Cold start", text: "First mail" } });
    await driver.settle(project, [path], FINAL_STATES, 60_000);
    const success = driver.firstEventIn(path, "SUCCESS")?.after;
    if (!success) throw new Error("The cold instance did not send its first mail");
    const created = driver.events.find((event) => event.project === project && event.document === path);
    return {
      ...ready,
      firstEventMs: (created?.receivedAt ?? Number.NaN) - start,
      firstInvocationMs: await (first ?? Number.NaN),
      firstMailMs: success.updateTimeMs - start,
    };
  } finally {
    child?.kill();
    rmSync(outDir, { recursive: true, force: true });
  }
}
