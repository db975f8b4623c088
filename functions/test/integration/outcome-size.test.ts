/**
 * An outcome that must fit: a mail document near Firestore's 1 MiB limit,
 * sent to 1,000 recipients, would overflow the document if `delivery.info`
 * repeated every address. The info is bounded (delivery/bounded-info.ts), and
 * a write Firestore still refuses for size is made again with the minimal
 * info, so the outcome is recorded instead of being taken for a dead attempt.
 */
import { firestoreBytes } from "../../src/delivery/bounded-info";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";

// The module object itself (not an import's copy of it), so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-outcome-size";

/** The fallback's log lines so far. */
const reductions = (warn: jest.SpiedFunction<typeof functionsLogger.warn>) =>
  warn.mock.calls.filter(([, fields]) => (fields as { code?: unknown } | undefined)?.code === "outcome-info-reduced");

/** 1,000 addresses of 60 characters: 61 KB, more than the room left beside a 1,000,000-byte document. */
const RECIPIENTS = Array.from({ length: 1000 }, (_, i) => `recipient-${String(i).padStart(4, "0")}@a-long-subdomain-of-the-list.example.com`);

/** A new mail to RECIPIENTS whose document is about `bytes` bytes (as Firestore counts them) before processing. */
function mailOf(bytes: number): Record<string, unknown> {
  const fixed = { to: RECIPIENTS, message: { subject: "Quarterly report", html: "" } };
  const used = RECIPIENTS.reduce((sum, address) => sum + firestoreBytes(address), 0) + 200;
  fixed.message.html = `<p>${"x".repeat(bytes - used)}</p>`;
  return fixed;
}

describeWithEmulator("an outcome written beside a mail near Firestore's 1 MiB limit", () => {
  const h = mailHarness(PROJECT);
  afterEach(() => jest.restoreAllMocks());

  test("1,000,000 bytes and 1,000 recipients: SUCCESS, with the first addresses, the counts and the marker", async () => {
    const sink = await h.useSink();
    const warn = jest.spyOn(functionsLogger, "warn");
    const snap = await h.trigger.create(h.nextPath(), mailOf(1_000_000));

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.attempts")).toBe(1);
    const info = snap.get("delivery.info");
    expect(info).toMatchObject({ truncated: true, counts: { accepted: 1000, rejected: 0, pending: 0 }, messageId: expect.stringMatching(/^<.+>$/) });
    expect(info.accepted.length).toBeGreaterThan(100);
    expect(info.accepted).toEqual(RECIPIENTS.slice(0, info.accepted.length));
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].envelope.rcptTo).toHaveLength(1000);
    // The bounded info fitted: no fallback.
    expect(reductions(warn)).toHaveLength(0);
  }, 60_000);

  test("too near the limit for the bounded info: SUCCESS, with the message id, the reply and the counts", async () => {
    await h.useSink();
    const warn = jest.spyOn(functionsLogger, "warn");
    const path = h.nextPath();
    const snap = await h.trigger.create(path, mailOf(1_040_000));

    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.error")).toBeNull();
    expect(snap.get("delivery.info")).toEqual({
      messageId: expect.stringMatching(/^<.+>$/),
      accepted: [],
      rejected: [],
      pending: [],
      response: expect.stringMatching(/^250 /),
      truncated: true,
      counts: { accepted: 1000, rejected: 0, pending: 0 },
    });
    expect(reductions(warn)).toEqual([[expect.stringContaining("Firestore refused delivery.info"), { event: "outcome-info-reduced", mailPath: path, state: "SUCCESS", code: "outcome-info-reduced" }]]);
  }, 60_000);
});
