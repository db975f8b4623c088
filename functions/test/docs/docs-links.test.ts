/**
 * Every relative link in the documentation leads somewhere: the file exists,
 * and a `#fragment` names a heading of the target as GitHub renders it.
 * Pages are read by people who follow links from one page to another, and a
 * moved section or renamed heading otherwise breaks them without a sound.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..", "..");

const PAGES = [
  "README.md",
  "CHANGELOG.md",
  "PREINSTALL.md",
  "POSTINSTALL.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/(`+)[^`\n]*?\1/g, "");
}

/** Link targets: inline `[text](target)` and reference definitions `[label]: target`. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((match) => match[1]);
  return [...inline, ...references];
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const match of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const text = match[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text stays, its target goes
      .replace(/<[^>]+>/g, "");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const match of withoutFences.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** What is wrong with each relative link of `page`, as "page: target (why)". */
export function brokenLinks(page: string, read: (path: string) => string | undefined): string[] {
  const markdown = read(page);
  if (markdown === undefined) return [`${page}: the page itself is missing`];
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // absolute: https:, mailto:
    const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
    const file = pathPart === "" ? page : join(dirname(page), decodeURIComponent(pathPart)).replace(/\/$/, "");
    if (file.startsWith("..")) {
      problems.push(`${page}: ${target} (outside the repository)`);
      continue;
    }
    const content = read(file);
    if (content === undefined) {
      problems.push(`${page}: ${target} (no such file: ${file})`);
      continue;
    }
    if (fragment !== undefined && file.endsWith(".md") && !headingAnchors(content).has(decodeURIComponent(fragment))) {
      problems.push(`${page}: ${target} (no heading #${fragment} in ${file})`);
    }
  }
  return problems;
}

/** Reads a repository file; "" for a directory (a link to a folder is fine), undefined when absent. */
function readRepoFile(path: string): string | undefined {
  const full = join(ROOT, path);
  if (relative(ROOT, full).startsWith("..") || !existsSync(full)) return undefined;
  return statSync(full).isDirectory() ? "" : readFileSync(full, "utf8");
}

describe("GitHub heading anchors", () => {
  test.each([
    ["## Sending later: `sendAt`", "sending-later-sendat"],
    ["### Microsoft 365 and Outlook.com", "microsoft-365-and-outlookcom"],
    ["## TLS_OPTIONS", "tls_options"],
    ["## Never stuck: lease recovery", "never-stuck-lease-recovery"],
    ["## Set-up", "set-up"],
    ["## Deleting old mail: `expireAt`", "deleting-old-mail-expireat"],
    ["## See [the README](../README.md)", "see-the-readme"],
  ])("%s → #%s", (heading, anchor) => {
    expect([...headingAnchors(heading)]).toEqual([anchor]);
  });

  test("repeated headings are numbered, as GitHub does", () => {
    expect([...headingAnchors("## Notes\n\n## Notes\n\n## Notes\n")]).toEqual(["notes", "notes-1", "notes-2"]);
  });

  test("headings inside code blocks are not headings", () => {
    expect([...headingAnchors("```sh\n# not a heading\n```\n## Real\n")]).toEqual(["real"]);
  });
});

describe("the link checker", () => {
  const files: Record<string, string> = {
    "README.md": "# Title\n\n## Install\n",
    "docs/a.md": [
      "# A",
      "[ok](../README.md#install) [self](#a) [abs](https://example.com/x#y) [dir](../docs/)",
      "[gone](missing.md) [bad anchor](../README.md#uninstall) [also bad](#nowhere)",
      "`[not a link](nowhere.md)`",
      "```md\n[not a link either](nowhere.md)\n```",
      "[ref]: ../README.md#title",
    ].join("\n"),
  };
  const read = (path: string) => (path === "docs" ? "" : files[path]);

  test("finds a missing file and missing anchors, and nothing else", () => {
    expect(brokenLinks("docs/a.md", read)).toEqual([
      "docs/a.md: missing.md (no such file: docs/missing.md)",
      "docs/a.md: ../README.md#uninstall (no heading #uninstall in README.md)",
      "docs/a.md: #nowhere (no heading #nowhere in docs/a.md)",
    ]);
  });
});

describe("documentation links", () => {
  test.each(PAGES)("every relative link in %s leads to an existing file and heading", (page) => {
    expect(brokenLinks(page, readRepoFile)).toEqual([]);
  });

  test("the documentation pages link to one another from the README", () => {
    const targets = linkTargets(readFileSync(join(ROOT, "README.md"), "utf8"));
    for (const page of PAGES.filter((name) => name.startsWith("docs/"))) {
      expect(targets).toContain(page);
    }
  });
});
