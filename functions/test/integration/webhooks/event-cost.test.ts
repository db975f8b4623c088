/**
 * What a delivery event costs, counted: webhook invocations, Firestore reads
 * and writes, and the processQueue invocations that the webhook's writes to
 * mail documents fire (each must read and write nothing). BENCHMARKS.md
 * reports these figures. Like operation-counts.test.ts, this suite starts its
 * own emulator, since only one started with `--functions_emulator` delivers
 * trigger events.
 */
import type { Firestore } from "firebase-admin/firestore";
import { countRpcs, type RpcCounts } from "../../../bench/firestore-rpcs";
import { processQueue } from "../../helpers/extension-env";
import { rebuildRuntime } from "../../helpers/extension-env";
import * as logs from "../../../src/shared/logs";
import type { EventDriver } from "../../helpers/event-driver";
import { configureExtension } from "../../helpers/extension-env";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink";
import { describeWithOwnEmulator, startTriggerEmulator, type TriggerEmulator } from "../../helpers/emulator-fixture";
import { fullConfig, testEndpoint } from "../../helpers/webhook-env";
import { startWebhookServer, type WebhookServer } from "../../helpers/webhook-server";
import { sendGridHeaders, sendGridKeys, tracked } from "../../helpers/webhook-signing";

const PROJECT = "demo-webhook-cost";

describeWithOwnEmulator("cost per delivery event", () => {
  let own: TriggerEmulator;
  let driver: EventDriver;
  let sink: SmtpSink;
  let server: WebhookServer;
  let db: Firestore;
  let rpcs: RpcCounts;
  const keys = sendGridKeys();

  beforeAll(async () => {
    own = await startTriggerEmulator();
    driver = own.driver;
    sink = await startSmtpSink();
    configureExtension({ SMTP_CONNECTION_URI: `smtp://127.0.0.1:${sink.port}`, DEFAULT_FROM: "Shop <shop@example.com>" });
    db = own.firestore(PROJECT);
    // The one client that both processQueue and the endpoint use here.
    rpcs = countRpcs(db);
    await own.register({ project: PROJECT, fn: processQueue });
    server = await startWebhookServer(testEndpoint(() => fullConfig(keys), () => db));
  }, 120_000);

  afterAll(async () => {
    rebuildRuntime();
    await server?.close();
    await db?.terminate();
    await sink?.close();
    await own?.stop();
  });

  test("a batch of 9 events for 3 sent mails: 1 webhook call, 3 reads, 3 writes, 3 idle processQueue runs", async () => {
    const paths = ["mail/c1", "mail/c2", "mail/c3"];
    await Promise.all(paths.map((path) => db.doc(path).create({ to: "ada@example.com", message: { subject: path, text: "Hi" } })));
    await driver.settle(PROJECT, paths, ["SUCCESS"], 30_000);

    const before = { ...driver.stats(PROJECT), ...rpcs, sent: sink.messages.length };
    const now = Math.floor(Date.now() / 1000);
    const events = paths.flatMap((path, i) =>
      ["processed", "deferred", "delivered"].map((type, k) => ({
        email: "ada@example.com",
        timestamp: now - 10 + k,
        event: type,
        sg_event_id: `cost-${i}-${k}`,
        ...tracked(path, "sendgrid"),
      })),
    );
    const recorded = jest.spyOn(logs, "webhookRecorded");
    const body = JSON.stringify(events);
    const response = await server.post("/sendgrid", body, sendGridHeaders(keys, body));
    expect(response.status).toBe(200);
    expect(recorded).toHaveBeenCalledWith("sendgrid", expect.objectContaining({ received: 6, recorded: 6, writes: 3 }));
    recorded.mockRestore();

    // Each webhook write to a mail document is one more trigger event.
    await driver.waitFor(() => driver.stats(PROJECT).invocations >= before.invocations + 3 && driver.stats(PROJECT).pending === 0, 30_000, "3 invocations");
    const after = { ...driver.stats(PROJECT), ...rpcs, sent: sink.messages.length };
    // Everything the webhook call and the 3 triggers it caused did, together: the
    // webhook's one batched read and 3 single-write commits; the triggers nothing.
    expect({
      invocations: after.invocations - before.invocations,
      failures: after.failures - before.failures,
      documentReads: after.documentReads - before.documentReads,
      commits: after.commits - before.commits,
      documentWrites: after.documentWrites - before.documentWrites,
      queries: after.queries - before.queries,
      transactions: after.transactions - before.transactions,
      sent: after.sent - before.sent,
    }).toEqual({ invocations: 3, failures: 0, documentReads: 3, commits: 3, documentWrites: 3, queries: 0, transactions: 0, sent: 0 });
    for (const path of paths) {
      const snapshot = await db.doc(path).get();
      expect(snapshot.get("delivery.state")).toBe("SUCCESS");
      expect(snapshot.get("deliveryStatus.recipients")["ada@example.com"].status).toBe("delivered");
    }
  });
});
