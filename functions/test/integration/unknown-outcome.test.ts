/**
 * A send whose outcome is unknown, end to end: processQueue against the
 * Firestore emulator and a real SMTP server that takes the whole message and
 * then never answers, or drops the connection. Such a mail must never be
 * sent again automatically, however many attempts MAX_ATTEMPTS allows; it
 * ends in ERROR saying the server may have accepted it, and only a person's
 * RETRY sends it again. A RETRY written while an attempt is still waiting
 * for the server is answered by that attempt's outcome, never by a second
 * send running beside it.
 */
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { REQUEST_REASONS } from "../../src/delivery/patches";
import { redirectProviders, runMaintenance } from "../helpers/extension-env";
import { OUTCOME_UNKNOWN_NOTE } from "../../src/providers/shared/unknown-outcome";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { DEFAULT_FROM, mailHarness } from "../helpers/mail-harness";
import { startSendGridApi } from "../helpers/sendgrid-api-server";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const PROJECT = "demo-unknown-outcome";
const DAY_MS = 24 * 60 * 60 * 1000;

describeWithEmulator("a send whose outcome is unknown", () => {
  const h = mailHarness(PROJECT);

  afterAll(() => configureExtension({}));

  const message = { to: "ann@example.com", message: { subject: "Once", text: "Only once, please." } };

  /** Runs the scheduled sweep as if it were `atMs`, then delivers the events its writes cause. */
  async function sweepAt(path: string, atMs: number): Promise<DocumentSnapshot> {
    const before = await h.db.doc(path).get();
    await runMaintenance(atMs);
    return h.trigger.settle(path, before);
  }

  test("the server takes the message and never answers DATA: one copy, ERROR, not retried with MAX_ATTEMPTS 3; a person's RETRY sends it again", async () => {
    const sink = await h.useSink({ silentAfterData: 1 });
    // The socket timeout (a production param of the URI) keeps the wait for the answer short.
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}?socketTimeout=1000`, DEFAULT_FROM, MAX_ATTEMPTS: "3" });
    const path = h.nextPath();
    const warn = jest.spyOn(functionsLogger, "warn");

    let snap = await h.trigger.create(path, message);
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain(`The SMTP server ${OUTCOME_UNKNOWN_NOTE} the mail`);
    // What the unknown-outcome alert counts (docs/operations.md).
    const failed = warn.mock.calls.filter(([, fields]) => (fields as { event?: string } | undefined)?.event === "delivery-failed");
    expect(failed.map(([, fields]) => fields)).toEqual([{ event: "delivery-failed", mailPath: path, state: "ERROR", code: "outcome-unknown", provider: "smtp" }]);
    warn.mockRestore();
    expect(snap.get("delivery.error")).toContain("set delivery.state to RETRY");
    expect(snap.get("delivery.nextAttemptTime")).toBeUndefined();
    expect(sink.messages.map((received) => received.parsed.subject)).toEqual(["Once"]);

    // A day later the sweep still has nothing to send.
    snap = await sweepAt(path, Date.now() + DAY_MS);
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1 });
    expect(sink.messages).toHaveLength(1);

    snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2, error: null });
    expect(sink.messages).toHaveLength(2);
  });

  test("RETRY written while the server holds its answer to DATA: the running attempt answers it, one copy, SUCCESS", async () => {
    const path = h.nextPath();
    let during: DocumentSnapshot | undefined;
    await h.useSink({
      // The message is on the server and the 250 held back until a person's
      // RETRY has been written and the trigger it fires has run.
      beforeReply: async () => {
        during = await h.trigger.update(path, { "delivery.state": "RETRY" });
      },
    });

    const final = await h.trigger.create(path, message);

    expect(during?.get("delivery")).toMatchObject({ state: "RETRY", attempts: 0 });
    expect(final.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 1, error: null, leaseExpireTime: null });
    expect(final.get("delivery.retryRequest")).toEqual({ answer: "declined", reason: REQUEST_REASONS.succeeded });
    expect(h.sink.messages).toHaveLength(1);
  });

  test("RETRY written while the attempt waits, which then ends without an answer: declined, ERROR, one copy; RETRY again sends it", async () => {
    const path = h.nextPath();
    let asked = false;
    await h.useSink({
      // The first message only: the person asks for RETRY, then the server drops the connection without answering.
      dropAfterData: 1,
      beforeReply: async () => {
        if (asked) return;
        asked = true;
        await h.trigger.update(path, { "delivery.state": "RETRY" });
      },
    });

    let snap = await h.trigger.create(path, message);
    expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
    expect(snap.get("delivery.error")).toContain(OUTCOME_UNKNOWN_NOTE);
    expect(snap.get("delivery.retryRequest")).toEqual({ answer: "declined", reason: REQUEST_REASONS.unknown });
    expect(h.sink.messages).toHaveLength(1);

    snap = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(snap.get("delivery")).toMatchObject({ state: "SUCCESS", attempts: 2 });
    expect(snap.get("delivery.retryRequest")).toBeUndefined();
    expect(h.sink.messages).toHaveLength(2);
  });

  test("SendGrid takes the whole request and closes the connection without answering: one request, ERROR, not retried with MAX_ATTEMPTS 3", async () => {
    const apiKey = "SG.unknown-outcome.5b1d";
    const api = await startSendGridApi({ apiKey });
    const restore = redirectProviders({ sendGridApiUrl: api.url });
    try {
      api.dropAfterBody();
      configureExtension({ SMTP_CONNECTION_URI: "smtps://apikey@smtp.sendgrid.net:465", SMTP_PASSWORD: apiKey, DEFAULT_FROM, MAX_ATTEMPTS: "3" });
      const path = h.nextPath();

      let snap = await h.trigger.create(path, message);
      expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1, leaseExpireTime: null });
      expect(snap.get("delivery.error")).toContain(`SendGrid ${OUTCOME_UNKNOWN_NOTE} the mail`);
      expect(snap.get("delivery.error")).not.toContain(apiKey);
      snap = await sweepAt(path, Date.now() + DAY_MS);
      expect(snap.get("delivery")).toMatchObject({ state: "ERROR", attempts: 1 });
      expect(api.requestCount()).toBe(1);
    } finally {
      restore();
      await api.close();
    }
  });
});
