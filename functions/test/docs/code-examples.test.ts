/**
 * Every code example in the user documentation is checked: JavaScript and
 * TypeScript blocks are type-checked against the installed firebase-admin and
 * firebase-functions, JSON blocks are parsed, and no block escapes by having
 * no language. The examples that write to Firestore are also run against the
 * emulator with the real extension (code-examples.emulator.test.ts).
 */
import { allCodeBlocks, codeBlocks, LANGUAGES } from "./doc-examples";
import { typeCheck } from "./type-check-examples";

const blocks = allCodeBlocks();
const scripts = blocks.filter((block) => block.lang === "js" || block.lang === "ts");

describe("documentation code blocks", () => {
  test("are found at all (the extractor still reads the pages)", () => {
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    expect(blocks.some((block) => block.page === "POSTINSTALL.md" && block.lang === "js")).toBe(true);
  });

  test.each(blocks.map((block) => [`${block.page}:${block.line}`, block] as const))(
    "%s names a language this test knows",
    (_where, block) => {
      expect(LANGUAGES).toContain(block.lang);
    },
  );

  test.each(blocks.filter((block) => block.lang === "json").map((block) => [`${block.page}:${block.line}`, block] as const))(
    "%s is JSON",
    (_where, block) => {
      expect(() => JSON.parse(block.code)).not.toThrow();
    },
  );

  test(
    "every js and ts example type-checks against the installed packages",
    () => {
      expect(typeCheck(scripts).map(({ where, message }) => `${where}: ${message}`)).toEqual([]);
    },
    120_000,
  );
});

describe("the checker itself", () => {
  // The same compiler run, fed examples with the slips it exists to catch.
  const broken = codeBlocks(
    "broken.md",
    [
      "```js",
      'await db.collection("mail").add({ to: "a@example.com", sendAt: Timestamp.now() });',
      "```",
      "```js",
      'import { getFirestore } from "firebase-admin/firestore";',
      "const ref = await getFirestore().colection(\"mail\").add({});",
      "```",
      "```ts",
      'import { initializeApp } from "firebase-admin/app";',
      "initializeApp();",
      "await db.collection(\"mail\").add({});",
      "```",
    ].join("\n"),
  );

  test("reports a missing import, a misspelt method, and `db` used by an example that sets up its own app", () => {
    const problems = typeCheck(broken);
    expect(problems).toEqual([
      expect.objectContaining({ where: "broken.md:2", message: expect.stringContaining("Timestamp") }),
      expect.objectContaining({ where: "broken.md:6", message: expect.stringContaining("colection") }),
      expect.objectContaining({ where: "broken.md:11", message: expect.stringContaining("db") }),
    ]);
  }, 120_000);

  test("finds blocks with their language and line, and refuses an unclosed fence", () => {
    expect(codeBlocks("x.md", "a\n```json\n{}\n```\n")).toEqual([{ page: "x.md", line: 2, lang: "json", code: "{}" }]);
    expect(() => codeBlocks("x.md", "```js\nlet a;\n")).toThrow("x.md:1: a code fence is never closed");
  });
});
