/**
 * A claim that lands long after it was requested. Through a Firestore outage
 * the client library retries a commit by itself, inside one call, for
 * minutes (the fault tier's outages saw claims land 21–53 s late after a
 * 20 s outage); the lease on the document still counts from the request.
 * Counted that way, the attempt refused its own send as too late and its
 * echo expired it: the mail ended in ERROR without ever being sent. The
 * lease now runs at least LEASE_MS from the claim's landing, for the
 * attempt and for observers alike (shared/budget.ts, leaseEnd).
 */
import { Timestamp } from "firebase-admin/firestore";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { LEASE_GRACE_MS, LEASE_MS } from "../../src/shared/budget";
import type { Mark } from "../../src/delivery/store";
import type { Patch } from "../../src/delivery/patches";
import { MailStore } from "../../src/delivery/store";
import type { MailWriteEvent } from "../../src/handlers/process-queue";
import { runMaintenance } from "../helpers/extension-env";
import { handleMailWrite } from "../../src/handlers/process-queue";
import type { Runtime } from "../../src/delivery/runtime";
import { testRuntime } from "../helpers/extension-env";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";
import { Trigger, type MailFunction } from "../helpers/trigger";

const PROJECT = "demo-late-claim";
/** How long before it landed the claim was requested: past its lease and the grace. */
const LATE_MS = LEASE_MS + LEASE_GRACE_MS + 10_000;

/**
 * Makes every claim look requested LATE_MS before it landed: the attempt's
 * clock runs LATE_MS behind from the moment its PENDING write lands until it
 * hands the claim to Firestore (so the claim's lease, and the attempt's own
 * idea of it, count from then), and is right again when the claim lands.
 */
class LateClaims extends MailStore {
  private clock: jest.SpyInstance | undefined;

  override async updateIf(path: string, patch: Patch, updateTime: Timestamp, mark?: Mark, budgetMs?: number): Promise<Timestamp | null> {
    if (patch["delivery.state"] === "PROCESSING") {
      this.clock?.mockRestore();
      this.clock = undefined;
    }
    const written = await super.updateIf(path, patch, updateTime, mark, budgetMs);
    const pending = (patch.delivery as { state?: unknown } | undefined)?.state === "PENDING";
    if (pending && written) {
      const realNow = Date.now.bind(Date);
      this.clock = jest.spyOn(Date, "now").mockImplementation(() => realNow() - LATE_MS);
    }
    return written;
  }
}

describeWithEmulator("a claim that lands long after it was requested", () => {
  const h = mailHarness(PROJECT);
  let late: LateClaims | undefined;
  const runtime: Runtime = {
    ...testRuntime,
    store: (database) => (late ??= new LateClaims(testRuntime.store(database).db)),
  };
  const trigger = () => new Trigger(h.db, { run: (event: MailWriteEvent) => handleMailWrite(event, runtime) } as unknown as MailFunction);

  test("is still sent, once, and its echo does not call it expired", async () => {
    await h.useSink();
    const path = h.nextPath();
    const snap = await trigger().create(path, { to: "a@example.com", message: { subject: "late", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1, error: null });
    expect(h.sink.messages).toHaveLength(1);
  });

  test("an attempt that then died is ended by the sweep a lease and its grace after the claim landed", async () => {
    await h.useSink();
    const path = h.nextPath();
    // The claim landed late; then the instance died before sending (nothing delivers the claim's echo but the test).
    await h.db.doc(path).set({ to: "a@example.com", message: { subject: "s", text: "t" } });
    const landed = Date.now();
    await h.db.doc(path).update({
      "delivery.state": "PROCESSING",
      "delivery.attempts": 0,
      "delivery.attemptId": "dead-attempt",
      "delivery.startTime": Timestamp.fromMillis(landed - LATE_MS),
      "delivery.leaseExpireTime": Timestamp.fromMillis(landed - LATE_MS + LEASE_MS),
    });
    const landedAt = (await h.db.doc(path).get()).updateTime!.toMillis();
    expect((await runMaintenance(landedAt + LEASE_MS + LEASE_GRACE_MS - 1000)).expired).toBe(0);
    expect((await runMaintenance(landedAt + LEASE_MS + LEASE_GRACE_MS + 1000)).expired).toBe(1);
    expect((await h.db.doc(path).get()).get("delivery")).toMatchObject({ state: "ERROR", error: LEASE_EXPIRED_ERROR, attempts: 1 });
    expect(h.sink.messages).toHaveLength(0);
  });
});
