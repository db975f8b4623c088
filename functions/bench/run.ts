/**
 * `npm run bench`: what one email costs and how long it takes, against the
 * Google Firestore emulator and an in-process SMTP server, with every write
 * of a mail document delivered to processQueue as index.ts wires it as an event
 * (test/helpers/event-driver.ts). Prints Markdown for BENCHMARKS.md.
 *
 * `--quick` runs smaller counts, for trying the benchmark itself out;
 * `--pool-options=maxMessages=1000&maxConnections=5` adds nodemailer pool
 * options to the pooled runs' SMTP_CONNECTION_URI.
 */
import { logCounts, notableLogs, print } from "./quiet-logs";
import { performance } from "node:perf_hooks";
import { initializeApp } from "firebase-admin/app";
import { getFirestore, type Firestore } from "firebase-admin/firestore";
import { EventDriver, type TriggerEvent } from "../test/helpers/event-driver";
import { configureExtension, processQueue, rebuildRuntime } from "../test/helpers/extension-env";
import { emulatorInstalled, EMULATOR_BINARY, startEmulator, stopEmulator, type RunningEmulator } from "../test/helpers/firestore-emulator";
import { seededRandom } from "../test/helpers/seeded-random";
import { startSmtpSink, type SmtpSink } from "../test/helpers/smtp-sink";
import { coldStart, type ColdStartResult } from "./cold-start";
import { countRpcs } from "./firestore-rpcs";
import { printProfiles, printReport, printSweeps } from "./report";
import { ARCHIVED, burst, dispatchCeiling, singleMails, type Bench, type BurstResult, type DispatchResult, type SingleResult } from "./scenarios";
import { dueMailReleased, expiredLeasesRecovered, type SweepResult } from "./sweep";
import { senderProfiles, type ProfilesResult } from "./profiles";

const PROJECT = "demo-bench";
const COLD_PROJECT = "demo-bench-cold";
const CEILING_PROJECT = "demo-bench-ceiling";
const FROM = "Benchmark <bench@example.com>";
const quick = process.argv.includes("--quick");
const SINGLE_MAILS = quick ? 10 : 50;
const BURSTS = quick ? [20, 200] : [100, 1000];
/** `--sweep-only`: just the sweep scenarios (issue 14). */
const SWEEP_ONLY = process.argv.includes("--sweep-only");
/** `--profiles-only`: just the sender profiles scenario (issue 20). */
const PROFILES_ONLY = process.argv.includes("--profiles-only");
const SWEEP_COUNTS = quick ? [1000] : [2000, 10_000];
const POOL_OPTIONS = process.argv.find((arg) => arg.startsWith("--pool-options="))?.slice("--pool-options=".length);

async function main(): Promise<void> {
  if (!emulatorInstalled()) throw new Error(`The Firestore emulator is not installed at ${EMULATOR_BINARY}`);
  const started = performance.now();
  let emulator: RunningEmulator | undefined;
  let sink: SmtpSink | undefined;
  let driver: EventDriver | undefined;
  const clients: Firestore[] = [];
  const stop = () => {
    if (emulator) stopEmulator(emulator);
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    print(`Starting the Firestore emulator and the SMTP server…`);
    driver = await EventDriver.start();
    emulator = await startEmulator(90_000, [driver.emulatorFlag]);
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
    process.env.GCLOUD_PROJECT = PROJECT;
    sink = await startSmtpSink();
    const pooled = `smtp://127.0.0.1:${sink.port}?pool=true${POOL_OPTIONS ? `&${POOL_OPTIONS}` : ""}`;
    configureExtension({ SMTP_CONNECTION_URI: pooled, DEFAULT_FROM: FROM });

    // The default app is the function's (runtime.ts takes the first app);
    // the benchmark writes through apps of its own, so that only the
    // function's RPCs are counted.
    const functionDb = getFirestore(initializeApp({ projectId: PROJECT }));
    const client = getFirestore(initializeApp({ projectId: PROJECT }, "bench-client"));
    const coldClient = getFirestore(initializeApp({ projectId: COLD_PROJECT }, "bench-cold-client"));
    const ceilingClient = getFirestore(initializeApp({ projectId: CEILING_PROJECT }, "bench-ceiling-client"));
    clients.push(functionDb, client, coldClient, ceilingClient);

    let delay: (event: TriggerEvent) => number = () => 0;
    await driver.register(emulator.host, { project: PROJECT, fn: processQueue, delayMs: (event) => delay(event) });
    const bench: Bench = {
      project: PROJECT,
      driver,
      sink,
      client,
      rpcs: countRpcs(functionDb),
      setDelay: (next) => (delay = next),
      delay: (event) => delay(event),
      emulatorHost: emulator.host,
    };

    const sweeps: SweepResult[] = [];
    const runSweeps = async () => {
      for (const count of SWEEP_COUNTS) {
        print(`Sweep: ${count} mails due at once…`);
        sweeps.push(await dueMailReleased(bench, count));
        print(`Sweep: ${count} expired leases…`);
        sweeps.push(await expiredLeasesRecovered(bench, count));
      }
    };
    if (PROFILES_ONLY) {
      await singleMails(bench, "warm-up", 3, 0);
      const profiles = await senderProfiles(bench, BURSTS[0], seededRandom(7));
      print();
      printProfiles(profiles);
      return;
    }
    if (SWEEP_ONLY) {
      await singleMails(bench, "warm-up", 3, 0);
      await runSweeps();
      print();
      printSweeps(sweeps);
      return;
    }

    print(`Cold start…`);
    const coldStartResult: ColdStartResult = await coldStart(driver, emulator.host, coldClient, COLD_PROJECT, {
      SMTP_CONNECTION_URI: pooled,
      DEFAULT_FROM: FROM,
    });

    print(`Warming up…`);
    await singleMails(bench, "warm-up", 3, 0);

    const single: SingleResult[] = [];
    const bursts: BurstResult[] = [];
    const random = seededRandom(7);
    for (const delayMs of [0, 300]) {
      print(`${SINGLE_MAILS} single mails, ${delayMs} ms trigger delay…`);
      single.push(await singleMails(bench, "pooled", SINGLE_MAILS, delayMs));
    }
    for (const count of BURSTS) {
      print(`Burst of ${count}…`);
      bursts.push(await burst(bench, "pooled", count, random));
    }

    print(`The emulator's event delivery, with a trigger that does nothing…`);
    await driver.register(emulator.host, { project: CEILING_PROJECT, fn: processQueue, handler: () => undefined });
    const ceiling: DispatchResult[] = [];
    for (const count of BURSTS) ceiling.push(await dispatchCeiling(driver, ceilingClient, CEILING_PROJECT, count));

    print(`Without pooling…`);
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?pool=false`, DEFAULT_FROM: FROM });
    single.push(await singleMails(bench, "unpooled", SINGLE_MAILS, 0));
    bursts.push(await burst(bench, "unpooled", BURSTS[0], random));

    print(`Archive of sent mail…`);
    configureExtension({ SMTP_CONNECTION_URI: pooled, DEFAULT_FROM: FROM, ARCHIVE_SENT_MAIL: "true" });
    bursts.push(await burst(bench, ARCHIVED, BURSTS[0], random));

    print(`Sender profiles…`);
    const profiles: ProfilesResult = await senderProfiles(bench, BURSTS[0], random);

    // Last: the sweep scenarios release thousands of mails whose trigger
    // events would otherwise still be arriving while another scenario counts.
    await runSweeps();

    const failures = driver.stats().failures;
    if (failures > 0) throw new Error(`${failures} invocation(s) failed: ${driver.errors.map(String).join("; ")}`);
    print();
    printReport({ single, bursts, ceiling, sweeps, profiles, coldStart: coldStartResult, logs: logCounts, notableLogs, durationMs: performance.now() - started,
      pooledQuery: pooled.slice(pooled.indexOf("?")),
    });
  } finally {
    rebuildRuntime();
    await Promise.all(clients.map((db) => db.terminate().catch(() => undefined)));
    await sink?.close();
    await driver?.close();
    if (emulator) stopEmulator(emulator);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    print(`The benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
