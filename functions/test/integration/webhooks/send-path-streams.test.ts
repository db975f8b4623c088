/**
 * Mail streams on the send path (docs/webhooks.md#mail-streams), through
 * processQueue with a real SMTP server and the webhook endpoint: an
 * unsubscribe from the newsletter does not stop a password reset; a
 * complaint stops only its stream; a hard bounce and an old suppression
 * document stop every stream; transactional mail carries no unsubscribe link
 * under UNSUBSCRIBE_DEFAULT unless it asks for one.
 */
import { FieldValue } from "firebase-admin/firestore";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { sendPathEnv, SUPPRESSED } from "../../helpers/webhook-env";
import { sendGridHeaders, tracked } from "../../helpers/webhook-signing";

describeWithEmulator("mail streams on the send path", () => {
  const env = sendPathEnv("demo-webhook-streams-send");
  const { h, keys, statusParams } = env;
  const subjects = () => h.sink.messages.map((message) => message.parsed.subject);
  const header = (index: number, name: string) => {
    const line = h.sink.messages[index].parsed.headerLines.find((entry) => entry.key === name)?.line;
    return line?.slice(line.indexOf(":") + 1).replace(/\r?\n\s+/g, " ").trim();
  };
  const mail = (subject: string, fields: Record<string, unknown> = {}) => h.trigger.create(h.nextPath(), { to: "ada@example.com", message: { subject, text: "x" }, ...fields });

  async function sendGridEvent(path: string, event: string, extra: Record<string, unknown> = {}): Promise<void> {
    const body = JSON.stringify([{ email: "ada@example.com", timestamp: Math.floor(Date.now() / 1000), event, sg_event_id: `${event}-${path}`, ...tracked(path, "sendgrid"), ...extra }]);
    expect((await env.server.post("/sendgrid", body, sendGridHeaders(keys, body))).status).toBe(200);
  }

  async function followLink(index: number): Promise<void> {
    const link = /^<([^>]+)>$/.exec(header(index, "list-unsubscribe")!)![1];
    const response = await fetch(link, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(response.status).toBe(200);
  }

  test("an unsubscribe from the newsletter stream still lets a transactional password reset through", async () => {
    await h.useSink({}, statusParams({ UNSUBSCRIBE_DEFAULT: "true" }));
    await mail("Our news", { stream: "newsletter" });
    await followLink(0);

    const reset = await mail("Reset your password", { stream: "transactional" });
    expect(reset.get("delivery.state")).toBe("SUCCESS");
    expect(reset.get("delivery.info.accepted")).toEqual(["ada@example.com"]);

    const news = await mail("More news", { stream: "newsletter" });
    expect(news.get("delivery.state")).toBe("ERROR");
    expect(news.get("delivery.error")).toContain("Every recipient is suppressed on stream 'newsletter'");
    expect(news.get("delivery.error")).toContain(`its field streams.newsletter`);
    // A mail that names no stream is stopped by any suppression of the address, as before streams.
    const unnamed = await mail("Hello");
    expect(unnamed.get("delivery.state")).toBe("ERROR");
    expect(subjects()).toEqual(["Our news", "Reset your password"]);

    // Deleting the stream's entry lifts that suppression.
    await h.db.doc(`${SUPPRESSED}/ada@example.com`).update({ "streams.newsletter": FieldValue.delete() });
    expect((await mail("News again", { stream: "newsletter" })).get("delivery.state")).toBe("SUCCESS");
  });

  test("a complaint suppresses only the stream of the mail complained about", async () => {
    await h.useSink({}, statusParams());
    const offer = await mail("Offer", { stream: "product-offers" });
    await sendGridEvent(offer.ref.path, "spamreport");

    expect((await mail("Another offer", { stream: "product-offers" })).get("delivery.state")).toBe("ERROR");
    expect((await mail("Newsletter", { stream: "newsletter" })).get("delivery.state")).toBe("SUCCESS");
    expect((await mail("Receipt", { stream: "transactional" })).get("delivery.state")).toBe("SUCCESS");
    expect(subjects()).toEqual(["Offer", "Newsletter", "Receipt"]);

    // Lifted the way docs/webhooks.md shows, with a dotted path (the name has a dash).
    await h.db.doc(`${SUPPRESSED}/ada@example.com`).update({ "streams.product-offers": FieldValue.delete() });
    expect((await mail("Offer again", { stream: "product-offers" })).get("delivery.state")).toBe("SUCCESS");
  });

  test("a hard bounce suppresses every stream", async () => {
    await h.useSink({}, statusParams());
    const news = await mail("News", { stream: "newsletter" });
    await sendGridEvent(news.ref.path, "bounce", { type: "bounce", reason: "550 5.1.1 No such user" });
    const reset = await mail("Reset your password", { stream: "transactional" });
    expect(reset.get("delivery.state")).toBe("ERROR");
    expect(reset.get("delivery.error")).toContain("Every recipient is suppressed on stream 'transactional'");
    expect(subjects()).toEqual(["News"]);
  });

  test("a suppression document written before streams suppresses every stream", async () => {
    await h.useSink({}, statusParams());
    await h.db.doc(`${SUPPRESSED}/ada@example.com`).set({ address: "ada@example.com", reason: "unsubscribed", mail: "mail/old", source: "unsubscribe-link" });
    // In a mail of several recipients, only the suppressed one is dropped.
    const reset = await h.trigger.create(h.nextPath(), { to: ["ada@example.com", "bob@example.com"], stream: "transactional", message: { subject: "Reset", text: "x" } });
    expect(reset.get("delivery.state")).toBe("SUCCESS");
    expect(reset.get("delivery.info.suppressed")).toEqual(["ada@example.com"]);
    expect(h.sink.messages[0].envelope.rcptTo).toEqual(["bob@example.com"]);
    expect((await mail("News", { stream: "newsletter" })).get("delivery.state")).toBe("ERROR");
  });

  test("UNSUBSCRIBE_DEFAULT: transactional mail gets no link unless it asks, and its link unsubscribes only from transactional mail", async () => {
    await h.useSink({}, statusParams({ UNSUBSCRIBE_DEFAULT: "true" }));
    await mail("Reset your password", { stream: "transactional" });
    await mail("News", { stream: "newsletter" });
    await mail("Hello");
    await mail("Login alerts", { stream: "transactional", unsubscribe: true });
    expect(h.sink.messages.map((_, index) => header(index, "list-unsubscribe") !== undefined)).toEqual([false, true, true, true]);

    await followLink(3);
    const data = (await h.db.doc(`${SUPPRESSED}/ada@example.com`).get()).data();
    expect(data).toEqual({ address: "ada@example.com", streams: { transactional: expect.objectContaining({ reason: "unsubscribed", source: "unsubscribe-link" }) } });
    expect((await mail("News again", { stream: "newsletter" })).get("delivery.state")).toBe("SUCCESS");
  });

  test("an invalid stream ends in ERROR naming the field, before any send", async () => {
    await h.useSink({}, statusParams());
    const bad = await mail("x", { stream: "News Letter" });
    expect(bad.get("delivery.state")).toBe("ERROR");
    expect(bad.get("delivery.error")).toMatch(/^Invalid field "stream"\. Expected a stream name/);
    expect(h.sink.messages).toHaveLength(0);
  });
});
