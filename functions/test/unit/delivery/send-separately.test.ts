/**
 * The outcome a mail with `separateMessages` records from its recipients' entries, when a batch may start, and
 * the batches themselves against a recording store and a scripted clock.
 */
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { parseConfig } from "../../../src/config";
import type { Runtime } from "../../../src/delivery/runtime";
import { sendSeparately, separateOutcome, type SeparateAttempt, type SeparateResult, type SeparateSteps } from "../../../src/delivery/send-separately";
import type { MailStore } from "../../../src/delivery/store";
import { createTemplateCache } from "../../../src/mail/templates";
import { validateMailDocument } from "../../../src/mail/validation";
import { DeliveryError, type SendEmailError } from "../../../src/shared/errors";
import { summarize, type RecipientProgress } from "../../../src/delivery/recipient-progress";
import { OUTCOME_UNKNOWN_NOTE } from "../../../src/providers/shared/unknown-outcome";
import { batchFits, LEASE_MS, MIN_SEND_MS, OUTCOME_MARGIN_MS, SEND_DEADLINE_MS } from "../../../src/shared/budget";

const NOW = 1_800_000_000_000;
const VERSION = Timestamp.fromMillis(NOW - 1000);
const settings = { retryBackoffSeconds: 60 };

function resultOf(keys: string[], progress: RecipientProgress): SeparateResult {
  return { keys, progress, summary: summarize(keys, progress), version: VERSION };
}

test("all accepted: SUCCESS, delivery.info lists them, and every patch carries the recipients' map and the last checkpoint's version", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "SUCCESS", attempts: 2 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome).toMatchObject({ state: "SUCCESS", error: null, unknown: false, version: VERSION, extra: { "delivery.recipients": progress } });
  expect(outcome.info).toMatchObject({ messageId: null, accepted: ["a@x.io", "b@x.io"], rejected: [], pending: [] });
});

test("some accepted, the others refused for good: SUCCESS, the refused ones in delivery.info.rejected", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "ERROR", attempts: 1, error: "550" } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("SUCCESS");
  expect(outcome.info).toMatchObject({ accepted: ["a@x.io"], rejected: ["b@x.io"] });
});

test("temporary failures with attempts left: PENDING after the backoff, the error saying how many", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 }, "b@x.io": { state: "PENDING", attempts: 1, error: "451 busy" } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("PENDING");
  expect(outcome.error).toContain("Not finished: 1 of 2 recipients failed temporarily");
  expect(outcome.error).toContain("451 busy");
  const due = (outcome.patch["delivery.nextAttemptTime"] as Timestamp).toMillis();
  expect(due - NOW).toBeGreaterThanOrEqual(48_000);
  expect(due - NOW).toBeLessThanOrEqual(72_000);
});

test("recipients not reached within the lease: PENDING and due at once", () => {
  const progress: RecipientProgress = { "a@x.io": { state: "SUCCESS", attempts: 1 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], progress), settings, NOW);
  expect(outcome.state).toBe("PENDING");
  expect(outcome.error).toContain("1 of 2 recipients were not reached");
  expect((outcome.patch["delivery.nextAttemptTime"] as Timestamp).toMillis()).toBe(NOW);
});

test("none accepted: ERROR, saying when the provider may have some", () => {
  const refused: RecipientProgress = { "a@x.io": { state: "ERROR", attempts: 1, error: "550 no" } };
  expect(separateOutcome(resultOf(["a@x.io"], refused), settings, NOW)).toMatchObject({ state: "ERROR", unknown: false });
  const unknown = { ...refused, "b@x.io": { state: "UNKNOWN" as const, attempts: 1 } };
  const outcome = separateOutcome(resultOf(["a@x.io", "b@x.io"], unknown), settings, NOW);
  expect(outcome).toMatchObject({ state: "ERROR", unknown: true });
  expect(outcome.error).toContain(OUTCOME_UNKNOWN_NOTE);
});

describe("batchFits", () => {
  const leaseEnds = NOW + LEASE_MS;
  test("the first batch starts as a single mail's send would", () => {
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - MIN_SEND_MS, true)).toBe(true);
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - MIN_SEND_MS + 1, true)).toBe(false);
  });

  test("a later batch only while each send can have its whole deadline", () => {
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - SEND_DEADLINE_MS, false)).toBe(true);
    expect(batchFits(leaseEnds, leaseEnds - OUTCOME_MARGIN_MS - SEND_DEADLINE_MS + 1, false)).toBe(false);
  });
});

describe("sendSeparately", () => {
  /** A mail of `count` recipients, a store that records each checkpoint (or loses those `lose` says), and a clock each send moves by `sendMs`. */
  function world(count: number, options: { sendMs?: number; lose?: (n: number) => boolean; refuse?: (address: string) => SendEmailError | undefined } = {}) {
    let clock = NOW;
    jest.spyOn(Date, "now").mockImplementation(() => clock);
    const checkpoints: RecipientProgress[] = [];
    const sent: Array<{ to: string; checkpointed: boolean }> = [];
    const store = {
      db: {} as Firestore,
      updateIf: async (_path: string, patch: Record<string, unknown>) => {
        const progress = patch["delivery.recipients"] as RecipientProgress;
        if (options.lose?.(checkpoints.length + 1)) return null;
        checkpoints.push(progress);
        return Timestamp.fromMillis(clock);
      },
    } as unknown as MailStore;
    const runtime = { templates: createTemplateCache(), download: async (message: unknown) => message } as unknown as Runtime;
    const to = Array.from({ length: count }, (_, i) => `r${i}@x.io`);
    const request = validateMailDocument({ to, separateMessages: true, message: { subject: "s", text: "t" } }).mail;
    const config = parseConfig({ SMTP_CONNECTION_URI: "smtp://127.0.0.1:2525", DEFAULT_FROM: "app@x.io", MAX_ATTEMPTS: "2" });
    const steps: SeparateSteps = {
      prepare: async (message) => ({ message, mail: request }),
      send: async (message) => {
        const address = String((message.to as string[])[0]);
        // The checkpoint naming this recipient in flight landed before its send.
        sent.push({ to: address, checkpointed: checkpoints.at(-1)?.[address]?.state === "UNKNOWN" });
        clock += options.sendMs ?? 10;
        const refusal = options.refuse?.(address);
        if (refusal) throw refusal;
        return { messageId: `<${address}>`, accepted: [address], rejected: [], pending: [], response: "250 OK" };
      },
      tooLate: () => new Error("too late"),
      sentWith: { provider: "smtp" },
      errorText: (error) => String((error as Error).message),
    };
    const attempt: SeparateAttempt = { runtime, store, path: "mail/m", data: {}, request, config, attemptId: "a1", version: VERSION, leaseEnds: NOW + LEASE_MS, byPerson: false };
    return { attempt, steps, checkpoints, sent, to };
  }

  afterEach(() => jest.restoreAllMocks());

  test("every recipient once, in batches of 10, each batch recorded in flight before it goes out", async () => {
    const w = world(25);
    const result = await sendSeparately(w.attempt, w.steps);
    expect(w.sent.map((s) => s.to).sort()).toEqual([...w.to].sort());
    expect(w.sent.every((s) => s.checkpointed)).toBe(true);
    expect(w.checkpoints).toHaveLength(3);
    // The second checkpoint carries the first batch's results and the second batch in flight.
    expect(w.checkpoints[1]["r0@x.io"]).toMatchObject({ state: "SUCCESS", attempts: 1, messageId: "<r0@x.io>" });
    expect(w.checkpoints[1]["r15@x.io"]).toEqual({ state: "UNKNOWN", attempts: 1 });
    expect(w.checkpoints[1]["r20@x.io"]).toBeUndefined();
    expect(result.summary.state).toBe("SUCCESS");
    expect(result.version.toMillis()).toBe(Date.now() - 50);
  });

  test("no batch starts once the lease could not give its sends their whole deadline; the rest is left for the next attempt", async () => {
    // Each send takes 2 s, 5 at a time: a batch of 10 takes 4 s, and later batches need 45 s of the 60 s lease left.
    const w = world(100, { sendMs: 2_000 });
    const result = await sendSeparately(w.attempt, w.steps);
    expect(w.sent.length).toBeGreaterThan(0);
    expect(w.sent.length).toBeLessThan(100);
    expect(w.sent.length % 10).toBe(0);
    expect(result.summary).toMatchObject({ state: "PENDING" });
    expect(result.summary.notReached).toHaveLength(100 - w.sent.length);
    expect(separateOutcome(result, { retryBackoffSeconds: 60 }, Date.now()).patch["delivery.nextAttemptTime"]).toEqual(Timestamp.fromMillis(Date.now()));
  });

  test("a checkpoint that does not land stops the sending: nothing of its batch goes out", async () => {
    const w = world(25, { lose: (n) => n === 2 });
    const result = await sendSeparately(w.attempt, w.steps);
    expect(w.sent.map((s) => s.to)).toEqual(w.to.slice(0, 10));
    expect(result.summary.notReached).toEqual(w.to.slice(10));
    // The outcome records the first batch only: the lost checkpoint's batch is not in flight.
    expect(result.progress["r12@x.io"]).toBeUndefined();
  });

  test("a first checkpoint that does not land fails the attempt as a whole, nothing sent", async () => {
    const w = world(5, { lose: (n) => n === 1 });
    await expect(sendSeparately(w.attempt, w.steps)).rejects.toMatchObject({ transient: true });
    expect(w.sent).toEqual([]);
  });

  test("an earlier attempt's map is honoured: accepted and unknown recipients get nothing", async () => {
    const w = world(3);
    w.attempt.data = { delivery: { recipients: { "r0@x.io": { state: "SUCCESS", attempts: 1 }, "r1@x.io": { state: "UNKNOWN", attempts: 1 } } } };
    const result = await sendSeparately(w.attempt, w.steps);
    expect(w.sent.map((s) => s.to)).toEqual(["r2@x.io"]);
    expect(result.progress["r1@x.io"]).toEqual({ state: "UNKNOWN", attempts: 1 });
  });

  test("each recipient's failure is its own: temporary ones are retried, an unknown outcome is kept", async () => {
    const w = world(3, {
      refuse: (address) =>
        address === "r1@x.io" ? new DeliveryError("message-rejected", "451 busy", { transient: true }) : address === "r2@x.io" ? new DeliveryError("outcome-unknown", "no answer") : undefined,
    });
    const result = await sendSeparately(w.attempt, w.steps);
    expect(result.progress).toMatchObject({ "r0@x.io": { state: "SUCCESS" }, "r1@x.io": { state: "PENDING", error: "451 busy" }, "r2@x.io": { state: "UNKNOWN", error: "no answer" } });
  });
});
