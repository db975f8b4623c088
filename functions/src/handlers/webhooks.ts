/**
 * webhooks: providers' delivery reports and one-click unsubscribe requests
 * (docs/webhooks.md). It reads only its own params, so that a broken SMTP
 * setting does not stop bounces from being recorded; with none set every
 * path answers 404 and no Firestore client is created.
 */
import type { ServerResponse } from "node:http";
import { mailCollection } from "../delivery/mail-collection";
import { PROVIDER_WEBHOOKS } from "../providers/select-provider";
import type { InstanceRuntime } from "./runtime";
import { webhookRequestHandler, type RawBodyRequest } from "../webhooks/http-adapter";

export function handleWebhookRequest(req: RawBodyRequest, res: ServerResponse, runtime: InstanceRuntime): Promise<void> {
  return webhookRequestHandler(() => {
    const config = runtime.endpointConfig();
    return {
      config: config.webhooks,
      providers: PROVIDER_WEBHOOKS,
      settings: () => {
        const { db } = runtime.store(config.database);
        return {
          db,
          isMailPath: mailCollection(db, config.mailCollection).contains,
          eventHistory: config.webhooks.eventHistory,
          suppressionCollection: config.webhooks.suppressionCollection,
        };
      },
    };
  })(req, res);
}
