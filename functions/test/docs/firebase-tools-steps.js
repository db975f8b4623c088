/**
 * Run by quickstart.test.ts as a child process whose working directory is a
 * throw-away Firebase project, as a user's shell would be: firebase-tools
 * resolves an extension's local path from there. It performs, with
 * firebase-tools' own modules, the parts of the quickstart's commands that
 * need no Google account:
 *
 * - `firebase ext:install <path>`: after its online checks (login, API
 *   enablement, uploading the source to show its details) and its prompts,
 *   it validates each answer (askUserForParam.checkResponse) and writes the
 *   manifest (manifest.writeToManifest). Both are run here with the answers
 *   given on argv.
 * - `firebase deploy --only extensions`: before calling Google, it reads the
 *   manifest back (deploy/extensions/planner.want) and the extension's spec
 *   from the local path (planner.getExtensionSpec).
 *
 * Prints a JSON report on stdout.
 */
"use strict";

const path = require("node:path");

const [firebaseToolsDir, projectId, installPath, answersJson] = process.argv.slice(2);
const lib = (module) => require(path.join(firebaseToolsDir, "lib", module));

async function main() {
  const { Config } = lib("config");
  const { isLocalPath } = lib("extensions/extensionsHelper");
  const { checkResponse } = lib("extensions/askUserForParam");
  const manifest = lib("extensions/manifest");
  const planner = lib("deploy/extensions/planner");
  const { readExtensionYaml } = lib("extensions/emulator/specHelper");
  const { logger } = lib("logger");
  // firebase-tools warns through its logger; keep stdout for the report.
  logger.transports?.forEach?.((transport) => (transport.silent = true));

  const report = { isLocalPath: isLocalPath(installPath), refused: [] };
  if (!report.isLocalPath) return report;

  // ext:install: the spec as read from the path given on the command line.
  const spec = await readExtensionYaml(installPath);
  const answers = JSON.parse(answersJson);
  const params = {};
  for (const paramSpec of spec.params) {
    const answer = answers[paramSpec.param] ?? (paramSpec.default === undefined ? "" : String(paramSpec.default));
    if (!checkResponse(answer, paramSpec)) report.refused.push(paramSpec.param);
    params[paramSpec.param] = { baseValue: answer };
  }
  const projectDir = process.cwd();
  const config = new Config(require(path.join(projectDir, "firebase.json")), { projectDir, cwd: projectDir });
  await manifest.writeToManifest(
    [{ instanceId: spec.name, localPath: installPath, params, extensionSpec: spec }],
    config,
    { nonInteractive: true, force: true },
  );

  // deploy --only extensions: the manifest read back from a fresh config.
  const written = new Config(require(path.join(projectDir, "firebase.json")), { projectDir, cwd: projectDir });
  const wanted = await planner.want({
    projectId,
    projectNumber: "0",
    projectDir,
    extensions: written.get("extensions"),
    aliases: [],
    // A demo- project: firebase-tools fills PROJECT_ID and friends without calling Google.
    emulatorMode: true,
  });
  report.instances = [];
  for (const instance of wanted) {
    const deployedSpec = await planner.getExtensionSpec(instance);
    report.instances.push({
      instanceId: instance.instanceId,
      localPath: instance.localPath,
      params: instance.params,
      specName: deployedSpec.name,
      specVersion: deployedSpec.version,
      missing: deployedSpec.params
        .filter((p) => p.required && (instance.params[p.param] ?? "") === "")
        .map((p) => p.param),
    });
  }
  return report;
}

main().then(
  (report) => {
    process.stdout.write(JSON.stringify(report));
    process.exit(0);
  },
  (error) => {
    process.stderr.write(String(error && error.stack ? error.stack : error));
    process.exit(1);
  },
);
