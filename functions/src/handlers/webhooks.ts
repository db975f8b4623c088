/**
 * webhooks: providers' delivery reports and one-click unsubscribe requests
 * (docs/webhooks.md). It reads only its own params, so that a broken SMTP
 * setting does not stop bounces from being recorded; with none set every
 * path answers 404 and no Firestore client is created.
 */
import type { ServerResponse } from "node:http";
import type { EndpointConfig } from "../config";
import { mailCollection } from "../delivery/mail-collection";
import { PROVIDER_WEBHOOKS } from "../providers/select-provider";
import { ConfigError, SendEmailError } from "../shared/errors";
import * as logs from "../shared/logs";
import { documentWildcards, fillPattern } from "../shared/path-pattern";
import { tenantOf } from "../tenants/sender";
import type { InstanceRuntime } from "./runtime";
import { webhookRequestHandler, type RawBodyRequest } from "../webhooks/http-adapter";
import type { ProfileWebhooks } from "../webhooks/router";

export function handleWebhookRequest(req: RawBodyRequest, res: ServerResponse, runtime: InstanceRuntime): Promise<void> {
  return webhookRequestHandler(() => {
    const config = runtime.endpointConfig();
    const suppression = config.webhooks.suppressionCollection;
    return {
      config: config.webhooks,
      profile: config.senderProfiles && ((id) => profileWebhooks(runtime, config, id)),
      providers: PROVIDER_WEBHOOKS,
      settings: () => {
        const { db } = runtime.store(config.database);
        return {
          db,
          isMailPath: mailCollection(db, config.mailCollection).contains,
          eventHistory: config.webhooks.eventHistory,
          suppressionCollection: suppression === undefined ? undefined : (path: string) => fillPattern(suppression, documentWildcards(config.mailCollection, path) ?? {}),
        };
      },
    };
  })(req, res);
}

/** A profile's webhook keys (its secrets read, cached); undefined, answered 404, for a profile that does not exist or cannot work. */
async function profileWebhooks(runtime: InstanceRuntime, config: EndpointConfig, id: string): Promise<ProfileWebhooks | undefined> {
  const { collection, tenantWildcard } = config.senderProfiles!;
  try {
    const profile = await runtime.profiles!.openConfig(config.database, collection, id);
    return { config: profile.webhooks, owns: (path) => tenantOf(config, tenantWildcard, path) === id };
  } catch (error) {
    if (!(error instanceof ConfigError || (error instanceof SendEmailError && !error.transient))) throw error;
    logs.webhookRefused(`${id} profile`, 404, logs.redact(error.message));
    return undefined;
  }
}
