/**
 * Faults: a process killed mid-send, a server that never answers, duplicate
 * and out-of-order events at volume, and a flood of malformed documents.
 * Each must end in a documented state: no mail stuck, none sent twice.
 */
import { LEASE_GRACE_MS, leaseEnd } from "../../src/shared/budget";
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { runMaintenance } from "../helpers/extension-env";
import { processQueue } from "../helpers/extension-env";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";
import { malformedDocuments } from "../helpers/malformed-documents";
import { runAll } from "../helpers/run-all";
import { writeEvent } from "../helpers/trigger";

const PROJECT = "demo-faults";

describeWithEmulator("faults", () => {
  const h = mailHarness(PROJECT);

  test("killed after the server received the mail: the lease expires and the sweep ends it in ERROR, sent once", async () => {
    let child: ChildProcess | undefined;
    let markKilled: () => void = () => undefined;
    const killed = new Promise<void>((resolve) => (markKilled = resolve));
    const sink = await h.useSink({
      beforeReply: async () => {
        // The mail is on the server; the sender dies before it hears 250.
        const exited = new Promise((done) => child?.once("exit", done));
        child?.kill("SIGKILL");
        await exited;
        markKilled();
      },
    });
    const path = "mail/crash";
    await h.db.doc(path).create({ to: "once@example.com", message: { subject: "s", text: "t" } });

    child = fork(join(__dirname, "../helpers/run-process-queue.ts"), [path], {
      execArgv: ["-r", "ts-node/register/transpile-only"],
      // useSink configured the extension through process.env, which the child inherits.
      env: process.env,
      stdio: "ignore",
    });
    await killed;

    const stuckDoc = await h.db.doc(path).get();
    const stuck = stuckDoc.get("delivery");
    expect(stuck.state).toBe("PROCESSING");
    expect(sink.messages).toHaveLength(1);

    const report = await runMaintenance(leaseEnd(stuck.leaseExpireTime.toMillis(), stuckDoc.updateTime!.toMillis()) + LEASE_GRACE_MS);
    expect(report.expired).toBe(1);
    const recovered = (await h.db.doc(path).get()).get("delivery");
    expect(recovered).toMatchObject({ state: "ERROR", error: LEASE_EXPIRED_ERROR, attempts: 1, leaseExpireTime: null });
    expect(sink.messages).toHaveLength(1);
  });

  test("a server that accepts the connection and never answers ends in ERROR within the bounded time", async () => {
    const sink = await h.useSink({ hang: true });
    // Small timeouts keep the test short; the defaults bound it at 10 s for the greeting.
    configureExtension({
      SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?greetingTimeout=500&connectionTimeout=500`,
      DEFAULT_FROM,
    });
    const snap = await h.trigger.create("mail/hang", { to: "a@example.com", message: { subject: "s", text: "t" } });
    const delivery = snap.get("delivery");
    expect(delivery.state).toBe("ERROR");
    expect(delivery.attempts).toBe(1);
    expect(delivery.leaseExpireTime).toBeNull();
    expect(delivery.error).toMatch(/time|answer|respon/i);
  });

  test("100 mails, each creation event delivered five times concurrently and out of order: exactly 100 emails", async () => {
    const sink = await h.useSink();
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?pool=true&maxConnections=5`, DEFAULT_FROM });
    const events = [];
    for (let i = 0; i < 100; i++) {
      const ref = h.db.doc(`mail/burst${i}`);
      const before = await ref.get();
      await ref.create({ to: `user${i}@example.com`, message: { subject: `mail ${i}`, text: "t" } });
      const after = await ref.get();
      for (let copy = 0; copy < 5; copy++) events.push(writeEvent(before, after));
    }
    shuffle(events);
    await runAll(events.map((event) => () => processQueue.run(event)), 25);

    // The events caused by the function's own writes arrive too, late and duplicated.
    const docs = (await h.db.collection("mail").get()).docs;
    await runAll(
      docs.flatMap((doc) => [() => processQueue.run(writeEvent(doc, doc)), () => processQueue.run(writeEvent(doc, doc))]),
      25,
    );

    const final = (await h.db.collection("mail").get()).docs;
    expect(final).toHaveLength(100);
    for (const doc of final) expect(doc.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1 });
    expect(sink.messages).toHaveLength(100);
    const recipients = new Set(sink.messages.flatMap((m) => m.envelope.rcptTo));
    expect(recipients.size).toBe(100);
  });

  test("at least 200 malformed documents: every one ends in ERROR with a readable message, none sends", async () => {
    const sink = await h.useSink();
    const cases = malformedDocuments(240);

    const results: Array<{ name: string; snap: DocumentSnapshot }> = [];
    await runAll(
      cases.map((c, i) => async () => {
        results.push({ name: c.name, snap: await h.trigger.create(`mail/bad${i}`, c.data) });
      }),
      10,
    );

    for (const { name, snap } of results) {
      const delivery = snap.get("delivery");
      expect({ name, state: delivery?.state }).toEqual({ name, state: "ERROR" });
      expect(typeof delivery.error).toBe("string");
      expect(delivery.error.length).toBeGreaterThan(10);
      expect(delivery.error.length).toBeLessThan(400);
      expect(delivery.leaseExpireTime ?? null).toBeNull();
    }
    expect(sink.messages).toHaveLength(0);
    // What a user finds in the collection afterwards: at least 200 mails, each in ERROR.
    const stored = (await h.db.collection("mail").get()).docs;
    expect(stored.filter((doc) => doc.get("delivery.state") === "ERROR").length).toBeGreaterThanOrEqual(200);
  });
});

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}

