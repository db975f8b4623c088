/**
 * Entry point: wires the extension's triggers to their handlers, nothing
 * more. Reading the trigger settings must not throw, so that a misconfigured
 * instance still loads and reports the problem on each mail document.
 */
import { https, pubsub } from "firebase-functions/v1";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { triggerSettings } from "./config/environment";
import { runMaintenance } from "./handlers/maintain-queue";
import { handleMailWrite, PROCESS_QUEUE_RETRIES } from "./handlers/process-queue";
import { FUNCTION_TIMEOUT_MS } from "./shared/budget";

const settings = triggerSettings();

export const processQueue = onDocumentWritten(
  {
    document: `${settings.mailCollection}/{documentId}`,
    database: settings.database,
    // What extension.yaml deploys; said here too for a deploy as plain functions.
    retry: PROCESS_QUEUE_RETRIES,
    timeoutSeconds: FUNCTION_TIMEOUT_MS / 1000,
  },
  handleMailWrite,
);

// Scheduled triggers are 1st-gen only in extensions; the schedule in
// extension.yaml (MAINTENANCE_SCHEDULE) is the one deployed.
export const maintainQueue = pubsub.schedule(settings.maintenanceSchedule).onRun(async () => {
  await runMaintenance();
});

// Providers' delivery events and one-click unsubscribe links (docs/webhooks.md).
// Required on first request, so that the other functions' cold starts load none of it.
export const webhooks = https.onRequest(async (req, res) => {
  const { handleWebhookRequest } = require("./handlers/webhooks") as typeof import("./handlers/webhooks");
  await handleWebhookRequest(req, res);
});
