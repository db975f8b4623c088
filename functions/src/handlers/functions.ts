/**
 * The extension's three functions over one runtime. Reading the trigger
 * settings must not throw, so that a misconfigured instance still loads and
 * reports the problem on each mail document.
 */
import { https, pubsub } from "firebase-functions/v1";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { triggerSettings } from "../config/environment";
import { FUNCTION_TIMEOUT_MS } from "../shared/budget";
import { runMaintenance } from "./maintain-queue";
import { handleMailWrite, PROCESS_QUEUE_RETRIES } from "./process-queue";
import type { InstanceRuntime } from "./runtime";

export function extensionFunctions(runtime: InstanceRuntime) {
  const settings = triggerSettings();
  return {
    processQueue: onDocumentWritten(
      {
        document: `${settings.mailCollection}/{documentId}`,
        database: settings.database,
        // What extension.yaml deploys; said here too for a deploy as plain functions.
        retry: PROCESS_QUEUE_RETRIES,
        timeoutSeconds: FUNCTION_TIMEOUT_MS / 1000,
      },
      (event) => handleMailWrite(event, runtime),
    ),
    // Scheduled triggers are 1st-gen only in extensions; extension.yaml's schedule is the one deployed.
    maintainQueue: pubsub.schedule(settings.maintenanceSchedule).onRun(async () => {
      await runMaintenance(runtime);
    }),
    // Required on first request, so that the other functions' cold starts load none of it.
    webhooks: https.onRequest(async (req, res) => {
      const { handleWebhookRequest } = require("./webhooks") as typeof import("./webhooks");
      await handleWebhookRequest(req, res, runtime);
    }),
  };
}
