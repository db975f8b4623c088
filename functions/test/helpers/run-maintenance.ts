/**
 * A separate process that runs the scheduled sweep once, so that a test can
 * give it a heap of its own size (see integration/sweep-memory.test.ts).
 * Usage, with the extension's params and FIRESTORE_EMULATOR_HOST /
 * GCLOUD_PROJECT in the environment:
 *   node --max-old-space-size=<MB> -r ts-node/register/transpile-only run-maintenance.ts <now in epoch ms>
 * The sweep's report is sent to the parent over the IPC channel.
 */
import { runMaintenance } from "./extension-env";

runMaintenance(Number(process.argv[2])).then(
  (report) => process.send?.(report, () => process.exit(0)),
  (error) => {
    process.stderr.write(String(error));
    process.exit(1);
  },
);
