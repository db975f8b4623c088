/**
 * Delivers Firestore trigger events to functions the way Cloud Functions
 * does, for the operation-count tests and the benchmark: one event for every
 * committed write of a watched document, each with the exact before and after
 * versions of that write, concurrently and, with a delay, out of order.
 *
 * The events come from the Google Firestore emulator itself. Started with
 * `--functions_emulator=<host>` and given a trigger (the registration
 * firebase-tools makes for a v2 function), it POSTs one binary-mode CloudEvent
 * per write to `<host>/functions/projects/<project>/triggers/<id>`: `ce-*`
 * headers, and the DocumentEventData protobuf (base64) as the body. This
 * module is that receiver. The emulator sends events one at a time and waits
 * for each reply, so every event is acknowledged at once and handled
 * asynchronously, as Eventarc hands events to Cloud Functions.
 */
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import type { CloudEvent, CloudFunction } from "firebase-functions/v2";

/** A CloudEvent as the Functions runtime passes it to a function: attributes plus the protobuf payload. */
export type RawEvent = CloudEvent<Buffer> & Record<string, unknown>;

/** What an event says about one version of the document. */
export interface DocumentVersion {
  /** `delivery.state`, when the version has one. */
  state?: string;
  /** The version's update time (when its write was committed), in epoch milliseconds. */
  updateTimeMs: number;
}

export interface TriggerEvent {
  project: string;
  /** The document path, such as `mail/abc`. */
  document: string;
  /** The version before the write; null for a create. */
  before: DocumentVersion | null;
  /** The version after the write; null for a delete. */
  after: DocumentVersion | null;
  /** When the emulator delivered the event, in epoch milliseconds (fractional). */
  receivedAt: number;
  raw: RawEvent;
}

/** A v2 function object as firebase-functions builds it: callable with a raw event, with its manifest. */
export type TriggeredFunction = Pick<CloudFunction<CloudEvent<unknown>>, "__endpoint"> & ((raw: CloudEvent<unknown>) => unknown);

/** Whatever handles an event: a function object, or something that forwards the event elsewhere. */
export type EventHandler = (raw: RawEvent) => unknown;

export interface Registration {
  /** The project whose writes reach this handler. */
  project: string;
  /** The function; its manifest (`__endpoint`) says which documents it watches. */
  fn: TriggeredFunction;
  /** Runs each event instead of `fn` itself (for a function loaded in another process). */
  handler?: EventHandler;
  /** Simulated trigger latency before each invocation: fixed, or chosen per event (which reorders events). */
  delayMs?: number | ((event: TriggerEvent) => number);
  /** The document path pattern watched, when not the one `fn` was defined with (MAIL_COLLECTION is read at definition). */
  document?: string;
}

export interface DriverStats {
  /** Events the emulator delivered. */
  events: number;
  /** Invocations started, redeliveries included. */
  invocations: number;
  /** Invocations that threw or rejected. */
  failures: number;
  /** Events received or redelivered whose invocation has not finished. */
  pending: number;
}

interface Route extends Registration {
  stats: DriverStats;
}

const TRIGGER_PATH = /^\/functions\/projects\/([^/]+)\/triggers\/([^/?]+)/;

export class EventDriver {
  /** Every event delivered, in arrival order. */
  readonly events: TriggerEvent[] = [];
  /** The first few invocation errors, for diagnosis. */
  readonly errors: unknown[] = [];
  private readonly routes = new Map<string, Route>();
  private readonly changes = new EventEmitter();
  private triggers = 0;

  private constructor(private readonly server: Server) {
    this.changes.setMaxListeners(0);
  }

  /** Starts the receiver on a free port of 127.0.0.1. */
  static async start(): Promise<EventDriver> {
    let driver: EventDriver | undefined;
    const server = createServer((request, response) => driver?.receive(request, response));
    driver = new EventDriver(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return driver;
  }

  /** The flag that points a Firestore emulator at this receiver. */
  get emulatorFlag(): string {
    const { port } = this.server.address() as AddressInfo;
    return `--functions_emulator=127.0.0.1:${port}`;
  }

  /**
   * Registers the function's trigger with the emulator at `emulatorHost`, as
   * firebase-tools does for a v2 Firestore function, and routes its events
   * to the function (or `handler`).
   */
  async register(emulatorHost: string, registration: Registration): Promise<void> {
    const trigger = registration.fn.__endpoint.eventTrigger;
    if (!trigger) throw new Error("The function has no event trigger");
    const filters = trigger.eventFilters as Record<string, string>;
    const patterns = (trigger.eventFilterPathPatterns ?? {}) as Record<string, string>;
    const document = registration.document ?? patterns.document ?? filters.document;
    const id = `trigger-${++this.triggers}`;
    this.routes.set(`${registration.project}/${id}`, {
      ...registration,
      stats: { events: 0, invocations: 0, failures: 0, pending: 0 },
    });
    const url = `http://${emulatorHost}/emulator/v1/projects/${registration.project}/eventarcTrigger?eventarcTriggerId=${id}`;
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        eventType: trigger.eventType,
        database: filters.database ?? "(default)",
        namespace: filters.namespace ?? "(default)",
        document: { value: document, matchType: registration.document || patterns.document ? "PATH_PATTERN" : "EXACT" },
      }),
    });
    if (!response.ok) throw new Error(`Registering the trigger failed: ${response.status} ${await response.text()}`);
  }

  /** Counters for `project` (all projects when omitted), as a copy. */
  stats(project?: string): DriverStats {
    const total: DriverStats = { events: 0, invocations: 0, failures: 0, pending: 0 };
    for (const route of this.routes.values()) {
      if (project !== undefined && route.project !== project) continue;
      for (const key of Object.keys(total) as Array<keyof DriverStats>) total[key] += route.stats[key];
    }
    return total;
  }

  /** Invokes the function again with an event it already had, as a duplicate delivery would. */
  redeliver(event: TriggerEvent): Promise<void> {
    const route = this.routeOf(event.project);
    route.stats.pending++;
    return this.invoke(route, event);
  }

  /** Resolves when `condition()` holds, re-checked after every event and invocation. */
  waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${JSON.stringify(this.stats())})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.changes.off("change", check);
      };
      this.changes.on("change", check);
    });
  }

  /**
   * Resolves once each document in `documents` has reached one of `states`
   * (an event reported it) and every event of its project has been handled:
   * nothing that could still write is running.
   */
  async settle(project: string, documents: string[], states: string[], timeoutMs: number): Promise<void> {
    const waiting = new Set(documents);
    let seen = 0;
    await this.waitFor(
      () => {
        for (; seen < this.events.length; seen++) {
          const event = this.events[seen];
          if (event.project === project && event.after?.state && states.includes(event.after.state)) {
            waiting.delete(event.document);
          }
        }
        return waiting.size === 0 && this.stats(project).pending === 0;
      },
      timeoutMs,
      `${waiting.size} of ${documents.length} document(s) to reach ${states.join(" or ")}`,
    );
  }

  /** The first event that reported `document` in `state`, if any. */
  firstEventIn(document: string, state: string): TriggerEvent | undefined {
    return this.events.find((event) => event.document === document && event.after?.state === state);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      // Acknowledge first: the emulator holds back every later event until it has a reply.
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
      const match = TRIGGER_PATH.exec(request.url ?? "");
      const route = match && this.routes.get(`${match[1]}/${match[2]}`);
      if (!route) {
        this.errors.push(new Error(`An event for an unknown trigger: ${request.url}`));
        return;
      }
      const event = toTriggerEvent(route.project, request, Buffer.concat(chunks));
      this.events.push(event);
      route.stats.events++;
      route.stats.pending++;
      const delay = typeof route.delayMs === "function" ? route.delayMs(event) : (route.delayMs ?? 0);
      this.changes.emit("change");
      if (delay > 0) setTimeout(() => void this.invoke(route, event), delay);
      else void this.invoke(route, event);
    });
  }

  private async invoke(route: Route, event: TriggerEvent): Promise<void> {
    route.stats.invocations++;
    try {
      // A fresh copy: the Functions runtime builds a new event object for every delivery.
      const raw = { ...event.raw, data: Buffer.from(event.raw.data) };
      await (route.handler ? route.handler(raw) : route.fn(raw));
    } catch (error) {
      route.stats.failures++;
      if (this.errors.length < 20) this.errors.push(error);
    } finally {
      route.stats.pending--;
      this.changes.emit("change");
    }
  }

  private routeOf(project: string): Route {
    for (const route of this.routes.values()) if (route.project === project) return route;
    throw new Error(`No trigger registered for project ${project}`);
  }
}

/** Rebuilds the CloudEvent from a binary-mode request, as the Functions framework does. */
function toTriggerEvent(project: string, request: IncomingMessage, body: Buffer): TriggerEvent {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith("ce-") && typeof value === "string") attributes[name.slice(3)] = value;
  }
  attributes.datacontenttype ??= request.headers["content-type"];
  // The emulator sends the protobuf as base64 text; Cloud Functions hands functions the bytes.
  const data = Buffer.from(body.toString("latin1"), "base64");
  const raw = { ...attributes, data } as RawEvent;
  const decoded = DocumentEventData().decode(data);
  return {
    project,
    document: String(attributes.document),
    before: version(decoded.oldValue),
    after: version(decoded.value),
    receivedAt: now(),
    raw,
  };
}

interface ProtoDocument {
  name?: string;
  fields?: Record<string, { mapValue?: { fields?: Record<string, { stringValue?: string }> } }>;
  updateTime?: { seconds?: unknown; nanos?: number };
}

function version(document: ProtoDocument | null | undefined): DocumentVersion | null {
  if (!document?.name) return null;
  const state = document.fields?.delivery?.mapValue?.fields?.state?.stringValue;
  const seconds = Number(document.updateTime?.seconds ?? 0);
  const nanos = document.updateTime?.nanos ?? 0;
  return { state: state || undefined, updateTimeMs: seconds * 1000 + nanos / 1e6 };
}

/** The current time in epoch milliseconds, finer than Date.now(); comparable with update times. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

type Decoder = { decode(data: Buffer): { value?: ProtoDocument | null; oldValue?: ProtoDocument | null } };
let decoder: Decoder | undefined;

/**
 * The DocumentEventData decoder firebase-functions itself uses. Its package
 * does not export the path, so it is found beside the module that does.
 */
function DocumentEventData(): Decoder {
  if (!decoder) {
    const providers = dirname(require.resolve("firebase-functions/v2/firestore"));
    const protos = require(join(providers, "../../../protos/compiledFirestore"));
    decoder = protos.google.events.cloud.firestore.v1.DocumentEventData as Decoder;
  }
  return decoder;
}
