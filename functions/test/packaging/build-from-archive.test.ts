/**
 * From a clone to running functions, the way Firebase does it: the source is
 * archived as `firebase ext:install <path>` uploads it, unpacked, installed
 * and built with the platform's own commands, and the built entry point must
 * expose every function. `functions/lib` is not committed, so this fails
 * whenever the source cannot build itself.
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { archiveAndUnpack, ArchiveSummary, loadEntryPoint, LoadedEntryPoint, platformEnv, run } from "./platform-build";

// The npm cache is usually warm; a machine without it still reaches the registry.
const INSTALL_FLAGS = ["--prefer-offline", "--no-audit", "--no-fund"];
// Generous for source, docs and lock files; caches, coverage or build output would blow it.
const ARCHIVE_BUDGET_BYTES = 2 * 1024 * 1024;
const BUILD_TIMEOUT_MS = 240_000;

function expectEveryFunction(loaded: LoadedEntryPoint, functionsDir: string): void {
  expect(Object.keys(loaded.endpoints).sort()).toEqual(["maintainQueue", "processQueue", "webhooks"]);
  expect(loaded.endpoints.processQueue).toMatchObject({
    platform: "gcfv2",
    eventTrigger: {
      eventType: "google.cloud.firestore.document.v1.written",
      eventFilterPathPatterns: { document: "mail/{documentId}" },
    },
  });
  expect(loaded.endpoints.maintainQueue?.scheduleTrigger).toMatchObject({ schedule: expect.any(String) });
  expect(loaded.endpoints.webhooks).toMatchObject({ platform: "gcfv1", httpsTrigger: {} });
  // The dependencies must be the copy's own, not found by walking up into this repository.
  expect(relative(functionsDir, loaded.functionsSdkPath)).toMatch(/^node_modules[\\/]/);
}

describe("the extension source as firebase-tools uploads it", () => {
  let work: string;
  let source: string;
  let archive: ArchiveSummary;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "send-email-packaging-"));
    source = join(work, "source");
    archive = await archiveAndUnpack(source);
    // A developer's archive carries their functions/lib; the platform must not depend on it.
    rmSync(join(source, "functions", "lib"), { recursive: true, force: true });
  }, 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("stays small: no dependencies and nothing heavy from tests, benchmarks or caches", () => {
    expect(archive.manifest).toContain("extension.yaml");
    expect(archive.manifest).toContain("functions/package.json");
    expect(archive.manifest.filter((name) => /(^|\/)(node_modules|\.git)\//.test(name))).toEqual([]);
    const heaviest = archive.heaviest.map(({ folder, bytes }) => `${folder} ${Math.round(bytes / 1024)} KiB`).join(", ");
    if (archive.bytes > ARCHIVE_BUDGET_BYTES) {
      throw new Error(`The upload would be ${Math.round(archive.bytes / 1024)} KiB; heaviest: ${heaviest}`);
    }
  });

  test(
    "builds as the Extensions emulator builds a downloaded source, and loads every function",
    async () => {
      const functionsDir = join(source, "functions");
      // extensionsEmulator.installAndBuildSourceCode: `npm install`, then `npm run gcp-build`, in functions/.
      const env = platformEnv();
      await run("npm", ["install", ...INSTALL_FLAGS], functionsDir, env);
      await run("npm", ["run", "gcp-build"], functionsDir, env);

      expect(existsSync(join(functionsDir, "lib", "index.js"))).toBe(true);
      expectEveryFunction(await loadEntryPoint(functionsDir), functionsDir);
    },
    BUILD_TIMEOUT_MS,
  );

  test(
    "builds as Cloud Build builds the function source alone, and runs without the compiler",
    async () => {
      // The function source is built without the rest of the repository around it.
      const functionsDir = join(work, "function-source");
      renameSync(join(source, "functions"), functionsDir);
      // The Node.js buildpack, given a gcp-build script: install with devDependencies
      // (on a warm cache it restores node_modules and runs `npm install`), run
      // gcp-build, then prune the devDependencies before the image is made.
      const buildEnv = platformEnv({ NODE_ENV: "development" });
      await run("npm", ["install", ...INSTALL_FLAGS], functionsDir, buildEnv);
      // Whatever the install built, gcp-build alone must produce the entry point.
      rmSync(join(functionsDir, "lib"), { recursive: true, force: true });
      await run("npm", ["run", "gcp-build"], functionsDir, buildEnv);
      await run("npm", ["prune", "--production"], functionsDir, platformEnv({ NODE_ENV: "production" }));

      const loaded = await loadEntryPoint(functionsDir);
      expectEveryFunction(loaded, functionsDir);
      expect(loaded.hasCompiler).toBe(false);
    },
    BUILD_TIMEOUT_MS,
  );
});
