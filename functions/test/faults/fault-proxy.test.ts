/**
 * The fault proxy itself: retiring connections must lose nothing (or the
 * fault tier would measure the proxy, not the extension), a seed must give
 * the same faults on the same connections, and an outage must begin at the
 * call it names and look to the client library the way its kind says.
 */
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-fixture";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy";
import { clearFirestore } from "../helpers/firestore-emulator";

const PROJECT = "demo-fault-proxy";

describeWithEmulator("fault proxy in front of the Firestore emulator", () => {
  let proxy: FaultProxy;
  const directHost = emulatorHost!;

  beforeAll(async () => {
    const [host, port] = directHost.split(":");
    proxy = await startFaultProxy({ host, port: Number(port) });
    await clearFirestore(directHost, PROJECT);
    // The default app checks the results, straight on the emulator.
    initializeApp({ projectId: PROJECT });
  });
  afterAll(async () => {
    process.env.FIRESTORE_EMULATOR_HOST = directHost;
    await proxy.close();
  });

  /** A Firestore client whose connections go through the proxy. */
  function clientThroughProxy(name: string) {
    process.env.FIRESTORE_EMULATOR_HOST = proxy.host;
    try {
      const app = initializeApp({ projectId: PROJECT }, name);
      return { db: getFirestore(app), close: () => deleteApp(app) };
    } finally {
      process.env.FIRESTORE_EMULATOR_HOST = directHost;
    }
  }

  test("without faults, 200 calls over connections retired by GOAWAY all succeed", async () => {
    proxy.setPlan({ seed: 1, rate: 0, callsPerConnection: [3, 6] });
    const { db, close } = clientThroughProxy("no-faults");
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const ref = db.doc(`items/i${i}`);
          const created = await ref.create({ n: 0 });
          await ref.update({ n: 1 }, { lastUpdateTime: created.writeTime });
          return (await getFirestore().doc(`items/i${i}`).get()).get("n");
        }),
      );
      expect(results).toEqual(Array(100).fill(1));
      const stats = proxy.stats();
      expect(stats.calls).toBeGreaterThanOrEqual(200);
      expect(stats.retired).toBeGreaterThan(20);
      expect(stats.drawn).toEqual({ refuse: 0, reset: 0, stall: 0, latency: 0 });
    } finally {
      await close();
    }
  });

  test("the same seed draws the same faults for the same connections", async () => {
    const draws = [];
    for (let run = 0; run < 2; run++) {
      proxy.setPlan({ seed: 42, rate: 0.5, kinds: ["latency"], latencyMs: [1, 2] });
      await Promise.all(Array.from({ length: 20 }, () => openAndClose(proxy.host)));
      // The client's connect can complete before the proxy's accept callback has run.
      await seen(() => proxy.stats().connections === 20);
      draws.push(proxy.stats().drawn.latency);
    }
    expect(draws[0]).toBe(draws[1]);
    expect(draws[0]).toBeGreaterThan(0);
    expect(draws[0]).toBeLessThan(20);
  });

  describe("a targeted outage", () => {
    const OUTAGE_MS = 3_000;
    /** The outage, then the client's reconnect backoff (about 1 s, 1.6 s, 2.6 s… with jitter). */
    const TIMEOUT_MS = 30_000;
    beforeEach(() => proxy.setPlan({ seed: 1, rate: 0 }));

    test("unreachable: begins at the call after the first n; the client library retries that call until the outage is over", async () => {
      const { db, close } = clientThroughProxy("unreachable");
      try {
        const ref = db.doc("outages/unreachable");
        const outage = proxy.outage({ afterCalls: 2, durationMs: OUTAGE_MS });
        await ref.create({ n: 0 });
        await ref.update({ n: 1 });
        expect(outage.began()).toBe(false);
        await ref.update({ n: 2 });
        const landedAt = Date.now();
        expect(landedAt).toBeGreaterThanOrEqual(await outage.ended);
        expect(outage.stats()).toMatchObject({ cut: 1, failedCalls: 0 });
        expect(outage.stats().refused).toBeGreaterThan(0);
        expect((await getFirestore().doc("outages/unreachable").get()).get("n")).toBe(2);
      } finally {
        await close();
      }
    }, TIMEOUT_MS);

    test("failing: a write fails at once with DEADLINE_EXCEEDED and never applies; a read waits until the outage is over", async () => {
      const { db, close } = clientThroughProxy("failing");
      try {
        const ref = db.doc("outages/failing");
        const outage = proxy.outage({ afterCalls: 0, durationMs: OUTAGE_MS, kind: "failing" });
        await expect(ref.create({ n: 0 })).rejects.toMatchObject({ code: 4 });
        expect(outage.began()).toBe(true);
        const read = await ref.get();
        expect(Date.now()).toBeGreaterThanOrEqual(await outage.ended);
        expect(read.exists).toBe(false);
        expect(outage.stats().failedCalls).toBeGreaterThan(1);
      } finally {
        await close();
      }
    }, TIMEOUT_MS);

    test("answer lost: the call applies, the client hears nothing, and the library's own retry then fails the precondition", async () => {
      const { db, close } = clientThroughProxy("answer-lost");
      try {
        const ref = db.doc("outages/answer-lost");
        const created = await ref.create({ n: 0 });
        const outage = proxy.outage({ afterCalls: 1, durationMs: OUTAGE_MS, answerLost: true });
        const update = ref.update({ n: 1 }, { lastUpdateTime: created.writeTime });
        await outage.started;
        expect((await getFirestore().doc("outages/answer-lost").get()).get("n")).toBe(1);
        await expect(update).rejects.toMatchObject({ code: 9 });
      } finally {
        await close();
      }
    }, TIMEOUT_MS);

    test("one outage at a time; one that has not begun can be disarmed; an answer to lose needs a call", async () => {
      const first = proxy.outage({ afterCalls: 5, durationMs: OUTAGE_MS });
      expect(() => proxy.outage({ afterCalls: 0, durationMs: OUTAGE_MS })).toThrow(/already/);
      first.cancel();
      await first.ended;
      expect(first.began()).toBe(false);
      expect(() => proxy.outage({ afterCalls: 0, durationMs: OUTAGE_MS, answerLost: true })).toThrow(/afterCalls/);
    });
  });
});

async function openAndClose(host: string): Promise<void> {
  const net = await import("node:net");
  const [address, port] = host.split(":");
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(port), address, () => {
      socket.destroy();
      resolve();
    });
    socket.on("error", reject);
  });
}

/** Resolves once `condition` holds, checking on each turn of the event loop; fails after 5 s. */
async function seen(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
