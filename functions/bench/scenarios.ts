/**
 * The benchmark's scenarios, run against the real exported processQueue with
 * every write of a mail document delivered as an event (event-driver.ts):
 * single mails one after another, and bursts written at once.
 */
import type { Firestore } from "firebase-admin/firestore";
import { testRuntime } from "../test/helpers/extension-env";
import { now, type EventDriver, type TriggerEvent } from "../test/helpers/event-driver";
import type { SmtpSink } from "../test/helpers/smtp-sink";
import type { RpcCounts } from "./firestore-rpcs";
import { percentile } from "./stats";

export const FINAL_STATES = ["SUCCESS", "ERROR"];

export interface Bench {
  project: string;
  driver: EventDriver;
  sink: SmtpSink;
  /** The client that writes mail documents: a Firestore instance of its own, not the function's. */
  client: Firestore;
  /** RPCs made by the function's Firestore instance. */
  rpcs: RpcCounts;
  /** Sets the simulated trigger latency of the events that follow. */
  setDelay(delay: (event: TriggerEvent) => number): void;
  /** The simulated trigger latency of an event, as last set. */
  delay(event: TriggerEvent): number;
  /** Where the emulator listens, for registering another trigger. */
  emulatorHost: string;
}

/** What the function spent, per email. */
export interface Costs {
  mails: number;
  invocations: number;
  failedInvocations: number;
  /** Writes made through MailStore that landed, and conditional writes that lost. */
  writes: number;
  lostWrites: number;
  reads: number;
  transactions: number;
  /** The same, from the RPCs the function's Firestore client actually sent. */
  rpcWrites: number;
  rpcReads: number;
  rpcQueries: number;
  rpcTransactions: number;
  /** SMTP sessions opened during the scenario (a total, not per email). */
  smtpSessions: number;
  /** Emails the SMTP server received (a total). */
  delivered: number;
}

/** Starts measuring; the returned function gives the costs per email since then. */
export function measureCosts(bench: Bench): (mails: number) => Costs {
  const start = snapshot(bench);
  return (mails) => {
    const end = snapshot(bench);
    const per = (key: keyof ReturnType<typeof snapshot>) => (end[key] - start[key]) / mails;
    return {
      mails,
      invocations: per("invocations"),
      failedInvocations: per("failures"),
      writes: per("writes") - per("lostWrites"),
      lostWrites: per("lostWrites"),
      reads: per("reads"),
      transactions: per("transactions"),
      rpcWrites: per("rpcWrites"),
      rpcReads: per("rpcReads"),
      rpcQueries: per("rpcQueries"),
      rpcTransactions: per("rpcTransactions"),
      smtpSessions: end.sessions - start.sessions,
      delivered: end.delivered - start.delivered,
    };
  };
}

function snapshot(bench: Bench) {
  const { invocations, failures } = bench.driver.stats(bench.project);
  return {
    invocations,
    failures,
    // The store processQueue uses for the default database; built on first use, kept until the runtime is rebuilt.
    ...testRuntime.store("(default)").counts,
    rpcWrites: bench.rpcs.documentWrites,
    rpcReads: bench.rpcs.documentReads,
    rpcQueries: bench.rpcs.queries,
    rpcTransactions: bench.rpcs.transactions,
    sessions: bench.sink.connectionsOpened(),
    delivered: bench.sink.messages.length,
  };
}

let sequence = 0;

function newMail(label: string, collection = "mail"): { path: string; data: Record<string, unknown> } {
  const id = `${label}-${++sequence}`;
  return {
    path: `${collection}/${id}`,
    data: { to: `${id}@example.com`, message: { subject: `Benchmark ${id}`, text: "Hello from the benchmark." } },
  };
}

export interface SingleResult {
  label: string;
  delayMs: number;
  /** Client write started → SUCCESS committed (the update time of that version), one per mail, in ms. */
  latencies: number[];
  p50: number;
  p95: number;
  /** p50 of client write started → the emulator delivering its event: the emulator's own trigger latency. */
  triggerP50: number;
  costs: Costs;
}

/**
 * `count` mails, each written after the previous one has finished (SUCCESS
 * and no event still running), with every event delayed by `delayMs`.
 */
export async function singleMails(bench: Bench, label: string, count: number, delayMs: number): Promise<SingleResult> {
  bench.setDelay(() => delayMs);
  const costsSince = measureCosts(bench);
  const latencies: number[] = [];
  const triggers: number[] = [];
  for (let i = 0; i < count; i++) {
    const mail = newMail(label);
    const start = now();
    await bench.client.doc(mail.path).create(mail.data);
    await bench.driver.settle(bench.project, [mail.path], FINAL_STATES, 60_000);
    latencies.push(successAt(bench, mail.path) - start);
    const created = bench.driver.events.find((event) => event.document === mail.path);
    if (created) triggers.push(created.receivedAt - start);
  }
  return {
    label,
    delayMs,
    latencies,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    triggerP50: percentile(triggers, 50),
    costs: costsSince(count),
  };
}

export interface BurstResult {
  label: string;
  count: number;
  /** First client write started → the last SUCCESS committed, in ms. */
  wallMs: number;
  perSecond: number;
  /** First client write started → the emulator delivering the last event, in ms. */
  lastEventMs: number;
  costs: Costs;
}

/**
 * `count` mails written at once; every event is delayed by a random 0–`jitterMs`
 * so that the function sees them concurrently and out of order.
 */
/** The label of the burst sent with ARCHIVE_SENT_MAIL: one more write per email, by design. */
export const ARCHIVED = "archived";

export async function burst(
  bench: Bench,
  label: string,
  count: number,
  random: () => number,
  jitterMs = 20,
  /** The collection of the i-th mail: a tenant's, with sender profiles. */
  collectionOf: (i: number) => string = () => "mail",
): Promise<BurstResult> {
  bench.setDelay(() => random() * jitterMs);
  const costsSince = measureCosts(bench);
  const mails = Array.from({ length: count }, (_, i) => newMail(label, collectionOf(i)));
  const firstEvent = bench.driver.events.length;
  const start = now();
  await Promise.all(mails.map((mail) => bench.client.doc(mail.path).create(mail.data)));
  const paths = mails.map((mail) => mail.path);
  await bench.driver.settle(bench.project, paths, FINAL_STATES, 300_000);
  const wallMs = Math.max(...paths.map((path) => successAt(bench, path))) - start;
  const lastEventMs = Math.max(...bench.driver.events.slice(firstEvent).map((event) => event.receivedAt)) - start;
  return { label, count, wallMs, perSecond: count / (wallMs / 1000), lastEventMs, costs: costsSince(count) };
}

export interface DispatchResult {
  count: number;
  /** Documents written at once → the emulator delivering the last of their events, in ms. */
  wallMs: number;
  eventsPerSecond: number;
}

/**
 * The emulator's own ceiling: `count` documents written at once to a
 * project whose trigger does nothing, timed until the last event arrives.
 * Every email needs four events, so this bounds what a burst can reach here.
 */
export async function dispatchCeiling(driver: EventDriver, client: Firestore, project: string, count: number): Promise<DispatchResult> {
  const before = driver.stats(project).events;
  const start = now();
  await Promise.all(Array.from({ length: count }, (_, i) => client.doc(`mail/ceiling-${count}-${i}`).create({ i })));
  await driver.waitFor(() => driver.stats(project).events - before >= count, 300_000, `${count} events`);
  const wallMs = driver.events[driver.events.length - 1].receivedAt - start;
  return { count, wallMs, eventsPerSecond: count / (wallMs / 1000) };
}

/** When the mail's SUCCESS was committed (epoch ms). */
function successAt(bench: Bench, path: string): number {
  const event = bench.driver.firstEventIn(path, "SUCCESS");
  if (!event?.after) {
    const last = bench.driver.events.filter((e) => e.document === path).pop();
    throw new Error(`${path} did not succeed: it ended in ${last?.after?.state ?? "no state"}`);
  }
  return event.after.updateTimeMs;
}
