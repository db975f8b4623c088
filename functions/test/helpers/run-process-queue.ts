/**
 * A separate process that runs processQueue once for the creation of one
 * mail document, so that a test can kill it mid-send (see
 * integration/faults.test.ts). Usage, with the extension's params and
 * FIRESTORE_EMULATOR_HOST / GCLOUD_PROJECT in the environment:
 *   node -r ts-node/register/transpile-only run-process-queue.ts <document path>
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { processQueue } from "./extension-env";
import { writeEvent } from "./trigger";

async function main(path: string): Promise<void> {
  const db = getFirestore(getApps()[0] ?? initializeApp({ projectId: process.env.GCLOUD_PROJECT }));
  const after = await db.doc(path).get();
  const before = await db.doc(`${path}-does-not-exist`).get();
  process.send?.("running");
  await processQueue.run(writeEvent(before, after));
  process.send?.("done");
}

main(process.argv[2]).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(String(error));
    process.exit(1);
  },
);
