/**
 * Holds the simulation's in-memory Firestore (test/simulation/model-firestore.ts)
 * to the Google Firestore emulator: each differential case runs one script
 * against both, as a firebase-admin `Firestore`, and compares what the
 * delivery code relies on (data after writes, status codes of preconditions,
 * transactions, BulkWriter outcomes, query order, field masks). The model's
 * own guarantees (commit times, commit records, its io seam) are checked on
 * the model alone.
 */
import { FieldValue, Timestamp, type Firestore } from "firebase-admin/firestore";
import { MailStore } from "../../src/delivery/store";
import { isTransientStatus, statusOf } from "../../src/shared/firestore-status";
import { projectIdOf } from "../../src/lifecycle/written-document";
import { caught } from "../helpers/caught";
import { describeWithEmulator, emulatorFirestore } from "../helpers/emulator-fixture";
import { ModelFirestore, statusError, type CommitRecord, type ModelIo, type RpcDescription } from "../simulation/model-firestore";

const PROJECT = "demo-model-firestore";

/** A status code, or "ok": what a caller of a write can tell. */
const outcome = (write: Promise<unknown>): Promise<number | string> =>
  write.then(
    () => "ok",
    (error: unknown) => statusOf(error) ?? String(error),
  );

/** Data with every Timestamp replaced by a tag, for comparing two databases whose clocks differ. */
function untimed(value: unknown): unknown {
  if (value instanceof Timestamp) return "<Timestamp>";
  if (Array.isArray(value)) return value.map(untimed);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untimed(v)]));
  return value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithEmulator("ModelFirestore against the Firestore emulator", () => {
  const real = emulatorFirestore(PROJECT);
  let runs = 0;

  /** Runs `script` on the emulator, then on a fresh model, each under its own collection prefix. */
  async function both<T>(script: (db: Firestore, prefix: string) => Promise<T>): Promise<{ emulator: T; model: T }> {
    const prefix = `run${++runs}`;
    const emulator = await script(real, prefix);
    const model = await script(new ModelFirestore({ projectId: PROJECT }) as unknown as Firestore, prefix);
    return { emulator, model };
  }

  test("update with dotted paths, delete, serverTimestamp and increment; set, merge and create with nested transforms", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const ref = db.doc(`${prefix}/doc`);
      await ref.set({ a: 1, m: { n: 1, keep: 2 }, counter: 5, text: "x", s: "scalar", nested: { x: 1 }, gone: true });
      const written = await ref.update({
        "m.n": FieldValue.delete(),
        "missing.deep": FieldValue.delete(),
        "c.d": FieldValue.increment(2),
        counter: FieldValue.increment(3),
        text: FieldValue.increment(1),
        "s.t": 1,
        nested: { y: 2, z: FieldValue.increment(4) },
        "time.at": FieldValue.serverTimestamp(),
        gone: FieldValue.delete(),
      });
      const afterUpdate = await ref.get();
      const at = afterUpdate.get("time.at") as Timestamp;
      await ref.set({ m: { keep: 3, added: 1 }, a: FieldValue.delete(), extra: { e: FieldValue.increment(1) } }, { merge: true });
      const afterMerge = (await ref.get()).data();
      const created = db.doc(`${prefix}/created`);
      const createdAt = await created.create({ d: { t: FieldValue.serverTimestamp(), n: FieldValue.increment(5) }, list: [1, "two"] });
      const createdSnapshot = await created.get();
      await created.set({ only: FieldValue.increment(7) });
      return {
        afterUpdate: untimed(afterUpdate.data()),
        // Firestore stores the request time in milliseconds, at or a few ms before the commit.
        serverTimeNearCommit: at.toMillis() <= written.writeTime.toMillis() && at.toMillis() > written.writeTime.toMillis() - 1000,
        serverTimeWholeMs: at.nanoseconds % 1_000_000,
        updateTimeIsWriteTime: afterUpdate.updateTime!.isEqual(written.writeTime),
        afterMerge: untimed(afterMerge),
        created: untimed(createdSnapshot.data()),
        createTimes: createdSnapshot.createTime!.isEqual(createdAt.writeTime) && createdSnapshot.updateTime!.isEqual(createdAt.writeTime),
        createdServerTime: (createdSnapshot.get("d.t") as Timestamp).toMillis() <= createdAt.writeTime.toMillis(),
        afterSet: (await created.get()).data(),
        dotted: [afterUpdate.get("m.keep"), afterUpdate.get("c.d"), afterUpdate.get("missing.x"), afterUpdate.get("s.t")],
      };
    });
    expect(emulator.afterUpdate).toEqual({
      a: 1,
      m: { keep: 2 },
      counter: 8,
      text: 1,
      s: { t: 1 },
      c: { d: 2 },
      nested: { y: 2, z: 4 },
      time: { at: "<Timestamp>" },
    });
    expect(emulator.afterMerge).toEqual({ ...(emulator.afterUpdate as object), a: undefined, m: { keep: 3, added: 1 }, extra: { e: 1 } });
    expect(emulator.serverTimeNearCommit).toBe(true);
    expect(emulator.afterSet).toEqual({ only: 7 });
    expect(model).toEqual(emulator);
  });

  test("preconditions: stale, fresh and missing lastUpdateTime, exists, create on an existing document", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const ref = db.doc(`${prefix}/doc`);
      const missing = db.doc(`${prefix}/missing`);
      const first = await ref.create({ v: 1 });
      const second = await ref.update({ v: 2 });
      const stale = first.writeTime;
      const fresh = second.writeTime;
      const codes = {
        updateStale: await outcome(ref.update({ v: "stale" }, { lastUpdateTime: stale })),
        deleteStale: await outcome(ref.delete({ lastUpdateTime: stale })),
        createExisting: await outcome(ref.create({ v: "again" })),
        updateMissing: await outcome(missing.update({ v: 1 })),
        updateMissingWithTime: await outcome(missing.update({ v: 1 }, { lastUpdateTime: fresh })),
        deleteMissingWithTime: await outcome(missing.delete({ lastUpdateTime: fresh })),
        deleteMissingExists: await outcome(missing.delete({ exists: true })),
        deleteMissing: await outcome(missing.delete()),
        updateFresh: await outcome(ref.update({ v: 3 }, { lastUpdateTime: fresh })),
      };
      const afterFresh = await ref.get();
      // A write that changes nothing keeps the update time and reports it as its write time.
      const noop = await ref.update({ v: 3 }, { lastUpdateTime: afterFresh.updateTime! });
      const afterNoop = await ref.get();
      let message = "";
      await ref.update({ v: 4 }, { lastUpdateTime: stale }).catch((error: Error) => (message = error.message));
      return {
        codes,
        data: (await ref.get()).data(),
        missingExists: (await missing.get()).exists,
        noopKeepsUpdateTime: noop.writeTime.isEqual(afterFresh.updateTime!) && afterNoop.updateTime!.isEqual(afterFresh.updateTime!),
        messagePrefix: message.slice(0, "9 FAILED_PRECONDITION: ".length),
      };
    });
    expect(emulator.codes).toEqual({
      updateStale: 9,
      deleteStale: 9,
      createExisting: 6,
      updateMissing: 5,
      updateMissingWithTime: 9,
      deleteMissingWithTime: 9,
      deleteMissingExists: 5,
      deleteMissing: "ok",
      updateFresh: "ok",
    });
    expect(emulator.noopKeepsUpdateTime).toBe(true);
    expect(model).toEqual(emulator);
  });

  test("transaction: read then conditional write, a missing document created, and a write between get and commit", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const claimed = db.doc(`${prefix}/claimed`);
      const fresh = db.doc(`${prefix}/fresh`);
      const contested = db.doc(`${prefix}/contested`);
      await claimed.set({ state: "PENDING", attempts: 0 });
      await contested.set({ count: 0 });
      const verdict = await db.runTransaction(async (transaction) => {
        const snapshot = await transaction.get(claimed);
        if (snapshot.get("state") !== "PENDING") return "lost";
        transaction.update(claimed, { state: "PROCESSING", "delivery.attempts": FieldValue.increment(1) });
        return "claimed";
      });
      const again = await db.runTransaction(async (transaction) => {
        const snapshot = await transaction.get(claimed);
        return snapshot.get("state") === "PENDING" ? "claimed" : "lost";
      });
      await db.runTransaction(async (transaction) => {
        const snapshot = await transaction.get(fresh);
        if (!snapshot.exists) transaction.create(fresh, { made: true });
      });
      // Another writer changes the document after the transaction read it. The
      // emulator makes that write wait for the transaction's lock; the model
      // aborts the commit and re-runs the transaction on the new data. Either
      // way both increments land: the final count is 0 + 1 + 10.
      let attempts = 0;
      let outside: Promise<unknown> | undefined;
      await db.runTransaction(async (transaction) => {
        attempts++;
        const snapshot = await transaction.get(contested);
        if (attempts === 1) {
          outside = contested.update({ count: FieldValue.increment(10) });
          await sleep(100);
        }
        transaction.update(contested, { count: (snapshot.get("count") as number) + 1 });
      });
      await outside;
      return {
        verdict,
        again,
        claimed: (await claimed.get()).data(),
        fresh: (await fresh.get()).data(),
        contested: (await contested.get()).data(),
        attempts,
      };
    });
    expect(emulator).toMatchObject({ verdict: "claimed", again: "lost", contested: { count: 11 } });
    // The final documents agree; the mechanism does not have to (the emulator
    // ran the function once here, holding its lock).
    const { attempts: _emulatorAttempts, ...emulatorRest } = emulator;
    const { attempts: modelAttempts, ...modelRest } = model;
    expect(modelRest).toEqual(emulatorRest);
    // The model's optimistic commit saw the change and ran the function again.
    expect(modelAttempts).toBe(2);
  });

  test("bulkWriter: a failed precondition fails only its own write", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const [a, b, c] = ["a", "b", "c"].map((id) => db.doc(`${prefix}/${id}`));
      const first = await a.set({ v: 0 });
      const fresh = await a.update({ v: 1 });
      const bTime = (await b.set({ v: 0 })).writeTime;
      await c.set({ v: 0 });
      const writer = db.bulkWriter();
      const errors: unknown[] = [];
      writer.onWriteError((error) => {
        errors.push({ code: error.code, failedAttempts: error.failedAttempts, op: error.operationType, path: error.documentRef.path });
        return false;
      });
      const results = [
        writer.update(a, { v: "stale" }, { lastUpdateTime: first.writeTime }),
        writer.update(b, { v: "fresh", "x.y": FieldValue.increment(1) }, { lastUpdateTime: bTime }),
        writer.update(db.doc(`${prefix}/gone`), { v: 1 }, { lastUpdateTime: fresh.writeTime }),
        writer.update(db.doc(`${prefix}/gone2`), { v: 1 }),
        writer.create(c, { v: "again" }),
        writer.delete(c, { lastUpdateTime: bTime }),
        writer.set(db.doc(`${prefix}/d`), { v: "new" }),
      ].map(outcome);
      await writer.close();
      const outcomes = await Promise.all(results);
      const docs = await Promise.all(["a", "b", "c", "d", "gone", "gone2"].map(async (id) => (await db.doc(`${prefix}/${id}`).get()).data() ?? null));
      const order = (x: unknown) => JSON.stringify(x);
      return { outcomes, errors: errors.sort((x, y) => order(x).localeCompare(order(y))), docs };
    });
    expect(emulator.outcomes).toEqual([9, "ok", 9, 5, 6, 9, "ok"]);
    expect(emulator.docs).toEqual([{ v: 1 }, { v: "fresh", x: { y: 1 } }, { v: 0 }, { v: "new" }, null, null]);
    expect(model).toEqual(emulator);
  });

  test("queries: where <= timestamp, orderBy, limit and startAfter pagination with ties; implicit orders; type-bounded filters", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const base = Date.parse("2030-01-01T00:00:00Z");
      const at = (s: number) => Timestamp.fromMillis(base + s * 1000);
      const due: Record<string, unknown> = {
        d1: at(5), d2: at(1), d3: at(3), d4: at(3), d5: at(3), d6: at(1), d7: at(9), d8: at(2),
        n1: 2, s1: "2030", z1: null,
      };
      await Promise.all(Object.entries(due).map(([id, value]) => db.doc(`${prefix}/${id}`).set({ delivery: { due: value }, rank: id.length })));
      await db.doc(`${prefix}/none`).set({ other: 1 });
      const ids = (snapshot: { docs: Array<{ id: string }> }) => snapshot.docs.map((d) => d.id);
      const col = db.collection(prefix);
      const page = col.where("delivery.due", "<=", at(5)).orderBy("delivery.due").limit(2);
      const pages: string[][] = [];
      let snapshot = await page.get();
      pages.push(ids(snapshot));
      while (snapshot.size === 2) {
        snapshot = await page.startAfter(snapshot.docs[snapshot.docs.length - 1]).get();
        pages.push(ids(snapshot));
      }
      return {
        pages,
        desc: ids(await col.where("delivery.due", "<=", at(5)).orderBy("delivery.due", "desc").limit(4).get()),
        descPage: ids(await col.where("delivery.due", "<=", at(5)).orderBy("delivery.due", "desc").startAfter((await col.doc("d4").get())).get()),
        noOrder: ids(await col.where("delivery.due", ">", at(1)).get()),
        afterValue: ids(await col.orderBy("delivery.due").startAfter(at(3)).get()),
        allTypes: ids(await col.orderBy("delivery.due").get()),
        byPath: ids(await col.get()),
        equalNull: ids(await col.where("delivery.due", "==", null).get()),
        equalTime: ids(await col.where("delivery.due", "==", at(3)).get()),
        numbers: ids(await col.where("delivery.due", ">=", 0).get()),
        notEqual: ids(await col.where("delivery.due", "!=", at(3)).get()),
        twoOrders: ids(await col.orderBy("rank", "desc").orderBy("delivery.due").limit(5).get()),
      };
    });
    expect(emulator.pages).toEqual([["d2", "d6"], ["d8", "d3"], ["d4", "d5"], ["d1"]]);
    expect(emulator.desc).toEqual(["d1", "d5", "d4", "d3"]);
    expect(emulator.equalNull).toEqual(["z1"]);
    expect(model).toEqual(emulator);
  });

  test("collection group: every collection with that id at any depth, and nothing else", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const group = `${prefix}mail`;
      const paths = [
        `${prefix}users/u2/${group}/b`,
        `${prefix}users/u1/${group}/a`,
        `${group}/top`,
        `${prefix}tenants/t/users/u3/${group}/c`,
        `${prefix}users/u1/${group}/a/${group}/nested`,
        `${prefix}users/u1/${group}x/not`,
        `${prefix}users/u1/x${group}/not`,
        `${prefix}users/u1/other/${group}`,
      ];
      await Promise.all(paths.map((path, i) => db.doc(path).set({ n: i % 3, lease: Timestamp.fromMillis(1_000 * (i % 2)) })));
      const group_ = db.collectionGroup(group);
      const ids = (snapshot: { docs: Array<{ ref: { path: string } }> }) => snapshot.docs.map((d) => d.ref.path);
      return {
        all: ids(await group_.get()),
        ordered: ids(await group_.where("lease", "<=", Timestamp.fromMillis(1_000)).orderBy("lease").orderBy("n", "desc").get()),
        paged: ids(await group_.orderBy("n").startAfter((await db.doc(paths[0]).get())).limit(3).get()),
      };
    });
    expect(emulator.all).toHaveLength(5);
    expect(model).toEqual(emulator);
  });

  test("select, getAll with fieldMask, and snapshot get with dotted paths", async () => {
    const { emulator, model } = await both(async (db, prefix) => {
      const ref = db.doc(`${prefix}/doc`);
      await ref.set({ a: { b: 1, c: 2 }, d: 3, e: { f: { g: 4, h: 5 } }, email: "x@example.com" });
      await db.doc(`${prefix}/other`).set({ d: 9 });
      const selected = await db.collection(prefix).select("a.b", "d", "missing").get();
      const none = await db.collection(prefix).select().get();
      const [masked, absent, other] = await db.getAll(ref, db.doc(`${prefix}/absent`), db.doc(`${prefix}/other`), { fieldMask: ["e.f.g", "d"] });
      const [emptyMask] = await db.getAll(ref, { fieldMask: [] });
      const full = await ref.get();
      return {
        selected: selected.docs.map((d) => [d.id, d.data()]),
        none: none.docs.map((d) => [d.id, d.data()]),
        masked: [masked.exists, masked.data(), masked.get("e.f.h")],
        absent: [absent.exists, absent.data() ?? null, absent.id],
        other: other.data(),
        emptyMask: [emptyMask.exists, emptyMask.data()],
        gets: [full.get("a.b"), full.get("e.f"), full.get("a.x.y") ?? null, full.get("email")],
        copies: full.data() !== full.data() && (full.data()!.a as object) !== (full.data()!.a as object),
      };
    });
    expect(emulator.masked).toEqual([true, { d: 3, e: { f: { g: 4 } } }, undefined]);
    expect(emulator.gets).toEqual([1, { g: 4, h: 5 }, null, "x@example.com"]);
    expect(model).toEqual(emulator);
  });
});

describe("ModelFirestore alone", () => {
  const recordOf = ({ path, before, after }: CommitRecord) => ({ path, before: before?.data() ?? null, after: after?.data() ?? null });

  test("commit times strictly increase, by a microsecond when the clock stands still", async () => {
    let clock = 1_700_000_000_000;
    const db = new ModelFirestore({ now: () => clock });
    const times = [];
    for (let i = 0; i < 3; i++) times.push((await db.doc(`c/${i}`).set({ i })).writeTime);
    clock += 5;
    times.push((await db.doc("c/0").update({ i: 9 })).writeTime);
    expect(times.map((t) => [t.seconds, t.nanoseconds])).toEqual([
      [1_700_000_000, 0],
      [1_700_000_000, 1_000],
      [1_700_000_000, 2_000],
      [1_700_000_000, 5_000_000],
    ]);
    expect((await db.doc("c/1").get()).updateTime!.isEqual(times[1])).toBe(true);
    expect((await db.doc("c/0").get()).createTime!.isEqual(times[0])).toBe(true);
    // A server timestamp is the commit's millisecond.
    clock += 0.5;
    const written = await db.doc("c/0").update({ at: FieldValue.serverTimestamp() });
    expect(written.writeTime.nanoseconds).toBe(5_500_000);
    expect((db.peek("c/0").get("at") as Timestamp).nanoseconds).toBe(5_000_000);
  });

  test("onCommit reports each changed document once, with before and after, in commit order", async () => {
    const records: CommitRecord[] = [];
    const db = new ModelFirestore({ onCommit: (record) => records.push(record) });
    await db.doc("m/a").create({ v: 1 });
    await db.doc("m/a").update({ v: 2, "w.x": 1 });
    await db.doc("m/a").update({ v: 2 }); // changes nothing
    await db.doc("m/missing").delete(); // deletes nothing
    await db.batch().update(db.doc("m/a"), { v: 3 }).update(db.doc("m/a"), { v: 4 }).set(db.doc("m/b"), { n: 1 }).commit();
    await db.doc("m/a").delete();
    expect(records.map(recordOf)).toEqual([
      { path: "m/a", before: null, after: { v: 1 } },
      { path: "m/a", before: { v: 1 }, after: { v: 2, w: { x: 1 } } },
      { path: "m/a", before: { v: 2, w: { x: 1 } }, after: { v: 4, w: { x: 1 } } },
      { path: "m/b", before: null, after: { n: 1 } },
      { path: "m/a", before: { v: 4, w: { x: 1 } }, after: null },
    ]);
    expect(records[2].after!.updateTime!.isEqual(records[3].after!.updateTime!)).toBe(true);
    expect(records[1].after!.updateTime!.toMillis()).toBeGreaterThanOrEqual(records[1].before!.updateTime!.toMillis());
  });

  test("a commit whose answer was lost and that the client retried: the write stays applied, the caller sees FAILED_PRECONDITION", async () => {
    const ops: RpcDescription[] = [];
    const replayConditional: ModelIo = {
      call: async (op, run) => {
        ops.push(op);
        if (op.kind === "commit" && op.conditional) run();
        return run();
      },
    };
    const records: CommitRecord[] = [];
    const db = new ModelFirestore({ io: replayConditional, onCommit: (r) => records.push(r) });
    const { writeTime } = await db.doc("r/a").set({ state: "PENDING" });
    const failure = await caught(Error, db.doc("r/a").update({ state: "PROCESSING", n: FieldValue.increment(1) }, { lastUpdateTime: writeTime }));
    expect(statusOf(failure)).toBe(9);
    expect(failure.message).toMatch(/^9 FAILED_PRECONDITION: /);
    expect(isTransientStatus(failure)).toBe(false);
    expect(db.peek("r/a").data()).toEqual({ state: "PROCESSING", n: 1 });
    expect(records).toHaveLength(2);
    expect(ops.map((o) => [o.kind, o.conditional])).toEqual([["commit", false], ["commit", true]]);

    // The store recognises its own write by its mark and reports it as landed.
    const store = new MailStore(db as unknown as Firestore);
    const version = db.peek("r/a").updateTime!;
    const landed = await store.updateIf("r/a", { state: "SUCCESS" }, version, (data) => data.state === "SUCCESS");
    expect(landed?.isEqual(db.peek("r/a").updateTime!)).toBe(true);
    // Without a mark, the same outcome counts as lost.
    const lost = await store.updateIf("r/a", { state: "ERROR" }, db.peek("r/a").updateTime!);
    expect(lost).toBeNull();
    expect(db.peek("r/a").get("state")).toBe("ERROR");
  });

  test("transactions re-run on a retryable failure, not on others, and validate their reads at commit", async () => {
    let failNextCommit = true;
    const io: ModelIo = {
      call: async (op, run) => {
        if (op.kind === "txCommit" && failNextCommit) {
          failNextCommit = false;
          throw statusError(10, "Transaction lock timeout.");
        }
        return run();
      },
    };
    const db = new ModelFirestore({ io });
    await db.doc("t/a").set({ n: 0 });
    let runs = 0;
    await db.runTransaction(async (tx) => {
      runs++;
      const snapshot = await tx.get(db.doc("t/a"));
      tx.update(db.doc("t/a"), { n: (snapshot.get("n") as number) + 1 });
    });
    expect([runs, db.peek("t/a").get("n")]).toEqual([2, 1]);

    runs = 0;
    const refused = db.runTransaction(async () => {
      runs++;
      throw statusError(9, "not retryable");
    });
    await expect(refused).rejects.toMatchObject({ code: 9 });
    expect(runs).toBe(1);

    // A document read as missing that exists by commit time aborts the commit; maxAttempts bounds the re-runs.
    runs = 0;
    const racing = db.runTransaction(
      async (tx) => {
        runs++;
        const snapshot = await tx.get(db.doc("t/new"));
        await db.doc("t/new").set({ by: "other", run: runs });
        if (!snapshot.exists) tx.create(db.doc("t/new"), { by: "transaction" });
      },
      { maxAttempts: 3 },
    );
    await expect(racing).rejects.toMatchObject({ code: 10 });
    expect(runs).toBe(3);
    expect(db.peek("t/new").data()).toEqual({ by: "other", run: 3 });
    await expect(db.doc("t/a").update({ list: FieldValue.arrayUnion(1) })).rejects.toThrow(/not modelled/);
  });

  test("bulkWriter retries what onWriteError accepts, counting failed attempts", async () => {
    let failures = 2;
    const db = new ModelFirestore({
      io: {
        call: async (op, run) => {
          if (op.kind === "bulkWrite" && failures-- > 0) throw statusError(14, "connection reset");
          return run();
        },
      },
    });
    const { writeTime } = await db.doc("b/a").set({ v: 0 });
    const store = new MailStore(db as unknown as Firestore);
    const seen: number[] = [];
    const writer = db.bulkWriter();
    writer.onWriteError((error) => {
      seen.push(error.failedAttempts);
      return error.code === 14;
    });
    const result = writer.update(db.doc("b/a"), { v: 1 }, { lastUpdateTime: writeTime });
    await writer.close();
    expect((await result).writeTime.toMillis()).toBeGreaterThanOrEqual(writeTime.toMillis());
    expect(seen).toEqual([1, 2]);

    const version = db.peek("b/a").updateTime!;
    const results = await store.updateManyIf([
      { path: "b/a", patch: { v: 2 }, updateTime: version },
      { path: "b/a", patch: { v: 3 }, updateTime: version },
    ]);
    expect(results.map((r) => r !== null)).toEqual([true, false]);
    expect(db.peek("b/a").get("v")).toBe(2);
  });

  test("reads as firebase-admin does: project id, references, query snapshots", async () => {
    const db = new ModelFirestore({ projectId: "demo-sim" });
    expect(projectIdOf(db as unknown as Firestore)).toBe("demo-sim");
    const ref = db.collection("users/u1/mail").doc("m1");
    expect([ref.path, ref.id, ref.parent.path, ref.parent.id, ref.parent.parent?.path]).toEqual(["users/u1/mail/m1", "m1", "users/u1/mail", "mail", "users/u1"]);
    expect(ref.isEqual(db.doc("users/u1/mail/m1"))).toBe(true);
    const missing = await ref.get();
    expect([missing.exists, missing.data(), missing.updateTime, missing.readTime instanceof Timestamp]).toEqual([false, undefined, undefined, true]);
    await ref.set({ when: new Date(0), at: Timestamp.fromMillis(5) });
    const snapshot = await db.collectionGroup("mail").get();
    expect([snapshot.size, snapshot.empty, snapshot.docs[0].get("when") instanceof Timestamp]).toEqual([1, false, true]);
    const seen: string[] = [];
    snapshot.forEach((d) => seen.push(d.ref.path));
    expect(seen).toEqual(["users/u1/mail/m1"]);
    await expect(ref.set({ x: undefined })).rejects.toThrow(/undefined/);
    await expect(ref.update({ a: 1, "a.b": 2 })).rejects.toThrow(/specified multiple times/);
  });
});
