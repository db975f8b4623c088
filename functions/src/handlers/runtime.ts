/**
 * Lazily built, per-instance resources: the Firestore client and the mail
 * transport. Each is built on first use and kept for the life of the warm
 * instance (a pooled SMTP transport keeps its connections open between
 * invocations). A build that fails is not cached, so the next invocation
 * tries again instead of running half-initialised.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { getConfig, type Config } from "../config";
import type { Runtime } from "../delivery/runtime";
import { MailStore } from "../delivery/store";
import { eventarcPublisher } from "../lifecycle/events";
import * as logs from "../shared/logs";
import type { MailTransport } from "../providers/provider";
import { createTransport } from "../providers/select-provider";

let store: { database: string; value: MailStore } | undefined;
let transport: { config: Config; value: MailTransport } | undefined;

/** The store for `database`, the database named in the triggering event. */
export function getStore(database: string): MailStore {
  if (store?.database !== database) {
    const app = getApps()[0] ?? initializeApp();
    store = { database, value: new MailStore(getFirestore(app, database)) };
  }
  return store.value;
}

export function getTransport(config: Config): MailTransport {
  if (transport?.config !== config) {
    try {
      transport?.value.close();
      const value = createTransport(config);
      transport = { config, value };
      logs.transportReady(value.kind, config.smtpHost, value.pooled);
    } catch (error) {
      transport = undefined;
      logs.transportInitFailed(error);
      throw error;
    }
  }
  return transport.value;
}

export const defaultRuntime: Runtime = {
  config: getConfig,
  store: getStore,
  transport: getTransport,
  lifecycle: eventarcPublisher,
};

/** Closes pooled connections and forgets both resources; for tests and the benchmark. */
export function resetRuntime(): void {
  transport?.value.close();
  transport = undefined;
  store = undefined;
}
