/**
 * The sweep at scale (issue 14): `count` mails due at once (a `sendAt` that
 * has come) released by maintainQueue and sent by processQueue, and `count`
 * expired leases recovered. Reports the wall time and the sweep runs needed.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { LEASE_GRACE_MS, LEASE_MS } from "../src/shared/budget";
import { runMaintenance, type MaintenanceReport } from "../test/helpers/extension-env";
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

async function seed(client: Firestore, prefix: string, count: number, delivery: Record<string, unknown>) {
  const writer = client.bulkWriter();
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = `mail/${prefix}-${i}`;
    paths.push(path);
    void writer.set(client.doc(path), { to: `${prefix}-${i}@example.com`, message: { subject: prefix, text: "Hello." }, delivery });
  }
  await writer.close();
  return paths;
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

/**
 * Seeds `count` documents whose delivery, given a time a minute ahead, is
 * still live while their seeding events are handled (ignored as waiting or
 * leased); waits until those events are handled (and, for due mail, until
 * that time has come); then sweeps as of that time (or now, if later) plus
 * `pastMs` until every document is `key`.
 */
async function seedAndSweep(
  bench: Bench,
  prefix: string,
  count: number,
  key: "released" | "expired",
  delivery: (liveUntil: number) => Record<string, unknown>,
  pastMs: number,
): Promise<{ paths: string[]; runMs: number[]; start: number }> {
  bench.setDelay(() => 0);
  const liveUntil = Date.now() + 60_000;
  const before = bench.driver.stats(bench.project).events;
  const paths = await seed(bench.client, prefix, count, delivery(liveUntil));
  await bench.driver.waitFor(
    () => bench.driver.stats(bench.project).events - before >= count && bench.driver.stats(bench.project).pending === 0,
    900_000,
    `the events of ${count} seeded documents`,
  );
  // A released mail is claimed by processQueue on the real clock, so due
  // mail is swept only once it is really due; an expired lease may be swept
  // as of a later time (the expiry's own write is all there is to it).
  if (key === "released") await new Promise((resolve) => setTimeout(resolve, Math.max(0, liveUntil - Date.now())));
  const start = now();
  const { runMs, total } = await sweepUntilDone(key, Math.max(liveUntil, Date.now()) + pastMs);
  if (total !== count) throw new Error(`${key} ${total} of ${count}`);
  return { paths, runMs, start };
}

export async function dueMailReleased(bench: Bench, count: number): Promise<SweepResult> {
  // Written as processQueue leaves a scheduled mail: PENDING until its time.
  const { paths, runMs, start } = await seedAndSweep(bench, `due${count}`, count, "released", (dueAt) => ({
    state: "PENDING",
    attempts: 0,
    startTime: Timestamp.fromMillis(dueAt - 60_000),
    nextAttemptTime: Timestamp.fromMillis(dueAt),
  }), 0);
  await bench.driver.settle(bench.project, paths, FINAL_STATES, 1_800_000);
  return { scenario: "due sendAt released and sent", count, runs: runMs.length, runMs, wallMs: now() - start };
}

export async function expiredLeasesRecovered(bench: Bench, count: number): Promise<SweepResult> {
  // Swept a millisecond after the lease and its grace end (a lease runs at least LEASE_MS from its write).
  const { runMs, start } = await seedAndSweep(bench, `expired${count}`, count, "expired", (lease) => ({
    state: "PROCESSING",
    attempts: 0,
    startTime: Timestamp.fromMillis(lease - 60_000),
    leaseExpireTime: Timestamp.fromMillis(lease),
  }), LEASE_MS + LEASE_GRACE_MS + 1);
  return { scenario: "expired leases recovered", count, runs: runMs.length, runMs, wallMs: now() - start };
}
