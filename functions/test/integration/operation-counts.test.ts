/**
 * What one email costs, counted rather than timed: function invocations
 * (every write of a mail document is delivered as an event, by the Firestore
 * emulator itself, see event-driver.ts), Firestore operations made by the
 * function (the counts of its MailStore) and SMTP sessions. These are the
 * figures users pay for; BENCHMARKS.md reports them and this file pins them.
 *
 * This suite starts its own emulator, because only an emulator started with
 * `--functions_emulator` reports writes to a trigger receiver.
 */
import type { Firestore } from "firebase-admin/firestore";
import { processQueue } from "../helpers/extension-env";
import { rebuildRuntime, testRuntime } from "../helpers/extension-env";
import type { EventDriver, TriggerEvent } from "../helpers/event-driver";
import { configureExtension } from "../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { describeWithOwnEmulator, startTriggerEmulator, type TriggerEmulator } from "../helpers/emulator-fixture";

const PROJECT = "demo-operation-counts";
const FINAL = ["SUCCESS", "ERROR"];

describeWithOwnEmulator("operations per email", () => {
  let own: TriggerEmulator;
  let driver: EventDriver;
  let sink: SmtpSink;
  let db: Firestore;
  let n = 0;
  // Out of order, but the same order on every run.
  let seed = 7;
  const jitterMs = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % 40;
  };

  beforeAll(async () => {
    own = await startTriggerEmulator();
    driver = own.driver;
    sink = await startSmtpSink();
    configureExtension({
      SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?pool=true`,
      DEFAULT_FROM: "Shop <shop@example.com>",
    });
    db = own.firestore(PROJECT);
    await own.register({ project: PROJECT, fn: processQueue, delayMs: () => jitterMs() });
  }, 120_000);

  afterEach(() => {
    // An invocation that threw would otherwise only show as a count.
    expect(driver.errors.map(String)).toEqual([]);
  });

  afterAll(async () => {
    rebuildRuntime();
    await db?.terminate();
    await sink?.close();
    await own?.stop();
  });

  /** Creates `count` mails at once and waits until each is SUCCESS or ERROR and nothing is still running. */
  async function sendMails(count: number): Promise<string[]> {
    const paths = Array.from({ length: count }, () => `mail/m${++n}`);
    await Promise.all(
      paths.map((path) => db.doc(path).create({ to: `${path.slice(5)}@example.com`, message: { subject: path, text: "Hi" } })),
    );
    await driver.settle(PROJECT, paths, FINAL, 30_000);
    return paths;
  }

  /** The counters, so that a test can take the difference it caused. */
  function counters() {
    const { invocations, failures } = driver.stats(PROJECT);
    // The function's own store: the one processQueue gets for the default database.
    return { invocations, failures, ...testRuntime.store("(default)").counts, sessions: sink.connectionsOpened(), sent: sink.messages.length };
  }

  function difference(before: ReturnType<typeof counters>) {
    const after = counters();
    return {
      invocations: after.invocations - before.invocations,
      failures: after.failures - before.failures,
      landedWrites: after.writes - after.lostWrites - (before.writes - before.lostWrites),
      lostWrites: after.lostWrites - before.lostWrites,
      reads: after.reads - before.reads,
      transactions: after.transactions - before.transactions,
      sessions: after.sessions - before.sessions,
      sent: after.sent - before.sent,
    };
  }

  const statesSeen = (path: string) => driver.events.filter((event) => event.document === path).map((event) => event.after?.state);

  test("one mail: 4 invocations, 3 writes users see, no losing write, no read, no transactions", async () => {
    const before = counters();
    const [path] = await sendMails(1);

    expect(difference(before)).toEqual({
      invocations: 4,
      failures: 0,
      landedWrites: 3,
      // The echo of the extension's own PENDING write is recognised (its
      // attempt id, no state before it) and left to the invocation that wrote
      // it: no second claim races the first, so nothing is lost or read back.
      lostWrites: 0,
      reads: 0,
      transactions: 0,
      sessions: 1,
      sent: 1,
    });
    // The client's write, then the extension's three.
    expect(statesSeen(path)).toEqual([undefined, "PENDING", "PROCESSING", "SUCCESS"]);
    const snap = await db.doc(path).get();
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.attempts")).toBe(1);
  });

  test("mails sent one after another reuse the pooled SMTP connection", async () => {
    const before = counters();
    for (let i = 0; i < 3; i++) await sendMails(1);
    expect(difference(before)).toMatchObject({ invocations: 12, landedWrites: 9, sent: 3 });
    // Nothing sent concurrently so far: every mail went over the first connection.
    expect(sink.connectionsOpened()).toBe(1);
  });

  test("30 mails written at once, events out of order: the same cost per mail, each sent once", async () => {
    const before = counters();
    const paths = await sendMails(30);

    const cost = difference(before);
    // nodemailer's pool opens at most 5 connections (maxConnections), however many mails.
    expect(cost.sessions).toBeLessThanOrEqual(5);
    expect(cost).toMatchObject({
      invocations: 120,
      failures: 0,
      landedWrites: 90,
      lostWrites: 0,
      reads: 0,
      transactions: 0,
      sent: 30,
    });
    const subjects = sink.messages.map((mail) => mail.parsed.subject);
    for (const path of paths) expect(subjects.filter((subject) => subject === path)).toHaveLength(1);
  });

  test("every event delivered again changes nothing: no writes land, only the creation's lost PENDING write is read back, nothing sent", async () => {
    const [path] = await sendMails(1);
    const finished = await db.doc(path).get();
    const events: TriggerEvent[] = driver.events.filter((event) => event.document === path);
    expect(events).toHaveLength(4);

    const before = counters();
    // Each event twice more, all at once: at-least-once delivery at its worst.
    await Promise.all([...events, ...events].map((event) => driver.redeliver(event)));

    // The creation events (twice) lose their conditional PENDING write and read
    // it back (a lost precondition may hide the client library's retry of a
    // write that landed); the PENDING
    // echo, the PROCESSING (live lease) and SUCCESS events write nothing at all.
    expect(difference(before)).toEqual({
      invocations: 8,
      failures: 0,
      landedWrites: 0,
      lostWrites: 2,
      reads: 2,
      transactions: 0,
      sessions: 0,
      sent: 0,
    });
    const now = await db.doc(path).get();
    expect(now.updateTime?.isEqual(finished.updateTime!)).toBe(true);
    expect(now.get("delivery.attempts")).toBe(1);
  });
  // Last: it rebuilds the runtime, and the tests above count SMTP sessions since the start.
  test("with ARCHIVE_SENT_MAIL: exactly one more write per mail (its archive document), no more invocations, reads or transactions", async () => {
    const params = { SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?pool=true`, DEFAULT_FROM: "Shop <shop@example.com>" };
    configureExtension({ ...params, ARCHIVE_SENT_MAIL: "true" });
    try {
      const before = counters();
      const [path] = await sendMails(1);
      expect(difference(before)).toEqual({ invocations: 4, failures: 0, landedWrites: 4, lostWrites: 0, reads: 0, transactions: 0, sessions: 1, sent: 1 });
      // The trigger does not watch the subcollection: the archive write brings no event.
      expect(statesSeen(path)).toEqual([undefined, "PENDING", "PROCESSING", "SUCCESS"]);
      const archived = await db.collection(`${path}/archive`).get();
      expect(archived.size).toBe(1);
      expect((await db.doc(path).get()).get("delivery.info.archive.path")).toBe(archived.docs[0].ref.path);
    } finally {
      configureExtension(params);
    }
  });
});
