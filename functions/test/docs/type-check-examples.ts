/**
 * Type-checks documentation examples with the TypeScript compiler against the
 * packages this repository installs (firebase-admin, firebase-functions), the
 * way a reader's editor would: each block is a module of its own, so a
 * missing import, a wrong method or a misspelt option is an error.
 */
import { join } from "node:path";
import * as ts from "typescript";
import { blockName, type CodeBlock, SAMPLE_PARAMS, substituteParams, usesOwnSetup } from "./doc-examples";

/** Virtual files live here so that imports resolve from functions/node_modules. */
const VIRTUAL_DIR = join(__dirname, "__examples__");

/** What an example that does not set up firebase-admin may assume: `db`, and nothing else. */
const DB_PRELUDE: Record<"js" | "ts", string> = {
  js: '/** @type {import("firebase-admin/firestore").Firestore} */ const db = /** @type {any} */ (undefined);\n',
  ts: 'declare const db: import("firebase-admin/firestore").Firestore;\n',
};

const kind = (block: CodeBlock): "js" | "ts" => (block.lang === "ts" ? "ts" : "js");

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  // Examples use top-level await, as a Node.js module or a function body would.
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  lib: ["lib.es2022.d.ts"],
  types: ["node"],
  strict: true,
  allowJs: true,
  checkJs: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

export interface ExampleProblem {
  where: string;
  message: string;
}

/** The source a block is checked as: params filled in, `db` declared when the example relies on it. */
export function checkedSource(block: CodeBlock): string {
  const code = substituteParams(block.code, SAMPLE_PARAMS);
  return `${usesOwnSetup(code) ? "" : DB_PRELUDE[kind(block)]}${code}\nexport {};\n`;
}

/** Type errors in the given js/ts blocks, as "page:line: message" with the block's own line numbers. */
export function typeCheck(blocks: CodeBlock[]): ExampleProblem[] {
  const files = new Map<string, { block: CodeBlock; source: string; offset: number }>();
  for (const block of blocks) {
    const source = checkedSource(block);
    const offset = source.startsWith(DB_PRELUDE[kind(block)]) ? 1 : 0;
    files.set(join(VIRTUAL_DIR, `${blockName(block)}.${kind(block)}`), { block, source, offset });
  }
  const host = ts.createCompilerHost(OPTIONS);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name)?.source ?? readFile.call(host, name);
  host.getSourceFile = (name, version, onError, create) => {
    const file = files.get(name);
    return file ? ts.createSourceFile(name, file.source, version, true) : getSourceFile.call(host, name, version, onError, create);
  };
  const program = ts.createProgram([...files.keys()], OPTIONS, host);
  const problems: ExampleProblem[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file && files.get(diagnostic.file.fileName);
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (!file || diagnostic.start === undefined) {
      problems.push({ where: "(compiler)", message });
      continue;
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
    // The block's first code line is one below its opening fence.
    problems.push({ where: `${file.block.page}:${file.block.line + 1 + line - file.offset}`, message });
  }
  return problems;
}
