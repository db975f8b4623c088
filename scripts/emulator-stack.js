/**
 * What `npm start` and the end-to-end tier share: building the functions,
 * the mail viewer (maildev on 127.0.0.1), and running firebase-tools in a
 * process group of its own so that stopping it leaves nothing behind.
 */
"use strict";

const { spawn, spawnSync } = require("node:child_process");
const { mkdtempSync, readFileSync, readdirSync, rmSync } = require("node:fs");
const net = require("node:net");
const { tmpdir } = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const FIREBASE_BIN = path.join(ROOT, "node_modules", "firebase-tools", "lib", "bin", "firebase.js");
const INSTANCE_ID = "firestore-send-email";
/**
 * The example security rules. firebase.json deliberately names no rules file,
 * so that `firebase deploy` (here, or in a project that copies firebase.json)
 * never publishes the example over a project's own rules: the emulator
 * scripts load it themselves.
 */
const EXAMPLE_RULES = path.join(ROOT, "examples", "firestore.rules");

/**
 * The emulators the extension needs. A scheduled function is triggered
 * through Pub/Sub, and the Extensions emulator refuses to run an extension
 * at all when one of its triggers has no emulator.
 */
function neededEmulators() {
  const spec = readFileSync(path.join(ROOT, "extension.yaml"), "utf8");
  const list = ["firestore", "functions", "eventarc", "extensions"];
  if (/^\s*scheduleTrigger:/m.test(spec) || /google\.pubsub\./.test(spec)) list.push("pubsub");
  return list;
}

/** The environment firebase-tools runs with, whatever the caller's shell has. */
function firebaseEnv(env) {
  return {
    ...env,
    // Google client libraries otherwise probe the GCE metadata server, off this machine.
    METADATA_SERVER_DETECTION: "none",
  };
}

/** Compiles functions/src to functions/lib, which the Functions emulator loads. */
function buildFunctions() {
  const result = spawnSync("npm", ["--prefix", path.join(ROOT, "functions"), "run", "--silent", "build"], {
    stdio: "inherit",
    timeout: 300_000,
  });
  if (result.status !== 0) throw new Error(`Building functions/ failed (exit ${result.status ?? result.signal}).`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * Starts maildev in this process, SMTP and web viewer both on 127.0.0.1
 * only. Port 0 picks a free port. Its .eml files go to a temporary folder
 * that stop() removes.
 */
async function startMailViewer({ smtpPort = 0, webPort = 0 } = {}) {
  const { MailDev } = await import("maildev");
  const mailDirectory = mkdtempSync(path.join(tmpdir(), "firestore-send-email-maildev-"));
  const maildev = new MailDev({
    smtp: smtpPort,
    web: webPort,
    ip: "127.0.0.1",
    webIp: "127.0.0.1",
    mailDirectory,
    silent: true,
  });
  // maildev announces its API on the console even when silent; ours says where things are.
  const info = console.info;
  console.info = () => undefined;
  let servers;
  try {
    servers = await maildev.start();
  } catch (error) {
    rmSync(mailDirectory, { recursive: true, force: true });
    throw error;
  } finally {
    console.info = info;
  }
  const smtp = servers.smtp.smtp.server.address().port;
  const web = servers.api.boundAddress.port;
  return {
    smtpPort: smtp,
    webUrl: `http://127.0.0.1:${web}`,
    async stop() {
      await maildev.stop().catch(() => undefined);
      rmSync(mailDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * Runs firebase-tools as the leader of a new process group (so Ctrl-C in the
 * terminal reaches only our script, which then stops the group in order).
 */
function spawnFirebase(args, { env, cwd = ROOT, stdio = "inherit" } = {}) {
  return spawn(process.execPath, [FIREBASE_BIN, ...args], { cwd, env: firebaseEnv(env), stdio, detached: true });
}

/**
 * Asks firebase-tools to shut its emulators down (SIGINT, as Ctrl-C would),
 * and kills whatever is left after `graceMs`: its process group and every
 * process it started, since it starts the emulators' JVMs in groups of their own.
 */
async function stopGroup(child, graceMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const family = descendants(child.pid, processTable());
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    signal(-child.pid, "SIGINT");
  });
  // Anything still running from the tree seen before the shutdown, if it is
  // still the same program (a pid can be reused once its process is gone).
  const now = processTable();
  for (const { pid, args } of family) {
    if (now.find((entry) => entry.pid === pid)?.args === args) signal(pid, "SIGKILL");
  }
  signal(-child.pid, "SIGKILL");
}

/** pid, parent pid and command line of every process (Linux and macOS `ps`). */
function processTable() {
  const out = spawnSync("ps", ["-A", "-o", "pid=,ppid=,args="], { encoding: "utf8" }).stdout ?? "";
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter(Boolean)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] }));
}

/** Every process below `root` in `table`. */
function descendants(root, table) {
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const entry of table) {
      if (entry.ppid === parent) {
        found.push(entry);
        queue.push(entry.pid);
      }
    }
  }
  return found;
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/**
 * Loads a rules file into a running Firestore emulator for `project`, through
 * the emulator's own endpoint (the one firebase-tools uses for firebase.json's
 * rules). Resolves to the compiler's warnings; rejects when the rules do not
 * compile.
 */
async function loadFirestoreRules(host, project, file) {
  const content = readFileSync(file, "utf8");
  const response = await fetch(`http://${host}/emulator/v1/projects/${encodeURIComponent(project)}:securityRules`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rules: { files: [{ name: path.relative(ROOT, file), content }] } }),
    signal: AbortSignal.timeout(20_000),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`The Firestore emulator refused ${path.relative(ROOT, file)} (HTTP ${response.status}): ${body.error?.message ?? "no reason given"}`);
  }
  return (body.issues ?? []).map(
    (issue) => `${issue.sourcePosition?.fileName ?? file}:${issue.sourcePosition?.line ?? 0}:${issue.sourcePosition?.column ?? 0} ${issue.severity} ${issue.description}`,
  );
}

/** A loud banner, for what must not scroll by unnoticed. */
function banner(lines) {
  const bar = "!".repeat(78);
  return `\n${bar}\n${lines.map((line) => `!! ${line}`).join("\n")}\n${bar}\n`;
}

/** The `*-debug.log` files the emulators leave in `dir`. */
function debugLogs(dir = ROOT) {
  return readdirSync(dir).filter((name) => name.endsWith("-debug.log"));
}

/**
 * Removes the emulators' debug logs that were not there before they started:
 * `firebase ext:install .` uploads every file of this folder (it does not
 * read .gitignore), so leftovers would ship with the extension.
 */
function removeNewDebugLogs(before, dir = ROOT) {
  for (const name of debugLogs(dir)) if (!before.includes(name)) rmSync(path.join(dir, name), { force: true });
}

module.exports = {
  ROOT,
  debugLogs,
  removeNewDebugLogs,
  FIREBASE_BIN,
  INSTANCE_ID,
  EXAMPLE_RULES,
  neededEmulators,
  buildFunctions,
  freePort,
  portIsFree,
  startMailViewer,
  spawnFirebase,
  stopGroup,
  loadFirestoreRules,
  banner,
};
