/**
 * The steps Firebase takes with an extension's source, run for real: archive
 * it the way firebase-tools uploads it, install and build it with the
 * commands the platform runs, and load the built entry point in a fresh Node
 * process the way the functions runtime does.
 */
import { spawn } from "node:child_process";
import { delimiter, join } from "node:path";

export const ROOT = join(__dirname, "..", "..", "..");
const ARCHIVE_SCRIPT = join(ROOT, "scripts", "archive-extension.js");

export interface ArchiveSummary {
  bytes: number;
  files: number;
  /** Archived paths, relative to the extension root, with `/` separators. */
  manifest: string[];
  heaviest: { folder: string; bytes: number }[];
}

/**
 * An environment like the platform's: nothing inherited from this test run
 * may stand in for what the build must bring itself. `npm test` puts this
 * repository's node_modules/.bin on PATH (a `tsc` the copy might lack) and
 * passes npm's own prefix settings, which would redirect installs here.
 */
export function platformEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !/^npm_config_/i.test(key)) continue;
    if (/^npm_config_.*prefix$/i.test(key)) continue;
    if (["INIT_CWD", "NODE_PATH", "NODE_OPTIONS", "NODE_ENV"].includes(key)) continue;
    if (key.endsWith("_EMULATOR_HOST")) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.includes("node_modules"))
    .join(delimiter);
  return { ...env, ...extra };
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a non-zero exit throws with the command's output. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) return resolve({ stdout, stderr });
      const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-25).join("\n");
      reject(new Error(`\`${command} ${args.join(" ")}\` in ${cwd} exited with ${code}:\n${tail}`));
    });
  });
}

/** Archives the repository as `firebase ext:install .` would, into `${dir}.zip`, and unpacks it into `dir`. */
export async function archiveAndUnpack(dir: string): Promise<ArchiveSummary> {
  const args = [ARCHIVE_SCRIPT, "--out", `${dir}.zip`, "--unpack", dir, "--json"];
  const { stdout } = await run(process.execPath, args, ROOT, platformEnv());
  return JSON.parse(stdout) as ArchiveSummary;
}

export interface LoadedEntryPoint {
  /** Each export of the entry point with the deployment description firebase-functions attaches to it. */
  endpoints: Record<string, { platform?: string; eventTrigger?: Record<string, unknown>; scheduleTrigger?: Record<string, unknown> }>;
  /** Where `firebase-functions` was loaded from. */
  functionsSdkPath: string;
  /** Whether the TypeScript compiler can be required from the function source. */
  hasCompiler: boolean;
}

const LOADER = `
const dir = process.argv[1];
const entry = require(dir);
const endpoints = {};
for (const [name, value] of Object.entries(entry)) endpoints[name] = value && value.__endpoint;
let hasCompiler = true;
try { require.resolve("typescript", { paths: [dir] }); } catch { hasCompiler = false; }
const functionsSdkPath = require.resolve("firebase-functions", { paths: [dir] });
process.stdout.write(JSON.stringify({ endpoints, functionsSdkPath, hasCompiler }));
`;

/**
 * Requires the function source by its package.json `main`, as the functions
 * runtime does, with the environment an instance starts with.
 */
export async function loadEntryPoint(functionsDir: string): Promise<LoadedEntryPoint> {
  const env = platformEnv({ NODE_ENV: "production", GCLOUD_PROJECT: "demo-packaging", MAIL_COLLECTION: "mail" });
  const { stdout } = await run(process.execPath, ["-e", LOADER, functionsDir], functionsDir, env);
  return JSON.parse(stdout) as LoadedEntryPoint;
}
