/**
 * The store seam under Firestore faults, with a document double that can
 * apply a write and then fail the call (the answer lost), fail without
 * applying, or fail its precondition as a retried call does.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { claimMark, newAttemptId } from "../../../src/delivery/marks";
import { claimPatch } from "../../../src/delivery/patches";
import { MailStore, type StoreTiming } from "../../../src/delivery/store";
import { WRITE_RETRY_BUDGET_MS as RETRY_BUDGET_MS } from "../../../src/shared/budget";

const NOW = Date.UTC(2026, 0, 31, 9, 30, 0);
const V1 = Timestamp.fromMillis(NOW - 5000);

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const ABORTED = 10;
const FAILED_PRECONDITION = 9;
const PERMISSION_DENIED = 7;

type Fault = { code: number; applies: boolean; takesMs?: number };

/** One document in memory: conditional updates of dotted `delivery.*` fields, and reads. */
class FakeDocument {
  data: Record<string, unknown> = { delivery: { state: "PENDING", attempts: 0 } };
  updateTime = V1;
  faults: Fault[] = [];
  calls = 0;
  reads = 0;
  private version = 0;

  constructor(private readonly clock: { ms: number }) {}

  async update(patch: Record<string, unknown>, precondition: { lastUpdateTime: Timestamp }) {
    this.calls++;
    const fault = this.faults.shift();
    this.clock.ms += fault?.takesMs ?? 5;
    if (!precondition.lastUpdateTime.isEqual(this.updateTime)) throw withCode(FAILED_PRECONDITION);
    if (fault && !fault.applies) throw withCode(fault.code);
    this.apply(patch);
    if (fault) throw withCode(fault.code);
    return { writeTime: this.updateTime };
  }

  async get() {
    this.reads++;
    return { exists: true, updateTime: this.updateTime, data: () => this.data };
  }

  /** Another writer's change. */
  apply(patch: Record<string, unknown>) {
    const delivery = { ...(this.data.delivery as Record<string, unknown>) };
    for (const [key, value] of Object.entries(patch)) delivery[key.replace(/^delivery\./, "")] = value;
    this.data = { ...this.data, delivery };
    this.updateTime = Timestamp.fromMillis(NOW + ++this.version);
  }
}

function withCode(code: number): Error {
  return Object.assign(new Error(`${code} fault`), { code });
}

function setUp() {
  const clock = { ms: NOW };
  const doc = new FakeDocument(clock);
  const db = { doc: () => doc } as unknown as Firestore;
  const sleeps: number[] = [];
  const timing: StoreTiming = {
    now: () => clock.ms,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.ms += ms;
    },
    random: () => 1,
  };
  return { doc, store: new MailStore(db, timing), sleeps, clock };
}

const claim = claimPatch(NOW, "attempt-a");
const mark = claimMark("attempt-a");

describe("MailStore.updateIf under Firestore faults", () => {
  test("the happy path writes once and reads nothing", async () => {
    const { doc, store } = setUp();
    expect(await store.updateIf("mail/m", claim.patch, V1, mark)).toEqual(doc.updateTime);
    expect(doc.reads).toBe(0);
    expect(store.counts).toMatchObject({ writes: 1, lostWrites: 0, reads: 0 });
  });

  test("a failed precondition that another writer caused is a real loss: one read finds another mark, no retry", async () => {
    const { doc, store } = setUp();
    doc.apply({ "delivery.state": "PROCESSING", "delivery.leaseExpireTime": Timestamp.fromMillis(NOW + 1) });
    expect(await store.updateIf("mail/m", claim.patch, V1, mark)).toBeNull();
    expect(doc.calls).toBe(1);
    expect(doc.reads).toBe(1);
    expect(store.counts).toMatchObject({ writes: 1, lostWrites: 1, reads: 1 });
  });

  test("without a mark, a failed precondition is final and costs no read", async () => {
    const { doc, store } = setUp();
    doc.apply({ "delivery.state": "PROCESSING", "delivery.leaseExpireTime": Timestamp.fromMillis(NOW + 1) });
    expect(await store.updateIf("mail/m", claim.patch, V1)).toBeNull();
    expect(doc.calls).toBe(1);
    expect(doc.reads).toBe(0);
  });

  test.each([
    ["UNAVAILABLE", UNAVAILABLE],
    ["DEADLINE_EXCEEDED", DEADLINE_EXCEEDED],
  ])("a write that applied and then reported %s is recognised by its mark, not retried", async (_name, code) => {
    const { doc, store } = setUp();
    doc.faults = [{ code, applies: true }];
    const written = await store.updateIf("mail/m", claim.patch, V1, mark);
    expect(written).toEqual(doc.updateTime);
    expect(doc.data.delivery).toMatchObject({ state: "PROCESSING", leaseExpireTime: claim.lease });
    expect(doc.calls).toBe(1);
    expect(doc.reads).toBe(1);
    expect(store.counts).toMatchObject({ writes: 1, lostWrites: 0, reads: 1 });
  });

  test.each([
    ["UNAVAILABLE", UNAVAILABLE],
    ["DEADLINE_EXCEEDED", DEADLINE_EXCEEDED],
    ["RESOURCE_EXHAUSTED", RESOURCE_EXHAUSTED],
    ["ABORTED", ABORTED],
  ])("a write rejected with %s is retried with backoff until it lands", async (_name, code) => {
    const { doc, store, sleeps } = setUp();
    doc.faults = [
      { code, applies: false },
      { code, applies: false },
    ];
    const written = await store.updateIf("mail/m", claim.patch, V1, mark);
    expect(written).toEqual(doc.updateTime);
    expect(doc.data.delivery).toMatchObject({ state: "PROCESSING" });
    expect(doc.calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBeGreaterThan(sleeps[0]);
  });

  test.each([
    ["an unavailable answer", UNAVAILABLE],
    ["a failed precondition (the client library's hidden retry)", FAILED_PRECONDITION],
  ])("after %s, a read-back that fails is read again, never taken as a loss", async (_, code) => {
    const { doc, store } = setUp();
    if (code === FAILED_PRECONDITION) doc.apply(claim.patch);
    doc.faults = [{ code, applies: code !== FAILED_PRECONDITION }];
    const get = doc.get.bind(doc);
    let failReads = 2;
    doc.get = async () => {
      if (failReads-- > 0) {
        doc.reads++;
        throw withCode(UNAVAILABLE);
      }
      return get();
    };
    const written = await store.updateIf("mail/m", claim.patch, V1, mark);
    expect(written).toEqual(doc.updateTime);
    expect(doc.calls).toBe(1);
    expect(doc.reads).toBe(3);
  });

  test("without a mark, a write whose answer was lost counts as lost (PROCESSING is then left to lease recovery)", async () => {
    const { doc, store } = setUp();
    doc.faults = [{ code: UNAVAILABLE, applies: true }];
    expect(await store.updateIf("mail/m", claim.patch, V1)).toBeNull();
    expect(doc.calls).toBe(2);
    expect(doc.reads).toBe(0);
  });

  test("a failed precondition that hides a client-library retry, however quick, is checked against the mark", async () => {
    const { doc, store } = setUp();
    // The library's own retry: the first call applied, the second (hidden) one failed its precondition.
    doc.apply(claim.patch);
    doc.faults = [{ code: FAILED_PRECONDITION, applies: false, }];
    const written = await store.updateIf("mail/m", claim.patch, V1, mark);
    expect(written).toEqual(doc.updateTime);
    expect(doc.reads).toBe(1);
  });

  test("a failed precondition that another writer caused stays a loss", async () => {
    const { doc, store } = setUp();
    const other = claimPatch(NOW, "attempt-b");
    doc.apply(other.patch);
    doc.faults = [{ code: FAILED_PRECONDITION, applies: false, }];
    expect(await store.updateIf("mail/m", claim.patch, V1, mark)).toBeNull();
    expect(doc.reads).toBe(1);
    expect(doc.data.delivery).toMatchObject({ attemptId: "attempt-b" });
  });

  test("two claims in the same millisecond carry different attempt ids, so one never mistakes the other's for its own", () => {
    const a = newAttemptId();
    const b = newAttemptId();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64url")).toHaveLength(16);
    const sameMillisecond = claimPatch(NOW, b);
    expect(claimMark(a)({ delivery: { state: "PROCESSING", ...Object.fromEntries(Object.entries(sameMillisecond.patch).map(([k, v]) => [k.slice(9), v])) } })).toBe(false);
  });

  test("an outage longer than the retry budget ends with the error, inside the lease", async () => {
    const { doc, store, clock } = setUp();
    doc.faults = Array.from({ length: 100 }, () => ({ code: UNAVAILABLE, applies: false }));
    await expect(store.updateIf("mail/m", claim.patch, V1, mark)).rejects.toMatchObject({ code: UNAVAILABLE });
    expect(clock.ms - NOW).toBeLessThanOrEqual(RETRY_BUDGET_MS);
    expect(doc.data.delivery).toMatchObject({ state: "PENDING" });
  });

  test("a permanent error is not retried", async () => {
    const { doc, store } = setUp();
    doc.faults = [{ code: PERMISSION_DENIED, applies: false }];
    await expect(store.updateIf("mail/m", claim.patch, V1, mark)).rejects.toMatchObject({ code: PERMISSION_DENIED });
    expect(doc.calls).toBe(1);
  });

  test("a transient failure after which another writer changed the document is a loss, not retried", async () => {
    const { doc, store } = setUp();
    doc.faults = [{ code: DEADLINE_EXCEEDED, applies: false }];
    const update = doc.update.bind(doc);
    doc.update = async (patch, precondition) => {
      try {
        return await update(patch, precondition);
      } finally {
        doc.apply({ "delivery.state": "RETRY" });
      }
    };
    expect(await store.updateIf("mail/m", claim.patch, V1, mark)).toBeNull();
    expect(doc.calls).toBe(1);
    expect(doc.data.delivery).toMatchObject({ state: "RETRY" });
  });
});
