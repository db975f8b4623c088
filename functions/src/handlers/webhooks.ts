/**
 * webhooks: the HTTPS function that receives providers' delivery events and
 * one-click unsubscribe requests (docs/webhooks.md). It reads only its own
 * params, so that a broken SMTP setting does not stop bounces from being
 * recorded; with none of them set every path answers 404 and no Firestore
 * client is even created.
 */
import type { ServerResponse } from "node:http";
import { getEndpointConfig } from "../config";
import { mailCollection } from "../delivery/mail-collection";
import { PROVIDER_WEBHOOKS } from "../providers/select-provider";
import { getStore } from "./runtime";
import type { WebhookEndpoint } from "./webhook-router";
import { webhookRequestHandler, type RawBodyRequest } from "./webhook-http";

function endpoint(): WebhookEndpoint {
  const config = getEndpointConfig();
  return {
    config: config.webhooks,
    providers: PROVIDER_WEBHOOKS,
    settings: () => {
      const { db } = getStore(config.database);
      return {
        db,
        isMailPath: mailCollection(db, config.mailCollection).contains,
        eventHistory: config.webhooks.eventHistory,
        suppressionCollection: config.webhooks.suppressionCollection,
      };
    },
  };
}

const handle = webhookRequestHandler(endpoint);

export function handleWebhookRequest(req: RawBodyRequest, res: ServerResponse): Promise<void> {
  return handle(req, res);
}
