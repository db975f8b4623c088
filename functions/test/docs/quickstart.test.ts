/**
 * The README's quickstart for a user's own Firebase project, run as far as it
 * runs without a Google account. The commands are read from the README, so
 * the test follows the page:
 *
 * 1. `git clone … <dir>`: the source as firebase-tools would upload it
 *    (scripts/archive-extension.js), unpacked at <dir> inside a throw-away
 *    project that has a firebase.json of its own. (A clone has the same
 *    files plus .git, which firebase-tools leaves out.)
 * 2. `firebase ext:install <path> --project=…`: from that project folder,
 *    firebase-tools' own answer check and manifest writer
 *    (firebase-tools-steps.js). Its login, API checks and source upload need
 *    Google and are not run.
 * 3. `firebase deploy --only extensions`: firebase-tools' own reading of that
 *    manifest and of the extension's spec. The deploy itself needs Google.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { archiveAndUnpack, platformEnv, run } from "../packaging/platform-build";
import { codeBlocks, ROOT } from "./doc-examples";

const FIREBASE_TOOLS = join(ROOT, "node_modules", "firebase-tools");
const STEPS = join(__dirname, "firebase-tools-steps.js");
const PROJECT = "demo-quickstart";

/** The shell commands of the README's "In your Firebase project", in order, one per line. */
function quickstartCommands(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /^### In your Firebase project\n([\s\S]*?)(?=^##)/m.exec(readme);
  if (!section) throw new Error('README.md has no "### In your Firebase project" section');
  return codeBlocks("README.md", section[1].replace(/^ {3}/gm, ""))
    .filter((block) => block.lang === "sh")
    .flatMap((block) => block.code.split("\n"))
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

function command(commands: string[], prefix: string): string[] {
  const line = commands.find((candidate) => candidate.startsWith(prefix));
  if (!line) throw new Error(`The quickstart has no \`${prefix} …\` command; it has:\n${commands.join("\n")}`);
  return line.split(/\s+/);
}

/** What a user would answer to ext:install's questions for a password-based SMTP provider. */
const ANSWERS = {
  DATABASE: "(default)",
  DATABASE_REGION: "eur3",
  SMTP_CONNECTION_URI: "smtps://apikey@smtp.example.com:465",
  // ext:install stores a secret in Secret Manager and writes a reference to it.
  SMTP_PASSWORD: "projects/${param:PROJECT_NUMBER}/secrets/ext-firestore-send-email-SMTP_PASSWORD/versions/latest",
  DEFAULT_FROM: "My App <noreply@example.com>",
};

interface StepsReport {
  isLocalPath: boolean;
  refused: string[];
  instances?: { instanceId: string; localPath: string; params: Record<string, string>; specName: string; specVersion: string; missing: string[] }[];
}

async function runSteps(projectDir: string, installPath: string, answers: Record<string, string>): Promise<StepsReport> {
  const { stdout } = await run(
    process.execPath,
    [STEPS, FIREBASE_TOOLS, PROJECT, installPath, JSON.stringify(answers)],
    projectDir,
    platformEnv({ METADATA_SERVER_DETECTION: "none" }),
  );
  return JSON.parse(stdout) as StepsReport;
}

describe("the README quickstart, in a project of the user's own", () => {
  const commands = quickstartCommands();
  let work: string;
  let projectDir: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "send-email-quickstart-"));
    projectDir = join(work, "my-app");
    mkdirSync(projectDir);
    // The user's own configuration, which installing must keep.
    writeFileSync(join(projectDir, "firebase.json"), JSON.stringify({ firestore: { rules: "firestore.rules" } }, null, 2));
    writeFileSync(join(projectDir, ".firebaserc"), JSON.stringify({ projects: { default: PROJECT } }));
    const clone = command(commands, "git clone");
    const source = join(projectDir, clone[clone.length - 1]);
    mkdirSync(dirname(source), { recursive: true });
    await archiveAndUnpack(source);
    // The archive beside it is this test's by-product, not the user's.
    rmSync(`${source}.zip`);
  }, 120_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("names its commands in order, each with --project, installing the folder it cloned into", () => {
    const clone = command(commands, "git clone");
    const install = command(commands, "firebase ext:install");
    const deploy = command(commands, "firebase deploy --only extensions");
    const order = ["git clone", "firebase ext:install", "firebase deploy --only extensions", "firebase deploy --only firestore:rules"];
    expect(order.map((prefix) => commands.findIndex((line) => line.startsWith(prefix)))).toEqual(
      [...order.map((prefix) => commands.findIndex((line) => line.startsWith(prefix)))].sort((a, b) => a - b),
    );
    expect(install[2]).toBe(`./${clone[clone.length - 1]}`);
    for (const args of [install, deploy]) expect(args).toContain("--project=YOUR_PROJECT_ID");
  });

  test(
    "ext:install accepts the answers and adds the extension beside the project's own configuration; deploy reads it back",
    async () => {
      const installPath = command(commands, "firebase ext:install")[2];
      const report = await runSteps(projectDir, installPath, ANSWERS);
      expect(report.isLocalPath).toBe(true);
      expect(report.refused).toEqual([]);

      const firebaseJson = JSON.parse(readFileSync(join(projectDir, "firebase.json"), "utf8"));
      expect(firebaseJson).toEqual({ firestore: { rules: "firestore.rules" }, extensions: { "firestore-send-email": installPath } });
      const envFile = readFileSync(join(projectDir, "extensions", "firestore-send-email.env"), "utf8");
      expect(envFile).toContain("DATABASE_REGION=eur3");
      expect(envFile).toContain("MAIL_COLLECTION=mail");

      const spec = JSON.parse(JSON.stringify(require("yaml").parse(readFileSync(join(ROOT, "extension.yaml"), "utf8"))));
      expect(report.instances).toEqual([
        expect.objectContaining({
          instanceId: "firestore-send-email",
          localPath: installPath,
          specName: "firestore-send-email",
          specVersion: spec.version,
          missing: [],
        }),
      ]);
      expect(report.instances?.[0].params).toMatchObject({ DATABASE_REGION: "eur3", DEFAULT_FROM: ANSWERS.DEFAULT_FROM });
    },
    60_000,
  );

  test(
    "an answer the install form would refuse is refused, and a path without ./ is not taken for a folder",
    async () => {
      const installPath = command(commands, "firebase ext:install")[2];
      const refused = await runSteps(projectDir, installPath, { ...ANSWERS, MAINTENANCE_SCHEDULE: "every day 09:00", DEFAULT_FROM: "" });
      expect(refused.refused.sort()).toEqual(["DEFAULT_FROM", "MAINTENANCE_SCHEDULE"]);
      const bare = await runSteps(projectDir, installPath.replace(/^\.\//, ""), ANSWERS);
      expect(bare.isLocalPath).toBe(false);
      expect(existsSync(join(projectDir, "extensions"))).toBe(true);
    },
    60_000,
  );
});
