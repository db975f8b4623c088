/**
 * `npm run report` (scripts/report.js) against the Firestore emulator, run as
 * a person runs it: the local-stack path (FIRESTORE_EMULATOR_HOST and the
 * project from the environment), as text and as `--json`. Mails are seeded in
 * every state, with errors, bounces and complaints; the report must count
 * them, find the oldest waiting mail of each kind, group the errors, and
 * print nothing of any mail's subject, body or addresses.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { Timestamp, type Firestore } from "firebase-admin/firestore";
import { describeWithEmulator, emulatorFirestore, emulatorHost } from "../helpers/emulator-fixture";

const PROJECT = "demo-queue-report";
const SCRIPT = join(__dirname, "..", "..", "..", "scripts", "report.js");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** What must never appear in a report: the mails' content and every address they name. */
const SECRETS = ["Quarterly figures for Ada", "body-text-7f3a", "<p>html-body-91c2</p>", "ada.lovelace@example.com", "grace.hopper@example.org", "Invoice-ACME-2231.pdf"];

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SCRIPT, ...args],
      { env: { ...process.env, FIRESTORE_EMULATOR_HOST: emulatorHost, GCLOUD_PROJECT: PROJECT }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function json(args: string[] = []): Promise<Record<string, any>> {
  const result = await run([...args, "--json"]);
  expect(result).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(result.stdout);
}

const content = { to: ["ada.lovelace@example.com"], cc: "grace.hopper@example.org", message: { subject: "Quarterly figures for Ada", text: "body-text-7f3a", html: "<p>html-body-91c2</p>" } };
const at = (ms: number) => Timestamp.fromMillis(ms);

describeWithEmulator("the queue report", () => {
  const db: Firestore = emulatorFirestore(PROJECT);
  const now = Date.now();
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  async function seed(collection: string): Promise<void> {
    const put = (id: string, delivery?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      db.doc(`${collection}/${id}`).set({ ...content, ...(delivery && { delivery }), ...extra });
    // Sequential: the RETRY written first is the one waiting longest.
    await put("retry-first", { state: "RETRY", attempts: 1, error: "Sending failed" });
    await put("retry-second", { state: "RETRY", attempts: 1 });
    await Promise.all([
      put("pending-oldest", { state: "PENDING", attempts: 0, nextAttemptTime: at(now - 5 * MINUTE) }),
      put("pending-due", { state: "PENDING", attempts: 1, nextAttemptTime: at(now - MINUTE) }),
      put("scheduled", { state: "PENDING", attempts: 0, nextAttemptTime: at(now + 2 * HOUR) }),
      put("processing", { state: "PROCESSING", attempts: 0, leaseExpireTime: at(now + MINUTE) }),
      put("sent-bounced", { state: "SUCCESS", attempts: 1, endTime: at(now - 2 * HOUR) }, {
        deliveryStatus: {
          recipients: {
            "ada.lovelace@example.com": { status: "bounced", bounceType: "hard", time: at(now - HOUR), source: "sendgrid", eventId: "e1", reason: "550 5.1.1 <ada.lovelace@example.com> unknown" },
            "grace.hopper@example.org": { status: "delivered", time: at(now - HOUR), source: "sendgrid", eventId: "e2" },
          },
        },
      }),
      put("sent-complained", { state: "SUCCESS", attempts: 1, endTime: at(now - 30 * HOUR) }, {
        deliveryStatus: {
          recipients: {
            "ada.lovelace@example.com": { status: "complained", time: at(now - 26 * HOUR), source: "mailgun", eventId: "e3" },
            "grace.hopper@example.org": { status: "bounced", bounceType: "soft", time: at(now - 26 * HOUR), source: "mailgun", eventId: "e4", reason: "mailbox full" },
          },
        },
      }),
      put("sent", { state: "SUCCESS", attempts: 1, endTime: at(now - 10 * MINUTE) }),
      // Finished before the report's window: its bounce is not counted.
      put("sent-long-ago", { state: "SUCCESS", attempts: 1, endTime: at(now - 10 * 24 * HOUR) }, {
        deliveryStatus: { recipients: { "ada.lovelace@example.com": { status: "bounced", bounceType: "hard", time: at(now - 10 * 24 * HOUR), source: "sendgrid", eventId: "e5" } } },
      }),
      put("refused-1", { state: "ERROR", attempts: 1, endTime: at(now - 20 * MINUTE), error: "The SMTP server refused the request (550): 550 5.1.1 <ada.lovelace@example.com> unknown user. Check the host and port in SMTP_CONNECTION_URI." }),
      put("refused-2", { state: "ERROR", attempts: 1, endTime: at(now - 3 * MINUTE), error: "The SMTP server refused the request (550): 550 5.1.1 <grace.hopper@example.org> unknown user. Check the host and port in SMTP_CONNECTION_URI." }),
      put("expired", { state: "ERROR", attempts: 1, endTime: at(now - 40 * MINUTE), error: "Message processing lease expired." }),
      put("attachment", { state: "ERROR", attempts: 1, endTime: at(now - 50 * MINUTE), error: "The attachment 'Invoice-ACME-2231.pdf' could not be downloaded: 404 for https://files.example.com/Invoice-ACME-2231.pdf" }),
      put("new"),
    ]);
  }

  test("counts every state, finds the oldest waiting mail of each kind, groups errors, counts bounces and complaints by day", async () => {
    await seed("mail");
    const report = await json();

    expect(report).toMatchObject({ project: PROJECT, database: "(default)", mailCollection: "mail", emulator: emulatorHost });
    expect(report.counts).toEqual({ PENDING: 3, PROCESSING: 1, RETRY: 2, SUCCESS: 4, ERROR: 4, other: 1, total: 15, scheduled: 1 });

    expect(report.waiting.due).toMatchObject({ path: "mail/pending-oldest" });
    expect(report.waiting.due.dueForSeconds).toBeGreaterThanOrEqual(299);
    expect(report.waiting.due.dueForSeconds).toBeLessThan(400);
    expect(report.waiting.retry).toMatchObject({ path: "mail/retry-first" });
    expect(report.waiting.scheduled).toMatchObject({ path: "mail/scheduled" });
    expect(report.waiting.scheduled.dueInSeconds).toBeGreaterThan(2 * 3600 - 100);
    expect(report.waiting.scheduled.dueInSeconds).toBeLessThanOrEqual(2 * 3600);

    // Seven mails finished in the last 7 days; the one of ten days ago is outside.
    expect(report.finished).toMatchObject({ read: 7, matching: 7, limit: 1000 });
    expect(report.errors.count).toBe(4);
    expect(report.errors.groups).toEqual([
      { error: "The SMTP server refused the request (550)", count: 2, last: new Date(now - 3 * MINUTE).toISOString() },
      { error: "Message processing lease expired.", count: 1, last: new Date(now - 40 * MINUTE).toISOString() },
      { error: "The attachment '…' could not be downloaded", count: 1, last: new Date(now - 50 * MINUTE).toISOString() },
    ]);

    const bounceDays = new Map<string, { hardBounces: number; softBounces: number; complaints: number }>();
    const add = (ms: number, kind: "hardBounces" | "softBounces" | "complaints") => {
      const row = bounceDays.get(day(ms)) ?? { hardBounces: 0, softBounces: 0, complaints: 0 };
      row[kind]++;
      bounceDays.set(day(ms), row);
    };
    add(now - HOUR, "hardBounces");
    add(now - 26 * HOUR, "complaints");
    add(now - 26 * HOUR, "softBounces");
    expect(report.bouncesAndComplaints).toEqual([...bounceDays].map(([d, row]) => ({ day: d, ...row })).sort((a, b) => (a.day < b.day ? 1 : -1)));

    // Seven count queries of fewer than 1,000 entries each; four document queries reading 2, 1, 2 and 7 documents.
    expect(report.cost).toEqual({ aggregationReads: 7, documentReads: 12 });
    expect(report.notes).toEqual([]);

    const printed = JSON.stringify(report);
    for (const secret of SECRETS) expect(printed).not.toContain(secret);
  });

  test("prints the same as text, without any mail's content or addresses", async () => {
    await seed("mail");
    const { code, stdout, stderr } = await run([]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain(`Mail queue of mail in ${PROJECT} (database (default), the emulator at ${emulatorHost})`);
    expect(stdout).toMatch(/^PENDING +3 {2}\(1 scheduled for later\)$/m);
    expect(stdout).toMatch(/^ERROR +4$/m);
    expect(stdout).toMatch(/^no state +1$/m);
    expect(stdout).toMatch(/^total +15$/m);
    expect(stdout).toMatch(/oldest due PENDING +mail\/pending-oldest +due for 5m/);
    expect(stdout).toMatch(/oldest RETRY +mail\/retry-first +waiting/);
    expect(stdout).toMatch(/next scheduled +mail\/scheduled +due in 1h 59m|next scheduled +mail\/scheduled +due in 2h/);
    expect(stdout).toMatch(/^ +2 {2}The SMTP server refused the request \(550\) {2}\(last /m);
    expect(stdout).toMatch(new RegExp(`^ {2}${day(now - HOUR)} +1 +0 +0$`, "m"));
    expect(stdout).toContain("Cost: 7 aggregation reads, 12 document reads.");
    for (const secret of SECRETS) expect(stdout).not.toContain(secret);
  });

  test("--limit bounds the finished mails read for errors and bounces; --days the window", async () => {
    await seed("mail");
    const limited = await json(["--limit", "2"]);
    expect(limited.finished).toMatchObject({ read: 2, limit: 2 });
    // The two newest finished mails: refused-2 (3 min ago) and sent (10 min ago).
    expect(limited.errors).toEqual({ count: 1, groups: [expect.objectContaining({ error: "The SMTP server refused the request (550)", count: 1 })] });

    const oneDay = await json(["--days", "1"]);
    expect(oneDay.bouncesAndComplaints).toEqual([{ day: day(now - HOUR), hardBounces: 1, softBounces: 0, complaints: 0 }]);

    expect(await run(["--limit", "0"])).toMatchObject({ code: 1, stderr: expect.stringContaining("--limit must be a whole number from 1 to 10000") });
  });

  test("a wildcard MAIL_COLLECTION: collection-group queries, same-named collections outside the pattern counted but never reported", async () => {
    await Promise.all([
      db.doc("users/u1/mail/a").set({ ...content, delivery: { state: "ERROR", attempts: 1, endTime: at(now - MINUTE), error: "Sending failed: boom" } }),
      db.doc("users/u2/mail/b").set({ ...content, delivery: { state: "PENDING", attempts: 0, nextAttemptTime: at(now - MINUTE) } }),
      // Older and due, but not MAIL_COLLECTION's: never named, never counted as an error.
      db.doc("teams/t1/mail/c").set({ ...content, delivery: { state: "PENDING", attempts: 0, nextAttemptTime: at(now - HOUR) } }),
      db.doc("teams/t1/mail/d").set({ ...content, delivery: { state: "ERROR", attempts: 1, endTime: at(now - MINUTE), error: "Message processing lease expired." } }),
    ]);
    const report = await json(["--collection", "users/{uid}/mail"]);
    expect(report.counts).toMatchObject({ PENDING: 2, ERROR: 2, total: 4 });
    expect(report.waiting.due).toMatchObject({ path: "users/u2/mail/b" });
    expect(report.finished).toMatchObject({ read: 2, matching: 1 });
    expect(report.errors).toEqual({ count: 1, groups: [expect.objectContaining({ error: "Sending failed", count: 1 })] });
    expect(report.notes).toEqual([expect.stringContaining('the counts include collections named "mail" outside it')]);
    expect(JSON.stringify(report)).not.toContain("teams/");
  });
});
