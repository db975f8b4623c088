/**
 * Lifecycle events: with an Eventarc channel, each delivery transition is
 * published as `firebase.extensions.firestore-send-email.v1.<type>`, subject
 * the mail document's id, payload `EventData` plus `doc` (and `err` on
 * onError) in the shapes existing handlers already parse (docs/migration.md).
 * Best effort: a failed or slow publish is logged and never changes the
 * delivery. Instances without a channel never load the Eventarc client, which
 * keeps their cold start unchanged.
 */
import type { App } from "firebase-admin/app";
import type { Channel } from "firebase-admin/eventarc";
import { eventSettings, type EventSettings } from "../config/environment";
import { PUBLISH_TIMEOUT_MS } from "../shared/budget";
import { withDeadline } from "../shared/deadline";
import * as logs from "../shared/logs";
import type { DeliveryInfo } from "../shared/types";
import { dataJson, snapshotJson, withoutSecrets, type DocumentVersion } from "./written-document";

export type LifecycleEvent = "onStart" | "onPending" | "onRetry" | "onProcessing" | "onSuccess" | "onError" | "onComplete";

/** The payload of every lifecycle event: plain JSON, the same fields for every type. */
export interface EventData {
  /** The mail document's full path, e.g. `mail/abc123`. */
  path: string;
  /** The mail document's id, also the CloudEvent subject. */
  documentId: string;
  /** `delivery.state` after the transition, or null before there is one (onStart). */
  state: string | null;
  /** `delivery.attempts` after the transition, or null when unknown. */
  attempts: number | null;
  /** The failure text written to `delivery.error` (onError, and onComplete after one), else null. */
  error: string | null;
  /** `delivery.info` after a success, else null. */
  info: DeliveryInfo | null;
}

/**
 * As published: `doc` is the document as the transition left it, in the form
 * handlers expect for the type (`docFor`), attachment `httpHeaders` redacted;
 * `err` (onError only) is the text written to `delivery.error`.
 */
export type EventPayload = Omit<EventData, "info"> & { info: Record<string, unknown> | null; doc?: Record<string, unknown>; err?: string | null };

/** Where a batch of lifecycle events goes (event-batch.ts): Eventarc in production. */
export interface LifecyclePublisher {
  /** Whether events are published at all; when not, a batch builds nothing for them. */
  enabled(): boolean;
  /** Publishes one event; never rejects. */
  publish(type: LifecycleEvent, data: EventData, document?: DocumentVersion): Promise<void>;
}

/** The event types whose `doc` handlers read as a serialised `DocumentSnapshot`; the rest get the document's data. */
const SNAPSHOT_FORM: ReadonlySet<LifecycleEvent> = new Set(["onStart", "onProcessing", "onSuccess", "onComplete"]);
const EMULATOR_APP_NAME = "firestore-send-email-events";

/**
 * Publishes to the instance's channel the event types it selected; never
 * throws. The channel is built on first use and again whenever its settings
 * change; a failed build is not kept.
 */
export function createEventarcPublisher(): LifecyclePublisher {
  let cached: { key: string; channel: Channel } | undefined;
  const channelFor = async (name: string, settings: EventSettings): Promise<Channel> => {
    const allowedEventTypes = settings.selectedTypes;
    const key = `${name}|${allowedEventTypes?.join(",") ?? "*"}`;
    if (cached?.key === key) return cached.channel;
    const { getEventarc } = await import("firebase-admin/eventarc");
    const channel = getEventarc(await eventarcApp(settings)).channel(name, allowedEventTypes ? { allowedEventTypes } : {});
    cached = { key, channel };
    return channel;
  };
  return {
    enabled: () => eventSettings().channel !== undefined,
    async publish(type, data, document) {
      const settings = eventSettings();
      if (!settings.channel) return;
      const eventType = `firebase.extensions.firestore-send-email.v1.${type}`;
      if (settings.selectedTypes && !settings.selectedTypes.includes(eventType)) return;
      try {
        const channel = await channelFor(settings.channel, settings);
        await withDeadline(
          () => channel.publish({ type: eventType, subject: data.documentId, data: payload(type, data, document) }),
          PUBLISH_TIMEOUT_MS,
          () => new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`),
        );
      } catch (error) {
        logs.eventPublishFailed(eventType, data.path, error);
      }
    },
  };
}

/**
 * The default app in production. Against the Eventarc emulator the Admin SDK
 * still asks for an OAuth token, which an emulator machine cannot get, so
 * there an app of its own carries a credential with a dummy token.
 */
async function eventarcApp(settings: EventSettings): Promise<App> {
  const { getApps, initializeApp } = await import("firebase-admin/app");
  // Created first, so that code taking the first app (runtime.ts) keeps getting the default one.
  const defaultApp = getApps().find((app) => app.name === "[DEFAULT]") ?? initializeApp();
  if (!settings.emulatorHost) return defaultApp;
  const credential = { getAccessToken: async () => ({ access_token: "emulator-owner", expires_in: 3600 }) };
  return getApps().find((app) => app.name === EMULATOR_APP_NAME) ?? initializeApp({ projectId: settings.projectId, credential }, EMULATOR_APP_NAME);
}

/** A copy made only of JSON values, whatever the caller passed (a Firestore object would not serialise). */
function payload(type: LifecycleEvent, data: EventData, document: DocumentVersion | undefined): EventPayload {
  const { info } = data;
  const out: EventPayload = {
    path: data.path,
    documentId: data.documentId,
    state: data.state,
    attempts: data.attempts,
    error: data.error,
    info: info ? {
      messageId: info.messageId ?? null,
      accepted: [...(info.accepted ?? [])],
      rejected: [...(info.rejected ?? [])],
      pending: [...(info.pending ?? [])],
      response: info.response ?? null,
      // Lists shortened to fit the mail document say so, as delivery.info does.
      ...(info.truncated ? { truncated: true, counts: { ...info.counts } } : {}),
    } : null,
  };
  const doc = document && docFor(type, document, data.path);
  if (doc) out.doc = doc;
  if (type === "onError") out.err = data.error;
  return out;
}

/** `doc` in the form handlers expect for `type`; a document that cannot be serialised is left out, not the event. */
function docFor(type: LifecycleEvent, document: DocumentVersion, path: string): Record<string, unknown> | undefined {
  try {
    const shown = { ...document, data: withoutSecrets(document.data) };
    return SNAPSHOT_FORM.has(type) ? snapshotJson(shown) : dataJson(shown.data);
  } catch (error) {
    logs.unexpectedError(path, error);
    return undefined;
  }
}
