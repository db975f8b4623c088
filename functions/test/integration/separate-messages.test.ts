/**
 * One message per recipient (`separateMessages`) against the Firestore
 * emulator and a real SMTP server: each address gets exactly one message with
 * its own data, a temporary failure is retried for the recipients that had it
 * only, a permanent one is recorded and not retried, and a crash mid-batch
 * leaves the recipients whose messages may have gone out UNKNOWN, never sent again.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { DocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import { LEASE_EXPIRED_ERROR } from "../../src/delivery/delivery-field";
import { LEASE_GRACE_MS, leaseEnd } from "../../src/shared/budget";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { runMaintenance } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import type { ReceivedMail } from "../helpers/smtp-sink";
import { SUPPRESSED, UNSUBSCRIBE_KEY } from "../helpers/webhook-env";
import { unsubscribeHeaders } from "../../src/unsubscribe/unsubscribe-headers";

const PROJECT = "demo-separate-messages";

describeWithEmulator("one message per recipient", () => {
  const h = mailHarness(PROJECT);
  const { useSink, nextPath } = h;

  /** How many messages each address received, and each one's text. */
  function byAddress(messages: ReceivedMail[]): Map<string, string[]> {
    const found = new Map<string, string[]>();
    for (const mail of messages) {
      expect(mail.envelope.rcptTo).toHaveLength(1);
      const address = mail.envelope.rcptTo[0];
      found.set(address, [...(found.get(address) ?? []), String(mail.parsed.text).trim()]);
    }
    return found;
  }

  async function sweepWhenDue(path: string, snap: DocumentSnapshot): Promise<DocumentSnapshot> {
    const due = (snap.get("delivery.nextAttemptTime") as Timestamp).toMillis();
    const wait = due - Date.now();
    if (wait > 10_000) throw new Error(`the test waits at most 10 s, not ${wait} ms`);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const before = await h.db.doc(path).get();
    await runMaintenance(Date.now());
    return h.trigger.settle(path, before);
  }

  test("50 recipients, 5 refused temporarily: the 45 get one message each, the 5 one each after the retry, each with its own data", async () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `r${i}@example.com`);
    const busy = addresses.filter((_, i) => i % 10 === 3);
    const sink = await useSink({ rejectRecipients: Object.fromEntries(busy.map((a) => [a, 451])) }, { MAX_ATTEMPTS: "2", RETRY_BACKOFF_SECONDS: "1", TEMPLATES_COLLECTION: "templates" });
    await h.db.doc("templates/code").set({ subject: "Your code, {{name}}", text: "Hello {{name}}, your code is {{code}} ({{campaign}})." });
    const recipientData = Object.fromEntries(addresses.map((a, i) => [a.toUpperCase(), { name: `Reader ${i}`, code: `C-${i}` }]));
    const path = nextPath();

    let snap = await h.trigger.create(path, { to: addresses, separateMessages: true, template: { name: "code", data: { campaign: "spring", name: "nobody" } }, recipientData });
    expect(snap.get("delivery")).toMatchObject({ state: "PENDING", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain("Not finished: 5 of 50 recipients failed temporarily");
    const first = snap.get("delivery.recipients");
    expect(Object.keys(first).sort()).toEqual([...addresses].sort());
    for (const address of addresses) {
      expect(first[address]).toMatchObject(busy.includes(address) ? { state: "PENDING", attempts: 1 } : { state: "SUCCESS", attempts: 1 });
    }
    expect(first[busy[0]].error).toContain("451");
    expect(sink.messages).toHaveLength(45);

    sink.setRejectRecipients({});
    snap = await sweepWhenDue(path, snap);
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2, error: null });
    expect(snap.get("delivery.info.accepted")).toHaveLength(50);
    expect(snap.get("delivery.info.rejected")).toEqual([]);
    for (const address of busy) expect(snap.get("delivery.recipients")[address]).toMatchObject({ state: "SUCCESS", attempts: 2 });

    const received = byAddress(sink.messages);
    expect([...received.keys()].sort()).toEqual([...addresses].sort());
    addresses.forEach((address, i) => {
      expect(received.get(address)).toEqual([`Hello Reader ${i}, your code is C-${i} (spring).`]);
    });
    expect(sink.messages.find((m) => m.envelope.rcptTo[0] === "r7@example.com")?.parsed.subject).toBe("Your code, Reader 7");
    // Each message carries its own Message-ID, recorded beside its recipient.
    const ids = new Set(sink.messages.map((m) => m.parsed.messageId));
    expect(ids.size).toBe(50);
    expect(ids.has(snap.get("delivery.recipients")["r7@example.com"].messageId)).toBe(true);
  });

  test("a permanent refusal is recorded for that recipient and not retried; a person's RETRY sends to it alone", async () => {
    const sink = await useSink({ rejectRecipients: { "gone@example.com": 550 } }, { MAX_ATTEMPTS: "3", RETRY_BACKOFF_SECONDS: "1" });
    const path = nextPath();
    let snap = await h.trigger.create(path, { to: ["a@example.com", "gone@example.com", "b@example.com"], separateMessages: true, message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1, error: null });
    expect(snap.get("delivery.info")).toMatchObject({ accepted: ["a@example.com", "b@example.com"], rejected: ["gone@example.com"] });
    expect(snap.get("delivery.recipients")["gone@example.com"]).toMatchObject({ state: "ERROR", attempts: 1 });
    expect(snap.get("delivery.recipients")["gone@example.com"].error).toContain("550");
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(sink.messages.map((m) => m.envelope.rcptTo[0]).sort()).toEqual(["a@example.com", "b@example.com"]);

    // The mailbox exists now: RETRY sends to it, never again to the two that have theirs.
    sink.setRejectRecipients({});
    snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2 });
    expect(snap.get("delivery.recipients")["gone@example.com"]).toMatchObject({ state: "SUCCESS", attempts: 2 });
    expect(sink.messages.map((m) => m.envelope.rcptTo[0]).sort()).toEqual(["a@example.com", "b@example.com", "gone@example.com"]);

    // Everyone has theirs: another RETRY sends nothing.
    snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 3 });
    expect(sink.messages).toHaveLength(3);
  });

  test("every recipient refused: ERROR, each one's reason in delivery.recipients", async () => {
    await useSink({ rejectRecipients: { "x@example.com": 550, "y@example.com": 550 } });
    const snap = await h.trigger.create(nextPath(), { to: ["x@example.com", "y@example.com"], separateMessages: true, message: { subject: "s", text: "t" } });
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1 });
    expect(snap.get("delivery.error")).toContain("No recipient's message was accepted: 2 of 2 failed");
    expect(snap.get("delivery.recipients")["y@example.com"]).toMatchObject({ state: "ERROR", attempts: 1 });
  });

  test("recipients by uid get their own user's fields as @recipient (an address listed beside them gets none), and data keyed by uid", async () => {
    const sink = await useSink({}, { USERS_COLLECTION: "users", TEMPLATES_COLLECTION: "templates", USER_TEMPLATE_FIELDS: "firstName" });
    await h.db.doc("templates/hello").set({ text: "Hi {{@recipient.firstName}}{{#if vip}} (VIP){{/if}}" });
    await h.db.doc("users/ann").set({ email: "ann@example.com", firstName: "Ann" });
    await h.db.doc("users/bob").set({ email: "bob@example.com", firstName: "Bob" });
    const snap = await h.trigger.create(nextPath(), {
      to: "carol@example.com",
      toUids: ["ann", "bob", "nobody"],
      separateMessages: true,
      template: { name: "hello" },
      recipientData: { bob: { vip: true } },
    });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    const received = byAddress(sink.messages);
    expect(Object.fromEntries(received)).toEqual({ "carol@example.com": ["Hi"], "ann@example.com": ["Hi Ann"], "bob@example.com": ["Hi Bob (VIP)"] });
  });

  test("a crash mid-batch: the recipients in flight stay UNKNOWN and are never sent again; a RETRY sends to those never reached", async () => {
    const addresses = Array.from({ length: 25 }, (_, i) => `c${i}@example.com`);
    let child: ChildProcess | undefined;
    let markKilled: () => void = () => undefined;
    const killed = new Promise<void>((resolve) => (markKilled = resolve));
    let arrived = 0;
    const sink = await useSink({
      beforeReply: async () => {
        // The first message of the second batch is on the server: the sender dies before it hears 250.
        if (++arrived !== 11) return;
        const exited = new Promise((done) => child?.once("exit", done));
        child?.kill("SIGKILL");
        await exited;
        markKilled();
      },
    });
    const path = "mail/crash";
    await h.db.doc(path).create({ to: addresses, separateMessages: true, message: { subject: "s", text: "t" } });
    child = fork(join(__dirname, "../helpers/run-process-queue.ts"), [path], {
      execArgv: ["-r", "ts-node/register/transpile-only"],
      env: process.env,
      stdio: "ignore",
    });
    await killed;

    const stuck = await h.db.doc(path).get();
    expect(stuck.get("delivery.state")).toBe("PROCESSING");
    const inFlight = stuck.get("delivery.recipients");
    const states = (state: string, map: Record<string, { state: string }>) => addresses.filter((a) => map[a]?.state === state);
    expect(states("SUCCESS", inFlight)).toEqual(addresses.slice(0, 10));
    expect(states("UNKNOWN", inFlight)).toEqual(addresses.slice(10, 20));
    expect(addresses.slice(20).every((a) => inFlight[a] === undefined)).toBe(true);
    const reachedBeforeCrash = sink.messages.map((m) => m.envelope.rcptTo[0]);
    expect(reachedBeforeCrash.length).toBeGreaterThanOrEqual(11);

    // The lease and its grace pass: ERROR, the map kept; nothing is sent automatically.
    const report = await runMaintenance(leaseEnd((stuck.get("delivery.leaseExpireTime") as Timestamp).toMillis(), stuck.updateTime!.toMillis()) + LEASE_GRACE_MS);
    expect(report.expired).toBe(1);
    let snap = await h.trigger.settle(path, stuck);
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", error: LEASE_EXPIRED_ERROR, attempts: 1 });
    expect(snap.get("delivery.recipients")).toEqual(inFlight);
    expect(sink.messages).toHaveLength(reachedBeforeCrash.length);

    // A person's RETRY finishes the job: the five never reached, not the ten that may have theirs.
    snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2 });
    const after = snap.get("delivery.recipients");
    expect(states("SUCCESS", after)).toEqual([...addresses.slice(0, 10), ...addresses.slice(20)]);
    expect(states("UNKNOWN", after)).toEqual(addresses.slice(10, 20));
    const received = byAddress(sink.messages);
    for (const address of addresses) expect(received.get(address)?.length ?? 0).toBeLessThanOrEqual(1);
    for (const address of addresses.slice(20)) expect(received.get(address)).toHaveLength(1);
  });

  test("each message has its own unsubscribe link; a suppressed recipient gets none while the others get theirs", async () => {
    const hooks = "https://hooks.example.com/webhooks";
    const sink = await useSink({}, { SUPPRESSION_COLLECTION: SUPPRESSED, UNSUBSCRIBE_SIGNING_KEY: UNSUBSCRIBE_KEY, WEBHOOK_URL: hooks });
    await h.db.doc(`${SUPPRESSED}/gone@example.com`).set({ reason: "bounced" });
    const path = nextPath();
    const snap = await h.trigger.create(path, { to: ["ada@example.com", "gone@example.com", "bob@example.com"], separateMessages: true, unsubscribe: true, message: { subject: "News", text: "Hi" } });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1 });
    expect(snap.get("delivery.info")).toMatchObject({ accepted: ["ada@example.com", "bob@example.com"], rejected: ["gone@example.com"] });
    expect(snap.get("delivery.recipients")["gone@example.com"]).toMatchObject({ state: "ERROR" });
    expect(snap.get("delivery.recipients")["gone@example.com"].error).toContain("suppressed");
    expect(sink.messages).toHaveLength(2);
    for (const mail of sink.messages) {
      const address = mail.envelope.rcptTo[0];
      const line = mail.parsed.headerLines.find((entry) => entry.key === "list-unsubscribe")?.line ?? "";
      const sent = line.slice(line.indexOf(":") + 1).replace(/\r?\n\s+/g, " ").trim();
      expect(sent).toBe(unsubscribeHeaders({ signingKey: UNSUBSCRIBE_KEY, endpointUrl: hooks }, path, address)["List-Unsubscribe"]);
    }
  });

  test("a document without the field is one message to every recipient, as before", async () => {
    const sink = await useSink({});
    const snap = await h.trigger.create(nextPath(), { to: ["a@example.com", "b@example.com"], message: { subject: "s", text: "t" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.recipients")).toBeUndefined();
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].envelope.rcptTo).toEqual(["a@example.com", "b@example.com"]);
  });
});
