/**
 * Decides how firebase-tools will run the Firestore emulator on this machine,
 * and prepares what it needs. firebase-tools 15 refuses to start the emulator
 * suite unless `java -version` reports 21 or later, and it downloads its own
 * Firestore emulator JAR, which fails offline. Machines with Java 17 and the
 * Google Cloud Firestore emulator installed from Debian can still run the
 * suite: that emulator runs on Java 17, firebase-tools accepts it through
 * FIRESTORE_EMULATOR_BINARY_PATH, and only the version probe needs to hear 21.
 *
 * prepareEmulators() returns the environment to give to firebase-tools and the
 * lines that explain the choice, or throws EmulatorSetupError saying exactly
 * what is missing.
 */
"use strict";

const { spawnSync } = require("node:child_process");
const { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } = require("node:fs");
const { homedir } = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const MIN_JAVA_FOR_FIREBASE_TOOLS = 21;
/** The installed emulator (v1.19) runs on Java 17 and later. */
const MIN_JAVA_FOR_INSTALLED_EMULATOR = 17;
const INSTALLED_EMULATOR_DIR =
  process.env.GOOGLE_FIRESTORE_EMULATOR_DIR || "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator";
const INSTALLED_EMULATOR_JAR = path.join(INSTALLED_EMULATOR_DIR, "cloud-firestore-emulator.jar");
/** The installed JAR has no Main-Class; its launcher script names this class. */
const EMULATOR_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore";
/** Generated files live under node_modules, so they are never committed and `npm ci` starts afresh. */
const WORK_DIR = path.join(ROOT, "node_modules", ".cache", "firestore-send-email");

class EmulatorSetupError extends Error {
  constructor(message) {
    super(message);
    this.name = "EmulatorSetupError";
  }
}

/** The real `java` on PATH: its path and major version, or null when there is none. */
function findJava(env = process.env) {
  const which = spawnSync("sh", ["-c", "command -v java"], { env, encoding: "utf8" });
  const javaPath = which.status === 0 ? which.stdout.trim() : "";
  if (!javaPath) return null;
  const probe = spawnSync(javaPath, ["-version"], { env, encoding: "utf8", timeout: 20_000 });
  const output = `${probe.stdout ?? ""}\n${probe.stderr ?? ""}`;
  const match = /version "(?:1\.)?([0-9]+)([^"]*)"/.exec(output);
  if (!match) return { path: javaPath, major: -1, version: output.trim().split("\n")[0] || "unknown" };
  return { path: javaPath, major: Number(match[1]), version: `${match[1]}${match[2]}` };
}

/**
 * The Java emulators firebase-tools may need, with where the Google Cloud
 * CLI's Debian packages install them. The Pub/Sub emulator is needed because
 * the Extensions emulator drops an extension whole when one of its functions
 * (the scheduled maintainQueue) has no emulator to trigger it.
 */
const JAVA_EMULATORS = {
  firestore: {
    label: "Firestore",
    cached: /^cloud-firestore-emulator-v.*\.jar$/,
    installed: INSTALLED_EMULATOR_JAR,
    debianPackage: "google-cloud-cli-firestore-emulator",
    binary: wrapperJar,
  },
  pubsub: {
    label: "Pub/Sub",
    cached: /^pubsub-emulator-/,
    installed: path.join(path.dirname(INSTALLED_EMULATOR_DIR), "pubsub-emulator", "bin", "cloud-pubsub-emulator"),
    debianPackage: "google-cloud-cli-pubsub-emulator",
    binary: pubsubLauncher,
  },
};

/** Whether firebase-tools already downloaded this emulator (then it needs no network). */
function firebaseToolsHasCached(name) {
  const dir = path.join(homedir(), ".cache", "firebase", "emulators");
  try {
    return readdirSync(dir).some((entry) => JAVA_EMULATORS[name].cached.test(entry));
  } catch {
    return false;
  }
}

/**
 * Returns `{ env, notes }`: `env` to pass to firebase-tools (a copy of
 * `baseEnv` plus what is needed), `notes` to print so the user knows why.
 * `emulators` names the Java emulators that will run ("firestore", "pubsub").
 */
function prepareEmulators(emulators = ["firestore"], baseEnv = process.env) {
  const env = { ...baseEnv };
  const notes = [];
  const java = findJava(baseEnv);
  const variable = (name) => `${name.toUpperCase()}_EMULATOR_BINARY_PATH`;
  const chosen = (name) => Boolean(baseEnv[variable(name)]);
  const installed = (name) => existsSync(JAVA_EMULATORS[name].installed);

  for (const name of emulators.filter(chosen)) {
    notes.push(`Using the ${JAVA_EMULATORS[name].label} emulator you chose: ${variable(name)}=${baseEnv[variable(name)]}`);
  }
  const open = emulators.filter((name) => !chosen(name));
  if (!java) throw noJava(open.filter((name) => !installed(name)));

  if (java.major >= MIN_JAVA_FOR_FIREBASE_TOOLS) {
    notes.push(`Java ${java.version} (${java.path}) is new enough for firebase-tools.`);
    for (const name of open) {
      const { label } = JAVA_EMULATORS[name];
      if (firebaseToolsHasCached(name)) {
        notes.push(`  ${label}: firebase-tools' own emulator (already downloaded).`);
      } else if (installed(name)) {
        env[variable(name)] = JAVA_EMULATORS[name].binary();
        notes.push(`  ${label}: the emulator installed at ${JAVA_EMULATORS[name].installed} (firebase-tools has not downloaded its own; no download needed).`);
      } else {
        notes.push(`  ${label}: firebase-tools downloads its emulator on first use (needs the network once).`);
      }
    }
    return { env, notes };
  }

  const missing = open.filter((name) => !installed(name));
  if (java.major >= MIN_JAVA_FOR_INSTALLED_EMULATOR && missing.length === 0) {
    for (const name of open) env[variable(name)] = JAVA_EMULATORS[name].binary();
    const shimDir = javaShim(java);
    env.PATH = `${shimDir}${path.delimiter}${baseEnv.PATH ?? ""}`;
    const labels = open.map((name) => JAVA_EMULATORS[name].label).join(" and ");
    notes.push(
      `Java ${java.version} (${java.path}) is older than the ${MIN_JAVA_FOR_FIREBASE_TOOLS} that firebase-tools asks for, but the Google Cloud ${labels} emulator(s) installed under ${path.dirname(INSTALLED_EMULATOR_DIR)} run on it:`,
      `  → firebase-tools is given them through ${open.map(variable).join(" and ")} (launchers in ${path.relative(ROOT, WORK_DIR)}),`,
      `  → and a \`java\` shim (${path.relative(ROOT, shimDir)}/java) answers only firebase-tools' version probe with ${MIN_JAVA_FOR_FIREBASE_TOOLS}; every other call runs the real ${java.path}.`,
      `  Install Java ${MIN_JAVA_FOR_FIREBASE_TOOLS}+ to run firebase-tools without this workaround.`,
    );
    return { env, notes };
  }

  throw new EmulatorSetupError(
    [
      `Cannot run the emulators: firebase-tools needs Java ${MIN_JAVA_FOR_FIREBASE_TOOLS} or later, and ${java.path} is Java ${java.version}.`,
      java.major < MIN_JAVA_FOR_INSTALLED_EMULATOR
        ? `The Google Cloud emulators installed from Debian would need Java ${MIN_JAVA_FOR_INSTALLED_EMULATOR} or later.`
        : `The fallback, the Google Cloud emulators from Debian, is incomplete: ${missing
            .map((name) => `${JAVA_EMULATORS[name].installed} (package ${JAVA_EMULATORS[name].debianPackage})`)
            .join(" and ")} not found.`,
      `Fix: install a JDK ${MIN_JAVA_FOR_FIREBASE_TOOLS}+ and put it first on PATH, or install ${missing.length ? missing.map((n) => JAVA_EMULATORS[n].debianPackage).join(" and ") : "Java 17+"}.`,
    ].join("\n"),
  );
}

function noJava(missing) {
  return new EmulatorSetupError(
    `Cannot run the emulators: no \`java\` on PATH. Install a JDK ${MIN_JAVA_FOR_FIREBASE_TOOLS}+ (firebase-tools needs it)` +
      (missing.length === 0
        ? `, or Java ${MIN_JAVA_FOR_INSTALLED_EMULATOR}+ for the Google Cloud emulators installed under ${path.dirname(INSTALLED_EMULATOR_DIR)}.`
        : "."),
  );
}

/**
 * A JAR holding only a manifest: Main-Class names the emulator's entry point
 * and Class-Path points at the installed JAR, so that firebase-tools' usual
 * `java -jar <path>` command starts the installed emulator.
 */
function wrapperJar() {
  mkdirSync(WORK_DIR, { recursive: true });
  const jarPath = path.join(WORK_DIR, "firestore-emulator-launcher.jar");
  const manifest = [
    "Manifest-Version: 1.0",
    "Created-By: firestore-send-email scripts/emulator-setup.js",
    `Main-Class: ${EMULATOR_MAIN_CLASS}`,
    `Class-Path: ${new URL(`file://${INSTALLED_EMULATOR_JAR}`).href}`,
  ]
    .flatMap(manifestLines)
    .join("\r\n");
  writeFileSync(jarPath, storedZip("META-INF/MANIFEST.MF", Buffer.from(`${manifest}\r\n\r\n`, "utf8")));
  return jarPath;
}

/**
 * A script that runs the installed Pub/Sub emulator. firebase-tools makes
 * the file it is given executable, which must not touch the system's copy.
 */
function pubsubLauncher() {
  mkdirSync(WORK_DIR, { recursive: true });
  const launcher = path.join(WORK_DIR, "pubsub-emulator-launcher");
  writeFileSync(launcher, `#!/bin/sh\nexec ${shellQuote(JAVA_EMULATORS.pubsub.installed)} "$@"\n`);
  chmodSync(launcher, 0o755);
  return launcher;
}

/** The JAR manifest format limits lines to 72 bytes; longer values continue on lines starting with a space. */
function manifestLines(line) {
  const out = [line.slice(0, 72)];
  for (let i = 72; i < line.length; i += 71) out.push(` ${line.slice(i, i + 71)}`);
  return out;
}

/** A `java` in front of the real one that answers only the bare version probe with 21. */
function javaShim(java) {
  const dir = path.join(WORK_DIR, "java-shim");
  mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, "java");
  const script = `#!/bin/sh
# Written by scripts/emulator-setup.js. firebase-tools refuses Java < ${MIN_JAVA_FOR_FIREBASE_TOOLS} after
# running \`java [-D...] -version\`; the Firestore emulator it then starts
# is the installed one, which runs on the real Java ${java.version}.
probe=no
for arg in "$@"; do
  case "$arg" in -version) probe=yes ;; -D*) ;; *) probe=no; break ;; esac
done
if [ "$probe" = yes ]; then
  echo 'openjdk version "${MIN_JAVA_FOR_FIREBASE_TOOLS}" (shim for firebase-tools; the real Java is ${java.version}, see scripts/emulator-setup.js)' >&2
  exit 0
fi
exec ${shellQuote(java.path)} "$@"
`;
  writeFileSync(shim, script);
  chmodSync(shim, 0o755);
  return dir;
}

function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A zip archive with one uncompressed entry: all a JAR manifest needs. */
function storedZip(name, data) {
  const nameBytes = Buffer.from(name, "utf8");
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4); // version needed
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(0, 8); // stored
  local.writeUInt32LE(0, 10); // time and date
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  local.writeUInt16LE(0, 28);

  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4); // made by
  central.writeUInt16LE(10, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(0, 10);
  central.writeUInt32LE(0, 12);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  // extra, comment, disk, internal and external attributes, offset: all zero
  const centralOffset = local.length + nameBytes.length + data.length;
  const centralSize = central.length + nameBytes.length;

  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

function crc32(data) {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

module.exports = { prepareEmulators, findJava, EmulatorSetupError, INSTALLED_EMULATOR_DIR, WORK_DIR };
