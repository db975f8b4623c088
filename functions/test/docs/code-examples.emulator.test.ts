/**
 * The documentation's examples that a newcomer runs first, run as written:
 * each is saved as an ES module and started with Node.js against a Firestore
 * emulator on which the real `processQueue` handles every write and sends to
 * an in-process SMTP server. An example that throws, hangs or writes where
 * the extension does not look fails here.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Firestore } from "firebase-admin/firestore";
import { processQueue } from "../helpers/extension-env";
import { rebuildRuntime } from "../helpers/extension-env";
import { configureExtension } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { describeWithOwnEmulator, startTriggerEmulator, type TriggerEmulator } from "../helpers/emulator-fixture";
import { run } from "../packaging/platform-build";
import { type CodeBlock, codeBlocks, ROOT, SAMPLE_PARAMS, substituteParams, usesOwnSetup } from "./doc-examples";

const PROJECT = "demo-doc-examples";

/** For examples that use `db` as their page defines it. */
const DB_SETUP = [
  'import { initializeApp as __initializeApp } from "firebase-admin/app";',
  'import { getFirestore as __getFirestore } from "firebase-admin/firestore";',
  "__initializeApp();",
  "const db = __getFirestore();",
  "",
].join("\n");

function example(page: string, index: number): CodeBlock {
  const blocks = codeBlocks(page, readFileSync(join(ROOT, page), "utf8")).filter((block) => block.lang === "js");
  if (!blocks[index]) throw new Error(`${page} has no js example #${index}`);
  return blocks[index];
}

describeWithOwnEmulator("documentation examples, run against the emulator with the extension", () => {
  let own: TriggerEmulator;
  let sink: SmtpSink;
  let db: Firestore;
  let dir: string;

  beforeAll(async () => {
    own = await startTriggerEmulator();
    sink = await startSmtpSink();
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM: SAMPLE_PARAMS.DEFAULT_FROM });
    db = own.firestore(PROJECT);
    await own.register({ project: PROJECT, fn: processQueue });
    // Inside functions/, so that the examples' imports resolve to its node_modules.
    mkdirSync(join(__dirname, "..", "..", ".cache"), { recursive: true });
    dir = mkdtempSync(join(__dirname, "..", "..", ".cache", "doc-examples-"));
  }, 120_000);

  afterAll(async () => {
    rebuildRuntime();
    await db?.terminate();
    await sink?.close();
    await own?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a block as `node file.mjs` with the emulator's environment; its stdout. */
  async function runExample(block: CodeBlock, params: Record<string, string> = SAMPLE_PARAMS): Promise<string> {
    const code = substituteParams(block.code, params);
    const file = join(dir, `${block.page.replace(/\W+/g, "-")}-${block.line}.mjs`);
    writeFileSync(file, `${usesOwnSetup(code) ? "" : DB_SETUP}${code}\n`);
    const env = {
      PATH: process.env.PATH ?? "",
      FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST ?? "",
      GCLOUD_PROJECT: PROJECT,
      METADATA_SERVER_DETECTION: "none",
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const { stdout } = await Promise.race([
        run(process.execPath, [file], dir, env),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${block.page}:${block.line} did not finish in 30 s`)), 30_000);
        }),
      ]);
      return stdout;
    } finally {
      clearTimeout(timer);
    }
  }

  test("README: the example sends a mail and reports SUCCESS, then exits", async () => {
    const before = sink.messages.length;
    const stdout = await runExample(example("README.md", 0));
    expect(stdout).toContain("SUCCESS");
    expect(stdout).toContain("Accepted for someone@example.com");
    expect(sink.messages.length).toBe(before + 1);
  }, 60_000);

  test("PREINSTALL: the example writes a mail that is sent", async () => {
    const before = sink.messages.length;
    await runExample(example("PREINSTALL.md", 0));
    await own.driver.settle(PROJECT, (await db.collection("mail").listDocuments()).map((ref) => ref.path), ["SUCCESS", "ERROR"], 20_000);
    expect(sink.messages.length).toBe(before + 1);
  }, 60_000);

  test("POSTINSTALL: the example writes where the extension looks, also with a wildcard collection", async () => {
    const sent = await runExample(example("POSTINSTALL.md", 0));
    const path = /Wrote (\S+)/.exec(sent)?.[1];
    expect(path).toMatch(/^mail\/[^/]+$/);
    const wildcard = await runExample(example("POSTINSTALL.md", 0), { ...SAMPLE_PARAMS, MAIL_COLLECTION: "users/{uid}/mail" });
    expect(/Wrote (\S+)/.exec(wildcard)?.[1]).toMatch(/^users\/test-user\/mail\/[^/{}]+$/);
  }, 60_000);

  test("mail-documents: sendAt in the future waits in PENDING with nextAttemptTime", async () => {
    const block = codeBlocks("docs/mail-documents.md", readFileSync(join(ROOT, "docs/mail-documents.md"), "utf8")).find(
      (candidate) => candidate.lang === "js" && candidate.code.includes("sendAt:"),
    );
    if (!block) throw new Error("docs/mail-documents.md has no sendAt example");
    const started = Date.now();
    await runExample(block);
    const waiting = await db.collection("mail").where("message.subject", "==", "Reminder").get();
    expect(waiting.size).toBe(1);
    const snap = waiting.docs[0];
    await own.driver.settle(PROJECT, [snap.ref.path], ["PENDING"], 20_000);
    const delivery = (await snap.ref.get()).get("delivery");
    expect(delivery.state).toBe("PENDING");
    expect(delivery.nextAttemptTime.toMillis()).toBeGreaterThan(started + 60 * 60 * 1000);
  }, 60_000);
});
