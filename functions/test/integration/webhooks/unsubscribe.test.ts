/**
 * One-click unsubscribe (RFC 8058) through the endpoint, against the
 * Firestore emulator: the link from the headers, GET showing a page that
 * changes nothing, POST suppressing the address and marking the recipient,
 * a tampered token changing nothing; and the send path's suppression read.
 */
import { suppressedRecipients } from "../../../src/suppression/suppression-list";
import { unsubscribeHeaders } from "../../../src/unsubscribe/unsubscribe-headers";
import { describeWithEmulator } from "../../helpers/emulator-fixture";
import { SUPPRESSED, UNSUBSCRIBE_KEY, webhookEnv } from "../../helpers/webhook-env";

describeWithEmulator("one-click unsubscribe endpoint", () => {
  const env = webhookEnv("demo-webhook-unsubscribe");
  const path = "mail/newsletter-1";

  /** The link as the send path writes it into List-Unsubscribe, pointed at the test server. */
  function link(address = "Ada <Ada@Example.com>"): string {
    const header = unsubscribeHeaders({ signingKey: UNSUBSCRIBE_KEY, endpointUrl: env.server.url }, path, address)["List-Unsubscribe"];
    return /^<([^>]+)>/.exec(header)![1].slice(env.server.url.length);
  }
  const oneClick = (target: string) =>
    env.server.post(target, "List-Unsubscribe=One-Click", { "Content-Type": "application/x-www-form-urlencoded" });

  beforeEach(async () => {
    await env.db.doc(path).set({ to: "ada@example.com", delivery: { state: "SUCCESS" } });
  });

  test("GET shows an accessible confirmation page with a button, and changes nothing", async () => {
    const before = await env.db.doc(path).get();
    const response = await env.server.get(link());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<h1>Unsubscribe<\/h1>/);
    expect(html).toContain("<strong>ada@example.com</strong>");
    expect(html).toMatch(/<form method="post">[\s\S]*<button type="submit">Unsubscribe<\/button>/);

    expect((await env.db.collection(SUPPRESSED).get()).size).toBe(0);
    expect((await env.db.doc(path).get()).updateTime!.isEqual(before.updateTime!)).toBe(true);
  });

  test("POST with a genuine token suppresses the address and marks the recipient unsubscribed; pressing again changes nothing", async () => {
    const response = await oneClick(link());
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("You are unsubscribed");

    const suppression = await env.db.doc(`${SUPPRESSED}/ada@example.com`).get();
    expect(suppression.data()).toMatchObject({ address: "ada@example.com", reason: "unsubscribed", mail: path, source: "unsubscribe-link" });
    const marked = await env.db.doc(path).get();
    expect(marked.get("deliveryStatus.recipients")["ada@example.com"]).toMatchObject({ status: "unsubscribed", source: "unsubscribe-link" });
    expect(marked.get("delivery")).toEqual({ state: "SUCCESS" });

    expect((await oneClick(link())).status).toBe(200);
    expect((await env.db.doc(path).get()).updateTime!.isEqual(marked.updateTime!)).toBe(true);
  });

  test("the suppression read finds the address however it is spelled, and deleting the document lifts it", async () => {
    await oneClick(link());
    const recipients = ["ADA@example.com", "Bob <bob@example.com>", "Ada Lovelace <ada@EXAMPLE.com>"];
    expect(await suppressedRecipients(env.db, SUPPRESSED, recipients)).toEqual(["ADA@example.com", "Ada Lovelace <ada@EXAMPLE.com>"]);
    await env.db.doc(`${SUPPRESSED}/ada@example.com`).delete();
    expect(await suppressedRecipients(env.db, SUPPRESSED, recipients)).toEqual([]);
    expect(await suppressedRecipients(env.db, SUPPRESSED, [])).toEqual([]);
  });

  test("without an unsubscribe key or suppression collection the path answers 404", async () => {
    env.configure({ unsubscribeSigningKey: undefined });
    expect((await env.server.get(link())).status).toBe(404);
    env.configure({ unsubscribeSigningKey: UNSUBSCRIBE_KEY, suppressionCollection: undefined });
    expect((await oneClick(link())).status).toBe(404);
  });
});
