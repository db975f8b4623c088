/**
 * The fault tier: Firestore connections failing while mail is in flight.
 * The function's Firestore client goes through the fault proxy (resets,
 * stalls, refused connections, added latency on a share of connections);
 * the test's own client reads the emulator directly. Each run sends
 * FAULT_TIER_MAILS mails (default 1,000) through processQueue to a real SMTP
 * server, then waits out the lease with two sweeps, and reports:
 * mails never reaching a terminal state, mails sent twice, mails in ERROR
 * although the server accepted them, mails in ERROR never sent without a
 * send failure. Stalls (at most 8 s) stay well inside the 60 s lease, so
 * none of these may happen, except a second send with MAX_ATTEMPTS 3, which
 * is reported.
 */
import { LEASE_GRACE_MS, LEASE_MS } from "../../src/shared/budget";
import { deleteApp, getApps, initializeApp } from "firebase-admin/app";
import { getFirestore, type DocumentSnapshot, type Firestore } from "firebase-admin/firestore";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy";
import { clearFirestore } from "../helpers/firestore-emulator";
import { DEFAULT_FROM } from "../helpers/mail-harness";
import { seededRandom } from "../helpers/seeded-random";
import { startSmtpSink } from "../helpers/smtp-sink";
import { deliveryFigures, errorTexts, figureLines, report } from "./figures";
import { logLines } from "./log-lines";
import { MailTraffic, sendsById } from "./mail-traffic";

const PROJECT = "demo-firestore-faults";
const MAILS = Number(process.env.FAULT_TIER_MAILS ?? 1000);
/** A claim's lease, counted from its landing, and the grace observers give its outcome write, plus a margin. */
const PAST_LEASE_MS = LEASE_MS + LEASE_GRACE_MS + 1000;
const CONCURRENCY = 25;
/** Share of creation events delivered twice. */
const DUPLICATES = 0.1;

const RUNS: Array<{ share: string; rate: number; maxAttempts: number; seed: number }> = [
  { share: "5%", rate: 0.05, maxAttempts: 1, seed: 5101 },
  { share: "20%", rate: 0.2, maxAttempts: 1, seed: 2001 },
  { share: "5%", rate: 0.05, maxAttempts: 3, seed: 5103 },
  { share: "20%", rate: 0.2, maxAttempts: 3, seed: 2003 },
];

describeWithEmulator(`Firestore faults while ${MAILS} mails are in flight`, () => {
  let proxy: FaultProxy;
  let db: Firestore;
  const directHost = emulatorHost!;

  beforeAll(async () => {
    const [host, port] = directHost.split(":");
    proxy = await startFaultProxy({ host, port: Number(port) });
    process.env.GCLOUD_PROJECT = PROJECT;
    // The default app is the function's (runtime.ts takes the first app); its
    // Firestore client is built on first use and reads FIRESTORE_EMULATOR_HOST then.
    initializeApp({ projectId: PROJECT });
    db = getFirestore(initializeApp({ projectId: PROJECT }, "verification"));
    process.env.FIRESTORE_EMULATOR_HOST = proxy.host;
  });

  afterAll(async () => {
    // Later test files in this worker must find the emulator, not a closed proxy.
    process.env.FIRESTORE_EMULATOR_HOST = directHost;
    configureExtension({});
    await Promise.all(getApps().map((app) => deleteApp(app)));
    await proxy.close();
  });

  test.each(RUNS)(
    "faults on $share of connections, MAX_ATTEMPTS $maxAttempts: every mail ends, none falsely, none twice",
    async ({ share, rate, maxAttempts, seed }) => {
      await clearFirestore(directHost, PROJECT);
      logLines.reset();
      const sink = await startSmtpSink();
      try {
        configureExtension({
          SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?pool=true&maxConnections=10`,
          DEFAULT_FROM,
          MAX_ATTEMPTS: String(maxAttempts),
          RETRY_BACKOFF_SECONDS: "1",
        });
        proxy.setPlan({ seed, rate });
        const traffic = new MailTraffic(db);
        const duplicates = seededRandom(seed + 1);
        const started = Date.now();

        await traffic.createAll(
          MAILS,
          (i) => ({ id: `m${i}`, data: { to: `m${i}@example.com`, message: { subject: `mail ${i}`, text: "t" } } }),
          { concurrency: CONCURRENCY, duplicate: () => duplicates() < DUPLICATES },
        );
        const trafficMs = Date.now() - started;
        const unfinished = await traffic.unfinished();

        // Two scheduled sweeps after the lease: the first ends dead attempts
        // (or schedules their retry), the second releases those retries.
        const sweeps = [];
        for (let k = 1; k <= 2; k++) sweeps.push(await traffic.sweep(Date.now() + k * PAST_LEASE_MS));

        const docs = [...(await traffic.snapshots()).values()];
        const sends = sendsById(sink.messages.map((m) => m.envelope.rcptTo));
        const f = deliveryFigures(docs, sends);
        report(`Firestore faults on ${share} of connections, MAX_ATTEMPTS ${maxAttempts}, ${MAILS} mails`, [
          ...figureLines(f),
          `proxy: ${proxy.describe()}`,
          `traffic ${(trafficMs / 1000).toFixed(1)} s (${CONCURRENCY} mails in flight, ${DUPLICATES * 100}% of creation events twice); ` +
            `unfinished after traffic ${unfinished.length} (${describeDocs(unfinished)}); sweeps: ` +
            sweeps.map((s) => (s ? `expired ${s.expired}, released ${s.released}, skipped ${s.skipped}` : "failed")).join(" | "),
          `invocations that threw ${traffic.problems.failedInvocations}, sweeps that threw ${traffic.problems.failedSweeps}; ` +
            `extension logged ${logLines.counts.warn} warnings, ${logLines.counts.error} errors`,
          ...errorTexts(docs).slice(0, 3).map(([text, n]) => `ERROR x${n}: ${text.slice(0, 160)}`),
          ...logLines.sample.slice(0, 2).map((line) => `logged: ${line.slice(0, 200)}`),
        ]);

        expect(f.mails).toBe(MAILS);
        expect(f.neverTerminal).toBe(0);
        if (maxAttempts === 1) expect(f.sentTwice).toBe(0);
        expect(f.errorButAccepted).toBe(0);
        expect(f.errorNeverSent).toBe(0);
        expect(f.successNeverSent).toBe(0);
      } finally {
        configureExtension({});
        await sink.close();
      }
    },
    15 * 60_000,
  );
});

/** A few documents' ids and delivery states, for a report. */
function describeDocs(docs: DocumentSnapshot[]): string {
  const shown = docs.slice(0, 5).map((doc) => `${doc.id} ${doc.get("delivery.state") ?? "no delivery"}`);
  return docs.length > 5 ? `${shown.join(", ")}, ...` : shown.join(", ");
}
