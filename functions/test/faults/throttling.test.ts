/**
 * Throttling drains without loss: a burst of THROTTLE_MAILS mails (default
 * 1,000) meets an SMTP server that, like a provider, takes at most R
 * messages per second over at most C connections and answers 451/421
 * beyond that. With automatic retries every mail ends SUCCESS, once, and the
 * time to drain is reported; without them the throttled mails end in ERROR
 * with the server's reply, and nothing is lost, stuck or sent twice.
 *
 * Retries are released by the real sweep, run whenever the next retry is
 * due, the way the schedule would at a finer grain.
 */
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";
import { startThrottlingSink, type ThrottlingSink } from "../helpers/throttling-smtp-sink";
import { deliveryFigures, errorTexts, figureLines, report } from "./figures";
import { logLines } from "./log-lines";
import { MailTraffic, sendsById } from "./mail-traffic";

const PROJECT = "demo-throttling";
const MAILS = Number(process.env.THROTTLE_MAILS ?? 1000);
const LIMITS = { messagesPerSecond: 20, maxConnections: 3 };
/** The pool may open more connections than the server allows, as a misjudged setting would. */
const POOL_CONNECTIONS = 5;
const BURST_CONCURRENCY = 50;

describeWithEmulator(`a burst of ${MAILS} mails against a server that throttles`, () => {
  const h = mailHarness(PROJECT);
  let sink: ThrottlingSink | undefined;

  beforeEach(() => logLines.reset());
  afterEach(async () => {
    configureExtension({});
    await sink?.close();
    sink = undefined;
  });

  async function burst(maxAttempts: number): Promise<{ traffic: MailTraffic; server: ThrottlingSink; burstMs: number }> {
    const server = await startThrottlingSink(LIMITS);
    sink = server;
    configureExtension({
      SMTP_CONNECTION_URI: `smtp://127.0.0.1:${server.port}?pool=true&maxConnections=${POOL_CONNECTIONS}`,
      DEFAULT_FROM,
      MAX_ATTEMPTS: String(maxAttempts),
      RETRY_BACKOFF_SECONDS: "1",
    });
    const traffic = new MailTraffic(h.db);
    const started = Date.now();
    await traffic.createAll(
      MAILS,
      (i) => ({ id: `t${i}`, data: { to: `t${i}@example.com`, message: { subject: `burst ${i}`, text: "t" } } }),
      { concurrency: BURST_CONCURRENCY },
    );
    return { traffic, server, burstMs: Date.now() - started };
  }

  const limits = `${LIMITS.messagesPerSecond} messages/s, ${LIMITS.maxConnections} connections`;

  test("with automatic retries (MAX_ATTEMPTS 10, RETRY_BACKOFF_SECONDS 1) every mail ends SUCCESS, exactly once", async () => {
    const started = Date.now();
    const { traffic, server, burstMs } = await burst(10);
    let sweeps = 0;
    for (;;) {
      const unfinished = await traffic.unfinished();
      if (unfinished.length === 0) break;
      const due = unfinished.map(nextAttemptMs);
      // Anything not waiting for a retry is stuck: no sweep would ever pick it up.
      expect(due.filter((ms) => ms === undefined)).toEqual([]);
      const wait = Math.min(...(due as number[])) - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await traffic.sweep(Date.now(), BURST_CONCURRENCY);
      sweeps++;
    }
    const drainMs = Date.now() - started;

    const docs = [...(await traffic.snapshots()).values()];
    const sends = sendsById(server.accepted);
    const f = deliveryFigures(docs, sends);
    const attempts = docs.map((doc) => Number(doc.get("delivery.attempts")));
    report(`Throttling (${limits}), ${MAILS} mails, MAX_ATTEMPTS 10, RETRY_BACKOFF_SECONDS 1`, [
      ...figureLines(f),
      `drained in ${(drainMs / 1000).toFixed(1)} s (ideal at the server's rate: ${(MAILS / LIMITS.messagesPerSecond).toFixed(0)} s); ` +
        `burst delivered in ${(burstMs / 1000).toFixed(1)} s; ${sweeps} sweeps`,
      `server refused ${server.refused.messages} messages (451) and ${server.refused.connections} connections (421); ` +
        `peak connections ${server.peakConnections()}`,
      `attempts per mail: max ${Math.max(...attempts)}, mean ${(attempts.reduce((a, b) => a + b, 0) / attempts.length).toFixed(2)}`,
    ]);

    expect(server.refused.messages + server.refused.connections).toBeGreaterThan(0);
    expect(f.mails).toBe(MAILS);
    expect(f.success).toBe(MAILS);
    expect(f.accepted).toBe(MAILS);
    expect(f.sentTwice).toBe(0);
  }, 15 * 60_000);

  test("without automatic retries the throttled mails end in ERROR with the server's reply; none lost, stuck or sent twice", async () => {
    const { traffic, server, burstMs } = await burst(1);
    const docs = [...(await traffic.snapshots()).values()];
    const sends = sendsById(server.accepted);
    const f = deliveryFigures(docs, sends, new Set(docs.filter((doc) => !sends.has(doc.id)).map((doc) => doc.id)));
    const texts = errorTexts(docs);
    report(`Throttling (${limits}), ${MAILS} mails, MAX_ATTEMPTS 1`, [
      ...figureLines(f),
      `burst delivered in ${(burstMs / 1000).toFixed(1)} s; server refused ${server.refused.messages} messages (451) ` +
        `and ${server.refused.connections} connections (421)`,
      ...texts.slice(0, 3).map(([text, n]) => `ERROR x${n}: ${text.slice(0, 200)}`),
    ]);

    expect(f.mails).toBe(MAILS);
    expect(f.neverTerminal).toBe(0);
    expect(f.error).toBeGreaterThan(0);
    expect(f.success).toBe(f.accepted);
    expect(f.success + f.error).toBe(MAILS);
    expect(f.sentTwice).toBe(0);
    expect(f.errorButAccepted).toBe(0);
    // The server's own reply, with its code, is what a person reading delivery.error needs.
    for (const [text] of texts) expect(text).toMatch(/\((451|421)\): .*4\.7\.0 Too many/);
  }, 15 * 60_000);
});

function nextAttemptMs(doc: DocumentSnapshot): number | undefined {
  if (doc.get("delivery.state") !== "PENDING") return undefined;
  const next = doc.get("delivery.nextAttemptTime");
  return typeof next?.toMillis === "function" ? next.toMillis() : undefined;
}
