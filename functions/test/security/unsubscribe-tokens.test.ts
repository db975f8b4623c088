/**
 * Unsubscribe tokens: one encoding per token (the last base64url character
 * of a MAC has spare bits, so several spellings decode to the same bytes;
 * each must not count as another unsubscribe), nothing readable in the link
 * (request logs and link scanners see URLs), and links already sent in the
 * first format keep working although that format is no longer produced.
 */
import { createHmac } from "node:crypto";
import { unsubscribeHeaders } from "../../src/unsubscribe/unsubscribe-headers";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { SUPPRESSED, UNSUBSCRIBE_KEY, webhookEnv } from "../helpers/webhook-env";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A token of the first format (v1), as links sent before this change carry it. */
function firstFormatToken(address: string, mailPath: string): string {
  const payload = Buffer.from(JSON.stringify([address, mailPath]), "utf8").toString("base64url");
  const mac = createHmac("sha256", UNSUBSCRIBE_KEY).update(`firestore-send-email unsubscribe v1.${payload}`).digest("base64url");
  return `v1.${payload}.${mac}`;
}

/** The same token with its last character swapped for one that decodes to the same bytes. */
function respelled(token: string): string {
  const last = token[token.length - 1];
  return `${token.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(last) ^ 1]}`;
}

describeWithEmulator("unsubscribe tokens", () => {
  const env = webhookEnv("demo-unsubscribe-tokens");
  const path = "mail/news";

  const link = (address = "victim@example.com") => {
    const header = unsubscribeHeaders({ signingKey: UNSUBSCRIBE_KEY, endpointUrl: env.server.url }, path, address)["List-Unsubscribe"];
    return new URL(/^<([^>]+)>/.exec(header)![1]);
  };
  const oneClick = (token: string) =>
    env.server.post(`/unsubscribe?t=${token}`, "List-Unsubscribe=One-Click", { "Content-Type": "application/x-www-form-urlencoded" });
  const recentIds = async () => (await env.db.doc(path).get()).get("deliveryStatus.recipients")?.["victim@example.com"]?.recentEventIds as string[] | undefined;

  beforeEach(async () => {
    await env.db.doc(path).set({ to: "victim@example.com", delivery: { state: "SUCCESS" } });
  });

  test("the link does not show the address or the mail, in any decoding", () => {
    const url = link();
    const token = url.searchParams.get("t")!;
    const readable = [url.href, ...token.split(".").flatMap((part) => [Buffer.from(part, "base64url").toString("utf8"), Buffer.from(part, "base64").toString("latin1")])].join("\n");
    expect(readable).not.toContain("victim");
    expect(readable).not.toContain("example.com");
    expect(readable).not.toContain(path);
    expect(token.startsWith("v1.")).toBe(false);
  });

  test("only the canonical encoding verifies: another spelling of the same bytes changes nothing", async () => {
    const token = link().searchParams.get("t")!;
    expect((await oneClick(respelled(token))).status).toBe(400);
    expect((await env.db.collection(SUPPRESSED).get()).size).toBe(0);
    expect((await oneClick(token)).status).toBe(200);
    expect((await oneClick(token)).status).toBe(200);
    expect(await recentIds()).toHaveLength(1);
  });

  test("a link of the first format, already sent, still unsubscribes, once; its other spellings do not", async () => {
    const old = firstFormatToken("victim@example.com", path);
    expect((await oneClick(respelled(old))).status).toBe(400);
    expect((await env.db.collection(SUPPRESSED).get()).size).toBe(0);
    expect((await oneClick(old)).status).toBe(200);
    expect((await oneClick(old)).status).toBe(200);
    expect(await recentIds()).toHaveLength(1);
    expect((await env.db.doc(`${SUPPRESSED}/victim@example.com`).get()).get("reason")).toBe("unsubscribed");
  });
});
