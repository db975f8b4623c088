/**
 * Entry point: wires the extension's triggers to their handlers, nothing
 * more. Reading the params here must not throw, so that a misconfigured
 * instance still loads and reports the problem on each mail document.
 */
import { pubsub } from "firebase-functions/v1";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { runMaintenance } from "./handlers/maintain-queue";
import { handleMailWrite } from "./handlers/process-queue";

export const processQueue = onDocumentWritten(
  {
    document: `${process.env.MAIL_COLLECTION || "mail"}/{documentId}`,
    database: process.env.DATABASE || "(default)",
  },
  handleMailWrite,
);

// Scheduled triggers are 1st-gen only in extensions; the schedule in
// extension.yaml (MAINTENANCE_SCHEDULE) is the one deployed.
export const maintainQueue = pubsub
  .schedule(process.env.MAINTENANCE_SCHEDULE || "every 1 minutes")
  .onRun(async () => {
    await runMaintenance();
  });
