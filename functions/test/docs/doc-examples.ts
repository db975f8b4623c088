/**
 * The code examples of the user documentation, as a reader copies them: every
 * fenced block of README.md, PREINSTALL.md, POSTINSTALL.md and docs/*.md,
 * with its language and line. The tests in this folder type-check, parse or
 * run them, so an example cannot rot while the code changes under it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..", "..");

export const DOC_PAGES = [
  "README.md",
  "PREINSTALL.md",
  "POSTINSTALL.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/**
 * What each info string means here. `js`/`ts` are type-checked, `json`
 * parsed, `sh` commands are driven by the quickstart test or name scripts of
 * this repository, and `text` is prose set in monospace (URL shapes, headers,
 * diagrams) with nothing to execute.
 */
export const LANGUAGES = ["js", "ts", "json", "sh", "text", "mermaid"] as const;
export type Language = (typeof LANGUAGES)[number];

export interface CodeBlock {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, "" when the fence has none. */
  lang: string;
  code: string;
}

/** Every fenced block of `markdown` (``` or ~~~ fences, not nested). */
export function codeBlocks(page: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```+|~~~+)\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith(fence)) body.push(lines[j++]);
    if (j === lines.length) throw new Error(`${page}:${i + 1}: a code fence is never closed`);
    blocks.push({ page, line: i + 1, lang: open[2], code: body.join("\n") });
    i = j;
  }
  return blocks;
}

export function allCodeBlocks(): CodeBlock[] {
  return DOC_PAGES.flatMap((page) => codeBlocks(page, readFileSync(join(ROOT, page), "utf8")));
}

/**
 * POSTINSTALL.md is shown with `${param:NAME}` replaced by the instance's
 * values; examples are checked with the values given here.
 */
export function substituteParams(code: string, values: Record<string, string>): string {
  return code.replace(/\$\{param:([A-Z_]+)\}/g, (whole, name: string) => {
    if (!(name in values)) throw new Error(`No sample value for ${whole}`);
    return values[name];
  });
}

export const SAMPLE_PARAMS = {
  DATABASE: "(default)",
  MAIL_COLLECTION: "mail",
  DEFAULT_FROM: "Example App <noreply@example.com>",
  TTL_EXPIRE_VALUE: "1",
  TTL_EXPIRE_TYPE: "day",
};

/**
 * An example that does not set up firebase-admin itself may use `db`, the
 * Firestore instance its page says it stands for. Everything else (such as
 * `Timestamp` or `FieldValue`) an example must import, as a reader would.
 */
export function usesOwnSetup(code: string): boolean {
  return /["']firebase-admin\/app["']/.test(code) || /\b(?:const|let|var)\s+db\b/.test(code);
}

/** A stable, readable name for a block: `docs-mail-documents-md-126`. */
export function blockName(block: CodeBlock): string {
  return `${block.page.replace(/[^A-Za-z0-9]+/g, "-")}-${block.line}`.toLowerCase();
}
