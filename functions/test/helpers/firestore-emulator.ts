/**
 * Starts and stops the Google Cloud Firestore emulator that the Debian package
 * `google-cloud-cli-firestore-emulator` installs, and empties a project of it.
 * The integration tier shares one emulator per `jest` run (started in
 * global-setup.ts); tests get their Firestore through emulator-fixture.ts.
 */
import { spawn, ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";

export const EMULATOR_BINARY =
  process.env.FIRESTORE_EMULATOR_BINARY ??
  "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator";

export interface RunningEmulator {
  host: string;
  process: ChildProcess;
}

export function emulatorInstalled(): boolean {
  return existsSync(EMULATOR_BINARY);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function answers(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts the emulator on a free port; rejects (never hangs) if it is not up within `timeoutMs`.
 * `extraArgs` are further emulator flags, such as `--functions_emulator=<host>` (see event-driver.ts).
 */
export async function startEmulator(timeoutMs = 60_000, extraArgs: string[] = []): Promise<RunningEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child = spawn(EMULATOR_BINARY, ["start", "--host=127.0.0.1", `--port=${port}`, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`The Firestore emulator exited with code ${child.exitCode}:\n${output.slice(-2000)}`);
    }
    if (await answers(host)) {
      child.stdout?.removeAllListeners("data");
      child.stderr?.removeAllListeners("data");
      child.stdout?.resume();
      child.stderr?.resume();
      return { host, process: child };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  stopEmulator({ process: child });
  throw new Error(`The Firestore emulator did not answer on ${host} within ${timeoutMs} ms:\n${output.slice(-2000)}`);
}

/** Kills the emulator's whole process group (the launcher script starts a JVM). */
export function stopEmulator(emulator: Pick<RunningEmulator, "process">): void {
  const pid = emulator.process.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** Deletes every document of `projectId` in `database`. */
export async function clearFirestore(host: string, projectId: string, database = "(default)"): Promise<void> {
  const url = `http://${host}/emulator/v1/projects/${projectId}/databases/${encodeURIComponent(database)}/documents`;
  const response = await fetch(url, { method: "DELETE" });
  if (!response.ok) throw new Error(`Clearing the emulator failed: ${response.status} ${await response.text()}`);
}
