/**
 * SendGrid's signed Event Webhook against the Firestore emulator: what each
 * event type records on the mail document, duplicates and reordering, opens
 * and clicks only when enabled, the opt-in history, suppression, events for
 * mail this extension did not send, and a 1,000-event batch.
 */
import { Timestamp } from "firebase-admin/firestore";
import * as logs from "../../../src/shared/logs";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { SUPPRESSED, webhookEnv } from "../../helpers/webhook-env";
import { sendGridHeaders, tracked } from "../../helpers/webhook-signing";

describeWithEmulator("SendGrid event webhook", () => {
  const env = webhookEnv("demo-webhook-sendgrid");
  let n = 0;

  /** A sent mail; events are applied only for the addresses it lists. */
  async function sentMail(to: string[] = ["ada@example.com"]): Promise<string> {
    const path = `mail/sg${++n}`;
    await env.db.doc(path).set({ to, delivery: { state: "SUCCESS", attempts: 1 } });
    return path;
  }

  const base = Math.floor(Date.now() / 1000) - 60;
  function event(path: string | undefined, type: string, extra: Record<string, unknown> = {}) {
    return {
      email: "Ada@Example.com",
      timestamp: base,
      event: type,
      sg_event_id: `ev-${++n}`,
      sg_message_id: "msg.filter0001",
      ...(path && tracked(path, "sendgrid")),
      ...extra,
    };
  }

  async function post(events: unknown[]) {
    const body = JSON.stringify(events);
    const response = await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body));
    return { status: response.status, json: response.status === 200 ? await response.json() : await response.text() };
  }

  const recipient = async (path: string) => (await env.db.doc(path).get()).get("deliveryStatus.recipients")?.["ada@example.com"];

  test("each delivery event type records its status for the recipient, beside an untouched delivery", async () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ["delivered", {}, { status: "delivered" }],
      ["deferred", { response: "451 4.7.1 Try later" }, { status: "deferred", reason: "451 4.7.1 Try later" }],
      ["bounce", { type: "bounce", reason: "550 5.1.1 No such user", status: "5.1.1" }, { status: "bounced", bounceType: "hard", reason: "550 5.1.1 No such user", code: "5.1.1" }],
      ["bounce", { type: "blocked", reason: "554 blocked by policy" }, { status: "bounced", bounceType: "soft" }],
      ["dropped", { reason: "Bounced Address" }, { status: "bounced", bounceType: "soft", reason: "Dropped by SendGrid: Bounced Address" }],
      ["spamreport", {}, { status: "complained" }],
      ["unsubscribe", {}, { status: "unsubscribed" }],
      ["group_unsubscribe", { asm_group_id: 1 }, { status: "unsubscribed" }],
    ];
    for (const [type, extra, expected] of cases) {
      const path = await sentMail();
      const sent = event(path, type, extra);
      const { status } = await post([sent]);
      expect(status).toBe(200);
      const entry = await recipient(path);
      expect(entry).toMatchObject({ ...expected, source: "sendgrid", eventId: sent.sg_event_id });
      expect((entry.time as Timestamp).toMillis()).toBe(base * 1000);
      expect((await env.db.doc(path).get()).get("delivery")).toEqual({ state: "SUCCESS", attempts: 1 });
    }
  });

  test("a hard bounce, a complaint and an unsubscribe suppress the address; a soft bounce does not", async () => {
    const hard = await sentMail(["gone@example.com"]);
    await post([event(hard, "bounce", { type: "bounce", reason: "550 No such user", email: "gone@example.com" })]);
    const suppression = await env.db.doc(`${SUPPRESSED}/gone@example.com`).get();
    expect(suppression.data()).toMatchObject({ address: "gone@example.com", reason: "bounced", mail: hard, source: "sendgrid", detail: "550 No such user" });
    expect((suppression.get("time") as Timestamp).toMillis()).toBe(base * 1000);

    const soft = await sentMail(["busy@example.com"]);
    await post([event(soft, "bounce", { type: "blocked", email: "busy@example.com" })]);
    expect((await env.db.doc(`${SUPPRESSED}/busy@example.com`).get()).exists).toBe(false);

    const other = await sentMail(["angry@example.com", "bye@example.com"]);
    await post([event(other, "spamreport", { email: "angry@example.com" }), event(other, "unsubscribe", { email: "bye@example.com" })]);
    expect((await env.db.doc(`${SUPPRESSED}/angry@example.com`).get()).get("reason")).toBe("complained");
    expect((await env.db.doc(`${SUPPRESSED}/bye@example.com`).get()).get("reason")).toBe("unsubscribed");
  });

  test("a batch delivered twice counts once: the second answer reports duplicates and writes nothing", async () => {
    const path = await sentMail();
    const batch = [event(path, "deferred"), event(path, "delivered", { timestamp: base + 5 })];
    expect((await post(batch)).json).toEqual({ recorded: 2, duplicates: 0, ignored: 0 });
    const first = await env.db.doc(path).get();
    expect((await post(batch)).json).toEqual({ recorded: 0, duplicates: 2, ignored: 0 });
    const second = await env.db.doc(path).get();
    expect(second.updateTime!.isEqual(first.updateTime!)).toBe(true);
    expect(second.get("deliveryStatus.recipients")["ada@example.com"].recentEventIds).toEqual(batch.map((e) => e.sg_event_id));
  });

  test("out of order: a late deferred never overrides delivered, and delivered never overrides bounced", async () => {
    const path = await sentMail();
    await post([event(path, "delivered", { timestamp: base + 10 })]);
    await post([event(path, "deferred", { timestamp: base })]);
    expect(await recipient(path)).toMatchObject({ status: "delivered" });

    const bounced = await sentMail();
    await post([event(bounced, "bounce", { type: "bounce", timestamp: base + 20 })]);
    await post([event(bounced, "delivered", { timestamp: base + 5 }), event(bounced, "deferred", { timestamp: base + 1 })]);
    const entry = await recipient(bounced);
    expect(entry).toMatchObject({ status: "bounced", bounceType: "hard" });
    expect(entry.recentEventIds).toHaveLength(3);
  });

  test("concurrent requests for one mail lose no event: a write that lost its precondition is merged again", async () => {
    const path = await sentMail(Array.from({ length: 6 }, (_, i) => `r${i}@example.com`));
    const requests = Array.from({ length: 6 }, (_, i) => [event(path, "deferred", { email: `r${i}@example.com`, timestamp: base + i })]);
    const answers = await Promise.all(requests.map((batch) => post(batch)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    const recipients = (await env.db.doc(path).get()).get("deliveryStatus.recipients");
    expect(Object.keys(recipients).sort()).toEqual(requests.map((_, i) => `r${i}@example.com`));
  });

  test("opens and clicks are acknowledged and dropped unless TRACK_OPENS_AND_CLICKS is on", async () => {
    const path = await sentMail();
    await post([event(path, "delivered")]);
    expect((await post([event(path, "open", { timestamp: base + 1 }), event(path, "click", { timestamp: base + 2 })])).json).toEqual({
      recorded: 0,
      duplicates: 0,
      ignored: 2,
    });
    expect(await recipient(path)).toMatchObject({ status: "delivered" });

    env.configure({ trackOpensAndClicks: true });
    await post([event(path, "open", { timestamp: base + 1 })]);
    expect(await recipient(path)).toMatchObject({ status: "opened" });
    await post([event(path, "click", { timestamp: base + 2, url: "https://example.com" })]);
    expect(await recipient(path)).toMatchObject({ status: "clicked" });
  });

  test("EVENT_HISTORY keeps every event, each once, in the mail's deliveryEvents subcollection", async () => {
    env.configure({ eventHistory: true });
    const path = await sentMail();
    const batch = [event(path, "deferred", { response: "try later" }), event(path, "delivered", { timestamp: base + 3 })];
    await post(batch);
    await post(batch);
    const history = await env.db.collection(`${path}/deliveryEvents`).orderBy("time").get();
    expect(history.docs.map((doc) => doc.get("status"))).toEqual(["deferred", "delivered"]);
    expect(history.docs[0].data()).toMatchObject({ source: "sendgrid", eventId: batch[0].sg_event_id, recipient: "ada@example.com", reason: "try later" });

    env.configure({ eventHistory: false });
    const quiet = await sentMail();
    await post([event(quiet, "delivered")]);
    expect((await env.db.collection(`${quiet}/deliveryEvents`).get()).size).toBe(0);
  });

  test("events for mail not sent by this extension are acknowledged (200) and write nothing", async () => {
    const { status, json } = await post([
      event(undefined, "delivered"),
      event("users/u1", "bounce", { type: "bounce" }),
      event("mail/never-existed", "delivered"),
      event(undefined, "processed"),
      { event: "delivered" },
      "not an event",
    ]);
    expect(status).toBe(200);
    expect(json).toEqual({ recorded: 0, duplicates: 0, ignored: 6 });
    expect((await env.db.doc("mail/never-existed").get()).exists).toBe(false);
    expect((await env.db.doc("users/u1").get()).exists).toBe(false);
  });

  test("a malformed body is answered 400", async () => {
    const body = JSON.stringify({ event: "delivered" });
    const response = await env.server.post("/sendgrid", body, sendGridHeaders(env.keys, body));
    expect(response.status).toBe(400);
    const notJson = "[{";
    expect((await env.server.post("/sendgrid", notJson, sendGridHeaders(env.keys, notJson))).status).toBe(400);
  });

  test("a 1,000-event batch over 250 mails is recorded well within the function's timeout", async () => {
    const paths = Array.from({ length: 250 }, () => `mail/batch${++n}`);
    const writer = env.db.bulkWriter();
    const to = [0, 1, 2, 3].flatMap((r) => [0, 1, 2, 3].map((k) => `r${r}-${k}@example.com`));
    for (const path of paths) void writer.set(env.db.doc(path), { to, delivery: { state: "SUCCESS" } });
    await writer.close();
    const events = paths.flatMap((path, i) =>
      ["processed", "deferred", "delivered", i % 10 === 0 ? "bounce" : "delivered"].map((type, k) =>
        event(path, type, { email: `r${i % 4}-${k}@example.com`, type: "bounce", timestamp: base + k }),
      ),
    );
    expect(events).toHaveLength(1000);
    const recorded = jest.spyOn(logs, "webhookRecorded");
    const started = Date.now();
    const { status, json } = await post(events);
    const elapsedMs = Date.now() - started;
    expect(status).toBe(200);
    expect(json).toEqual({ recorded: 750, duplicates: 0, ignored: 250 });
    expect(elapsedMs).toBeLessThan(30_000);
    const sample = await env.db.doc(paths[10]).get();
    expect(Object.keys(sample.get("deliveryStatus.recipients")).sort()).toEqual(["r2-1@example.com", "r2-2@example.com", "r2-3@example.com"]);
    // Every tenth mail bounced for r0-3 or r2-3: two addresses suppressed, each once.
    expect((await env.db.collection(SUPPRESSED).get()).docs.map((doc) => doc.id).sort()).toEqual(["r0-3@example.com", "r2-3@example.com"]);
    // The cost BENCHMARKS.md reports: one write per mail document touched (250), plus one per
    // suppressing event (25 hard bounces, each rewriting its address's document).
    expect(recorded).toHaveBeenCalledWith("sendgrid", expect.objectContaining({ received: 750, recorded: 750, writes: 275 }));
    recorded.mockRestore();
  });
});
