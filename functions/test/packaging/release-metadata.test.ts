/**
 * The metadata a published extension shows on its install page and in
 * `firebase ext:info`, and the release notes firebase-tools takes from
 * CHANGELOG.md when a version is uploaded.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./platform-build";

interface Spec {
  version: string;
  author?: { authorName?: string; url?: string };
  sourceUrl?: string;
  releaseNotesUrl?: string;
}

const spec = parse(readFileSync(join(ROOT, "extension.yaml"), "utf8")) as Spec;

// firebase-tools' own reader, so a heading it would not recognise fails here.
const changeLog = require(join(ROOT, "node_modules", "firebase-tools", "lib", "extensions", "change-log")) as {
  getLocalChangelog(directory: string): Record<string, string>;
};

function byVersion(a: string, b: string): number {
  const [x, y] = [a, b].map((version) => version.split(/[.-]/).map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

describe("release metadata", () => {
  test("the version is the newest in CHANGELOG.md, which has release notes for it", () => {
    const changes = changeLog.getLocalChangelog(ROOT);
    const newest = Object.keys(changes).sort(byVersion).pop();
    expect(spec.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(newest).toBe(spec.version);
    expect(changes[spec.version].trim().length).toBeGreaterThan(0);
  });

  test("names an author and links to the source and its release notes", () => {
    expect(spec.author?.authorName?.trim()).toBeTruthy();
    for (const url of [spec.author?.url, spec.sourceUrl, spec.releaseNotesUrl]) {
      expect(new URL(url ?? "").protocol).toBe("https:");
    }
    expect(spec.releaseNotesUrl?.startsWith(`${spec.sourceUrl}/`)).toBe(true);
    expect(spec.releaseNotesUrl).toMatch(/\/CHANGELOG\.md$/);
  });
});
