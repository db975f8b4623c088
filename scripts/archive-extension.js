#!/usr/bin/env node
/**
 * Archives this extension exactly as `firebase ext:install <path>` (and
 * `ext:dev:upload --local`) does before uploading it, and optionally unpacks
 * the archive the way the Extensions emulator unpacks a downloaded source.
 *
 * Rather than re-implementing firebase-tools' rules (which files it skips,
 * whether it honours ignore files), it runs firebase-tools' own
 * `createSourceFromLocation` with the three network calls (upload, create
 * source, delete upload) replaced by a local copy of the archive. What ends
 * up in the zip is therefore what a user's upload would carry.
 *
 *   node scripts/archive-extension.js [--out FILE.zip] [--unpack DIR] [--json]
 *
 * Prints the archive size, its file count and the folders that weigh most.
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
const TOOLS_LIB = path.join(ROOT, "node_modules", "firebase-tools", "lib");

function parseArgs(argv) {
  const args = { out: undefined, unpack: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") args.json = true;
    else if (arg === "--out" || arg === "--unpack") {
      const value = argv[++i];
      if (!value) throw new Error(`${arg} needs a path`);
      args[arg.slice(2)] = path.resolve(value);
    } else throw new Error(`Unknown argument ${arg}; expected --out FILE, --unpack DIR or --json`);
  }
  return args;
}

/** Runs firebase-tools' archive step for `sourceDir` and returns a copy of the zip it would upload. */
async function archiveLikeFirebaseTools(sourceDir, outFile) {
  const storage = require(path.join(TOOLS_LIB, "gcp", "storage"));
  const extensionsApi = require(path.join(TOOLS_LIB, "extensions", "extensionsApi"));
  const helper = require(path.join(TOOLS_LIB, "extensions", "extensionsHelper"));

  let captured;
  storage.uploadObject = async (source, bucket) => {
    source.stream.destroy();
    fs.copyFileSync(source.file, outFile);
    captured = { size: source.size, manifest: source.manifest };
    return { bucket, object: path.basename(source.file), generation: null };
  };
  storage.deleteObject = async () => undefined;
  extensionsApi.createSource = async () => ({ name: "projects/demo-archive/sources/local" });

  await helper.createSourceFromLocation("demo-archive", sourceDir);
  if (!captured) throw new Error("firebase-tools did not hand an archive to the upload step");
  return captured;
}

/** Sizes of the archived files, grouped by their first two path segments. */
function heaviestFolders(sourceDir, manifest, limit = 8) {
  const totals = new Map();
  for (const name of manifest) {
    const key = name.split(path.sep).slice(0, 2).join("/");
    totals.set(key, (totals.get(key) ?? 0) + fs.statSync(path.join(sourceDir, name)).size);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([folder, bytes]) => ({ folder, bytes }));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const outFile = args.out ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ext-archive-")), "source.zip");
  // The archiver reports through firebase-tools' spinner; keep stdout for our summary.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
  let archive;
  try {
    archive = await archiveLikeFirebaseTools(ROOT, outFile);
    if (args.unpack) {
      const { unzip } = require(path.join(TOOLS_LIB, "unzip"));
      fs.mkdirSync(args.unpack, { recursive: true });
      await unzip(outFile, args.unpack);
    }
  } finally {
    process.stdout.write = write;
  }

  const summary = {
    file: outFile,
    bytes: archive.size,
    files: archive.manifest.length,
    manifest: archive.manifest.map((name) => name.split(path.sep).join("/")),
    heaviest: heaviestFolders(ROOT, archive.manifest),
    unpackedTo: args.unpack,
  };
  if (args.json) {
    process.stdout.write(JSON.stringify(summary) + "\n");
    return;
  }
  const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
  console.log(`Archive: ${summary.file}`);
  console.log(`Size: ${kib(summary.bytes)} compressed, ${summary.files} files`);
  console.log("Heaviest folders (uncompressed):");
  for (const { folder, bytes } of summary.heaviest) console.log(`  ${kib(bytes).padStart(9)}  ${folder}`);
  if (args.unpack) console.log(`Unpacked to ${args.unpack}`);
}

main().then(
  // firebase-tools leaves timers and handles behind; the work is done.
  () => process.exit(0),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
