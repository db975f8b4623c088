/**
 * The sweep reads pages without the message, yet the lifecycle events of an
 * expired lease carry the whole document as the expiry left it: it is read
 * back, a few at a time, only for the expiries that landed and only when
 * events are published. A document changed again before that read gets its
 * events without `doc`, never with a wrong one.
 */
import { Timestamp } from "firebase-admin/firestore";
import { testRuntime } from "../helpers/extension-env";
import { LEASE_GRACE_MS } from "../../src/shared/budget";
import { MailStore } from "../../src/delivery/store";
import type { DocumentVersion } from "../../src/lifecycle/written-document";
import type { EventData, LifecycleEvent } from "../../src/lifecycle/events";
import { runMaintenance } from "../helpers/extension-env";
import type { Runtime } from "../../src/delivery/runtime";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { afterLeases, SWEEP_PARAMS } from "../helpers/sweep-params";

const PROJECT = "demo-sweep-events";
const NOW = Date.now();

interface Published {
  type: LifecycleEvent;
  data: EventData;
  document?: DocumentVersion;
}

describeWithEmulator("lifecycle events of leases the sweep ends", () => {
  const db = emulatorFirestore(PROJECT);
  beforeEach(() => configureExtension(SWEEP_PARAMS));

  function runtimeWith(store: MailStore, published: Published[], enabled = true): Runtime {
    return {
      config: testRuntime.config,
      download: testRuntime.download,
      templates: testRuntime.templates,
      store: () => store,
      transport: () => {
        throw new Error("the sweep never sends");
      },
      lifecycle: {
        enabled: () => enabled,
        publish: async (type, data, document) => {
          published.push({ type, data, document });
        },
      },
    };
  }

  async function seedDead(count: number): Promise<void> {
    const writer = db.bulkWriter();
    for (let i = 0; i < count; i++) {
      void writer.set(db.doc(`mail/dead${i}`), {
        to: `r${i}@example.com`,
        message: { subject: `s${i}`, html: "<p>".padEnd(20_000, "x") },
        delivery: { state: "PROCESSING", attempts: 2, leaseExpireTime: Timestamp.fromMillis(NOW - LEASE_GRACE_MS - 1000 - i) },
      });
    }
    await writer.close();
  }

  test("each event carries the whole document as the expiry wrote it, for more expiries than one read-back", async () => {
    await seedDead(25);
    const published: Published[] = [];
    const store = new MailStore(db);
    const report = await runMaintenance(afterLeases(), {}, runtimeWith(store, published));
    expect(report).toMatchObject({ expired: 25 });
    expect(published.map((p) => p.type).sort()).toEqual([...Array(25).fill("onComplete"), ...Array(25).fill("onError")]);

    for (const event of published) {
      const stored = await db.doc(event.data.path).get();
      expect(event.data).toMatchObject({ state: "ERROR", attempts: 3 });
      expect(event.document?.data).toEqual(stored.data());
      expect(event.document?.updateTime.isEqual(stored.updateTime!)).toBe(true);
      expect(event.document?.createTime.isEqual(stored.createTime!)).toBe(true);
    }
    // Billed reads: the expiry scan's page, the release scan's empty query, and one read-back per expiry.
    expect(store.counts.reads).toBe(25 + 1 + 25);
  });

  test("a document changed again before it is read back: its events go out without doc", async () => {
    await seedDead(2);
    class Racing extends MailStore {
      override async readMany(paths: readonly string[]) {
        // Another writer (a person's edit) lands between the expiry and its read-back.
        await db.doc("mail/dead0").update({ note: "edited" });
        return super.readMany(paths);
      }
    }
    const published: Published[] = [];
    await runMaintenance(afterLeases(), {}, runtimeWith(new Racing(db), published));
    const byPath = (path: string) => published.filter((p) => p.data.path === path);
    expect(byPath("mail/dead0").map((p) => [p.type, p.document])).toEqual([
      ["onError", undefined],
      ["onComplete", undefined],
    ]);
    expect(byPath("mail/dead1").every((p) => p.document?.data.delivery !== undefined)).toBe(true);
  });

  test("without events nothing is read back", async () => {
    await seedDead(3);
    const store = new MailStore(db);
    const published: Published[] = [];
    expect(await runMaintenance(afterLeases(), {}, runtimeWith(store, published, false))).toMatchObject({ expired: 3 });
    expect(published).toEqual([]);
    // The expiry scan's page and the release scan's empty query.
    expect(store.counts.reads).toBe(3 + 1);
  });
});
