/**
 * The composition root's one builder: what an instance keeps while warm (the
 * parsed params, Firestore clients, the pooled transport, the Eventarc
 * channel, the attachment downloader, compiled templates), each built on first use. A build that fails is not kept, so the
 * next invocation tries again instead of running half-initialised, and a
 * config that failed is never served stale. index.ts builds one runtime per
 * instance; tests and the benchmark build their own.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { parseConfig, parseEndpointConfig, type Config, type EndpointConfig } from "../config";
import type { Runtime } from "../delivery/runtime";
import { MailStore } from "../delivery/store";
import { createEventarcPublisher } from "../lifecycle/events";
import { createTemplateCache } from "../mail/templates";
import type { MailTransport } from "../providers/provider";
import { createAttachmentDownloader, type DownloadOptions } from "../attachments/download-attachments";
import { loopbackEndpoints, type ProviderEndpoints } from "../providers/shared/provider-endpoints";
import { createTransport } from "../providers/select-provider";
import * as logs from "../shared/logs";
import { createSecretSource, type SecretSourceOptions } from "../secrets/secret-source";
import { createSenderProfiles, type SenderProfiles } from "../tenants/sender-profiles";

export interface InstanceRuntime extends Runtime {
  /** The `webhooks` function's params alone, so that a broken SMTP setting does not stop it. */
  endpointConfig(): EndpointConfig;
  /** Closes pooled connections and forgets what was built. */
  close(): void;
}

/** Production passes none: tests reach their loopback fakes through these. */
export interface RuntimeOptions {
  /** The credentialed provider endpoints, on loopback only. */
  endpoints?: ProviderEndpoints;
  /** How attachment downloads connect (exemptions on loopback only). */
  downloads?: DownloadOptions;
  /** Where sender profiles' secrets are read (a fake Secret Manager on loopback). */
  secrets?: SecretSourceOptions;
}

export function createRuntime(options: RuntimeOptions = {}): InstanceRuntime {
  const endpoints = loopbackEndpoints(options.endpoints ?? {});
  let config: Config | undefined;
  let endpointConfig: EndpointConfig | undefined;
  let store: { database: string; value: MailStore } | undefined;
  let transport: { config: Config; value: MailTransport } | undefined;
  let profiles: SenderProfiles | undefined;
  const runtime: InstanceRuntime = {
    config() {
      if (!config) {
        config = parseConfig(process.env);
        if (config.ignoredUriOptions.length > 0) logs.ignoredUriOptions(config.ignoredUriOptions);
      }
      return config;
    },
    endpointConfig: () => (endpointConfig ??= parseEndpointConfig(process.env)),
    store(database) {
      if (store?.database !== database) {
        const app = getApps()[0] ?? initializeApp();
        store = { database, value: new MailStore(getFirestore(app, database)) };
      }
      return store.value;
    },
    transport(forConfig) {
      if (transport?.config !== forConfig) {
        try {
          transport?.value.close();
          const value = createTransport(forConfig, endpoints);
          transport = { config: forConfig, value };
          logs.transportReady(value.kind, forConfig.smtpHost, value.pooled);
        } catch (error) {
          transport = undefined;
          logs.transportInitFailed(error);
          throw error;
        }
      }
      return transport.value;
    },
    download: createAttachmentDownloader(options.downloads),
    templates: createTemplateCache(),
    lifecycle: createEventarcPublisher(),
    get profiles() {
      return (profiles ??= createSenderProfiles({
        db: (database) => runtime.store(database).db,
        secrets: createSecretSource(options.secrets),
        env: () => process.env,
        endpoints,
      }));
    },
    close() {
      transport?.value.close();
      transport = undefined;
      profiles?.close();
      profiles = undefined;
      store = undefined;
      config = undefined;
      endpointConfig = undefined;
    },
  };
  return runtime;
}
