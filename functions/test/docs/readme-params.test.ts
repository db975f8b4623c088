/**
 * Packaging checks: the README's parameter reference agrees with
 * extension.yaml (so the two cannot drift), and firebase-tools can read the
 * extension the way `firebase ext:install` would (`ext:info --markdown`,
 * which works offline).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..", "..", "..");
const FIREBASE_CLI = join(ROOT, "node_modules", "firebase-tools", "lib", "bin", "firebase.js");

interface Param {
  param: string;
  label: string;
  type?: string;
  default?: unknown;
  required?: boolean;
}

const spec = parse(readFileSync(join(ROOT, "extension.yaml"), "utf8")) as { params: Param[] };

interface Row {
  name: string;
  type: string;
  /** The default as written in the README, without backticks; undefined for "—". */
  default: string | undefined;
  meaning: string;
}

/** The rows of the table under "## Parameters" in README.md. */
function readmeParams(): Row[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /^## Parameters\n([\s\S]*?)(?=^## )/m.exec(readme);
  if (!section) throw new Error('README.md has no "## Parameters" section');
  return section[1]
    .split("\n")
    .filter((line) => /^\|\s*`[A-Z0-9_]+`\s*\|/.test(line))
    .map((line) => {
      const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
      const unquote = (text: string) => text.replace(/^`|`$/g, "");
      return {
        name: unquote(cells[0]),
        type: cells[1],
        default: cells[2].startsWith("—") ? undefined : unquote(cells[2]),
        meaning: cells[3] ?? "",
      };
    });
}

describe("README parameter reference", () => {
  const rows = readmeParams();
  const byName = new Map(rows.map((row) => [row.name, row]));

  test("lists every param of extension.yaml, in the same order, and no other", () => {
    expect(rows.map((row) => row.name)).toEqual(spec.params.map((param) => param.param));
  });

  test.each(spec.params.map((param) => [param.param, param] as const))("%s: type and default agree", (name, param) => {
    const row = byName.get(name);
    expect(row).toBeDefined();
    expect(row?.type).toBe(param.type ?? "string");
    expect(row?.default).toBe(param.default === undefined ? undefined : String(param.default));
    expect(row?.meaning).not.toBe("");
  });

  test("a required param without a default says so", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const param of spec.params.filter((p) => p.required && p.default === undefined)) {
      expect(readme).toContain(`| \`${param.param}\` | ${param.type ?? "string"} | — (required) |`);
    }
  });
});

describe("firebase ext:info", () => {
  // Installed at the root by `npm ci`; its absence is a broken install, not a reason to skip.
  test("reads the extension offline and lists every param and function", async () => {
    expect(existsSync(FIREBASE_CLI)).toBe(true);
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [FIREBASE_CLI, "ext:info", ROOT, "--markdown", "--non-interactive"],
        { cwd: ROOT, timeout: 60_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`ext:info failed: ${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    expect(output).toContain("# Trigger Email from Firestore");
    const section = output.slice(output.indexOf("**Configuration Parameters:**"));
    for (const param of spec.params) expect(section).toContain(`* ${param.label}:`);
    expect(output).toContain("processQueue");
  }, 70_000);
});
