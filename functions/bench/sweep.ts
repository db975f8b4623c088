/**
 * The sweep at scale (issue 14): `count` mails due at once (a `sendAt` that
 * has come) released by maintainQueue and sent by processQueue, and `count`
 * expired leases recovered. Reports the wall time and the sweep runs needed.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { runMaintenance, type MaintenanceReport } from "../src/handlers/maintain-queue";
import { now } from "../test/helpers/event-driver";
import { FINAL_STATES, type Bench } from "./scenarios";

export interface SweepResult {
  scenario: "due sendAt released and sent" | "expired leases recovered";
  count: number;
  /** Sweep runs until nothing was left, and the time of each. */
  runs: number;
  runMs: number[];
  /** Seeding done → every document handled (for due mail: sent and SUCCESS), in ms. */
  wallMs: number;
}

async function seed(client: Firestore, prefix: string, count: number, delivery: (i: number) => Record<string, unknown>) {
  const writer = client.bulkWriter();
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = `mail/${prefix}-${i}`;
    paths.push(path);
    void writer.set(client.doc(path), { to: `${prefix}-${i}@example.com`, message: { subject: prefix, text: "Hello." }, delivery: delivery(i) });
  }
  await writer.close();
  return paths;
}

/** Waits until the emulator has delivered the events of `count` seeded writes and they have been handled. */
async function seeded(bench: Bench, eventsBefore: number, count: number): Promise<void> {
  await bench.driver.waitFor(
    () => bench.driver.stats(bench.project).events - eventsBefore >= count && bench.driver.stats(bench.project).pending === 0,
    900_000,
    `the events of ${count} seeded documents`,
  );
}

/** Runs the sweep (as of `atMs`) until a run reports nothing more to do. */
async function sweepUntilDone(key: "released" | "expired", atMs: number): Promise<{ runMs: number[]; total: number }> {
  const runMs: number[] = [];
  let total = 0;
  for (;;) {
    const start = now();
    const report: MaintenanceReport = await runMaintenance(atMs);
    runMs.push(now() - start);
    total += report[key];
    if (!report.truncated) return { runMs, total };
  }
}

export async function dueMailReleased(bench: Bench, count: number): Promise<SweepResult> {
  bench.setDelay(() => 0);
  // Written as processQueue leaves a scheduled mail: PENDING until its time,
  // which is in the future while the seeding events are handled (they are
  // ignored as waiting); the sweep then runs as of that time.
  const dueAt = Date.now() + 60_000;
  const before = bench.driver.stats(bench.project).events;
  const paths = await seed(bench.client, `due${count}`, count, () => ({
    state: "PENDING",
    attempts: 0,
    startTime: Timestamp.fromMillis(dueAt - 60_000),
    nextAttemptTime: Timestamp.fromMillis(dueAt),
  }));
  await seeded(bench, before, count);
  const start = now();
  const { runMs, total } = await sweepUntilDone("released", Math.max(dueAt, Date.now()));
  if (total !== count) throw new Error(`released ${total} of ${count}`);
  await bench.driver.settle(bench.project, paths, FINAL_STATES, 1_800_000);
  return { scenario: "due sendAt released and sent", count, runs: runMs.length, runMs, wallMs: now() - start };
}

export async function expiredLeasesRecovered(bench: Bench, count: number): Promise<SweepResult> {
  bench.setDelay(() => 0);
  // Live leases while the seeding events are handled (ignored as leased); the sweep then runs as of their expiry.
  const lease = Date.now() + 60_000;
  const before = bench.driver.stats(bench.project).events;
  await seed(bench.client, `expired${count}`, count, () => ({
    state: "PROCESSING",
    attempts: 0,
    startTime: Timestamp.fromMillis(lease - 60_000),
    leaseExpireTime: Timestamp.fromMillis(lease),
  }));
  await seeded(bench, before, count);
  const start = now();
  const { runMs, total } = await sweepUntilDone("expired", Math.max(lease, Date.now()) + 1);
  if (total !== count) throw new Error(`recovered ${total} of ${count}`);
  return { scenario: "expired leases recovered", count, runs: runMs.length, runMs, wallMs: now() - start };
}
