/**
 * The example rules (examples/firestore.rules) against the emulator's rules
 * engine: every path a client app needs, and every abuse a signed-in user
 * could try through the mail collection. The extension itself writes with
 * the Admin SDK, so `seed` stands in for it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from "@firebase/rules-unit-testing";
import {
  Timestamp,
  collection,
  deleteDoc,
  deleteField,
  doc,
  getDoc,
  getDocs,
  query,
  setDoc,
  setLogLevel,
  updateDoc,
  where,
  type Firestore,
} from "firebase/firestore";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-fixture";

const ROOT = join(__dirname, "..", "..", "..");
const RULES = readFileSync(join(ROOT, "examples", "firestore.rules"), "utf8");

const HOUR = 3_600_000;
const inAnHour = () => Timestamp.fromMillis(Date.now() + HOUR);
const inADay = () => Timestamp.fromMillis(Date.now() + 24 * HOUR);
const anHourAgo = () => Timestamp.fromMillis(Date.now() - HOUR);

type Data = Record<string, unknown>;

/** What the example allows by default: an allow-listed template to the caller's own address. */
const welcome = (uid = "alice", to = `${uid}@example.com`): Data => ({
  uid,
  to,
  template: { name: "welcome", data: { name: "Alice" } },
});
const failed = (uid = "alice"): Data => ({
  ...welcome(uid),
  delivery: { state: "ERROR", attempts: 1, error: "550 Mailbox unavailable", leaseExpireTime: null },
});
/** A scheduled mail as the extension leaves it: PENDING until `nextAttemptTime`. */
const waiting = (uid = "alice", due = inAnHour(), attempts = 0): Data => ({
  ...welcome(uid),
  sendAt: due,
  delivery: { state: "PENDING", attempts, error: null, nextAttemptTime: due },
});
const sent = (uid = "alice"): Data => ({
  ...welcome(uid),
  delivery: {
    state: "SUCCESS",
    attempts: 1,
    error: null,
    leaseExpireTime: null,
    info: { messageId: "<1@example.com>", accepted: [`${uid}@example.com`], rejected: [], pending: [], response: "250 OK" },
  },
});
const processing = (uid = "alice"): Data => ({
  ...welcome(uid),
  delivery: { state: "PROCESSING", attempts: 0, error: null, leaseExpireTime: inAnHour() },
});

/**
 * rules-unit-testing types a context's database as the compat API; the
 * modular functions used here accept it (they unwrap it) at run time.
 */
const modular = (db: unknown): Firestore => db as Firestore;

/** Replaces an option's default `false` by `true`, as a project editing the example would. */
function withOption(rules: string, option: string): string {
  const off = `function ${option}() { return false; }`;
  if (!rules.includes(off)) throw new Error(`examples/firestore.rules has no "${off}"`);
  return rules.replace(off, `function ${option}() { return true; }`);
}

/** One rules environment per project, so that each variant of the rules keeps its own. */
function rulesEnvironment(projectId: string, rules: () => string) {
  const ctx = {} as {
    env: RulesTestEnvironment;
    seed(path: string, data: Data): Promise<void>;
    as(uid: string, claims?: Data): Firestore;
    alice(): Firestore;
  };
  beforeAll(async () => {
    // Every refused write is expected here; the SDK would warn about each one.
    setLogLevel("silent");
    const [host, port] = emulatorHost!.split(":");
    ctx.env = await initializeTestEnvironment({ projectId, firestore: { host, port: Number(port), rules: rules() } });
  });
  afterAll(async () => {
    await ctx.env?.cleanup();
  });
  beforeEach(async () => {
    await ctx.env.clearFirestore();
  });
  ctx.seed = (path, data) =>
    ctx.env.withSecurityRulesDisabled(async (context) => {
      await setDoc(doc(modular(context.firestore()), path), data);
    });
  ctx.as = (uid, claims = { email: `${uid}@example.com`, email_verified: true }) =>
    modular(ctx.env.authenticatedContext(uid, claims).firestore());
  ctx.alice = () => ctx.as("alice");
  return ctx;
}

describe("firebase.json", () => {
  // A `firebase deploy` here, or in a project that copied this file, would
  // otherwise publish the example over the project's own rules.
  it("names no Firestore rules file, so no deploy can publish the example", () => {
    const config = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as Data;
    const firestore = [config.firestore].flat().filter(Boolean) as Data[];
    expect(firestore.map((entry) => entry.rules).filter(Boolean)).toEqual([]);
  });
});

describeWithEmulator("examples/firestore.rules, as shipped", () => {
  const t = rulesEnvironment("demo-rules-default", () => RULES);
  const mail = (db: Firestore, id = "m1") => doc(db, "mail", id);

  it("compiles without warnings, as a deploy would check it", async () => {
    const response = await fetch(`http://${emulatorHost}/emulator/v1/projects/demo-rules-compile:securityRules`, {
      method: "PUT",
      body: JSON.stringify({ rules: { files: [{ name: "firestore.rules", content: RULES }] } }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { issues?: unknown[] }).issues ?? []).toEqual([]);
  });

  describe("what a client app may do", () => {
    it("sends an allow-listed template to the caller's own verified address", async () => {
      await assertSucceeds(setDoc(mail(t.alice()), welcome()));
      await assertSucceeds(setDoc(mail(t.alice(), "m2"), { uid: "alice", to: "alice@example.com", template: { name: "welcome" } }));
    });

    it("schedules it for later with sendAt", async () => {
      await assertSucceeds(setDoc(mail(t.alice()), { ...welcome(), sendAt: inADay() }));
    });

    it("chooses the template's language and time zone", async () => {
      await assertSucceeds(setDoc(mail(t.alice()), { ...welcome(), locale: "de-CH", timeZone: "Europe/Zurich" }));
    });

    it("reads its own mail, one by one and by a query on uid", async () => {
      await t.seed("mail/m1", sent());
      await assertSucceeds(getDoc(mail(t.alice())));
      await assertSucceeds(getDocs(query(collection(t.alice(), "mail"), where("uid", "==", "alice"))));
    });

    it("retries its own failed mail by setting RETRY, correcting the template data at the same time", async () => {
      await t.seed("mail/m1", failed());
      await assertSucceeds(updateDoc(mail(t.alice()), { "delivery.state": "RETRY" }));
      await t.seed("mail/m2", failed());
      await assertSucceeds(updateDoc(mail(t.alice(), "m2"), { "template.data.name": "Alicia", "delivery.state": "RETRY" }));
    });

    it("moves a waiting sendAt later", async () => {
      await t.seed("mail/m1", waiting());
      await assertSucceeds(updateDoc(mail(t.alice()), { sendAt: inADay() }));
    });

    it("brings a waiting sendAt forward, to send it now", async () => {
      await t.seed("mail/m1", waiting("alice", inADay()));
      await assertSucceeds(updateDoc(mail(t.alice()), { sendAt: inAnHour() }));
      await t.seed("mail/m2", waiting("alice", inADay()));
      await assertSucceeds(updateDoc(mail(t.alice(), "m2"), { sendAt: anHourAgo() }));
    });

    it("cancels a waiting mail by deleting it", async () => {
      await t.seed("mail/m1", waiting());
      await assertSucceeds(deleteDoc(mail(t.alice())));
    });

    it("cancels a waiting mail by setting delivery.state to ERROR", async () => {
      await t.seed("mail/m1", waiting());
      await assertSucceeds(updateDoc(mail(t.alice()), { "delivery.state": "ERROR" }));
    });
  });

  describe("what a new mail may not carry", () => {
    it("refuses a from address", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), from: "CEO <ceo@example.com>" }));
    });

    it("refuses a replyTo address", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), replyTo: "phish@example.net" }));
    });

    it("refuses headers, at the top level or in message", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), headers: { "X-Mailer": "x" } }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), message: { headers: { Sender: "ceo@example.com" } } }));
    });

    it("refuses a free-form message: html, text or subject of the caller's choosing", async () => {
      const { template: _template, ...noTemplate } = welcome();
      await assertFails(setDoc(mail(t.alice()), { ...noTemplate, message: { subject: "Hi", html: "<a href='https://evil.example'>x</a>" } }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), message: { html: "<p>overrides the template</p>" } }));
    });

    it("refuses any recipient other than the caller's own address", async () => {
      await assertFails(setDoc(mail(t.alice()), welcome("alice", "victim@example.net")));
      await assertFails(setDoc(mail(t.alice(), "m2"), welcome("alice", ["alice@example.com", "victim@example.net"] as unknown as string)));
    });

    it("refuses cc and bcc", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), cc: "victim@example.net" }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), bcc: ["victim@example.net"] }));
    });

    it("refuses toUids, ccUids and bccUids, which would reveal another user's address in delivery.info.accepted", async () => {
      await t.seed("users/bob", { email: "bob@example.com" });
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), toUids: ["bob"] }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), ccUids: ["bob"] }));
      await assertFails(setDoc(mail(t.alice(), "m3"), { ...welcome(), bccUids: ["bob"] }));
    });

    it("refuses attachments, which could make the extension fetch a URL", async () => {
      const attachments = [{ filename: "x.pdf", path: "https://internal.example.com/secret.pdf" }];
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), message: { attachments } }));
    });

    it("refuses a template that is not on the allow-list, or extra template fields", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), template: { name: "password-reset-for-anyone" } }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), template: { name: "welcome", data: "x" } }));
      await assertFails(setDoc(mail(t.alice(), "m3"), { ...welcome(), template: { name: "welcome", html: "<p>x</p>" } }));
    });

    it("refuses callers without a verified email address", async () => {
      await assertFails(setDoc(mail(t.as("alice", { email: "alice@example.com", email_verified: false })), welcome()));
      await assertFails(setDoc(mail(t.as("alice", { firebase: { sign_in_provider: "anonymous" } }), "m2"), welcome()));
    });

    it("refuses a locale or timeZone that is not a short string", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), locale: { tag: "de" } }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), timeZone: "x".repeat(65) }));
    });

    it("refuses a sendAt that is not a timestamp", async () => {
      await assertFails(setDoc(mail(t.alice()), { ...welcome(), sendAt: "tomorrow" }));
    });

    it("refuses signed-out callers, another user's uid, and a delivery written by the client", async () => {
      await assertFails(setDoc(mail(modular(t.env.unauthenticatedContext().firestore())), welcome()));
      await assertFails(setDoc(mail(t.alice()), { ...welcome("bob"), to: "alice@example.com" }));
      await assertFails(setDoc(mail(t.alice(), "m2"), { ...welcome(), delivery: { state: "SUCCESS" } }));
      await assertFails(setDoc(mail(t.alice(), "m3"), { ...welcome(), delivery: { state: "RETRY" } }));
    });

    it("gives a mailAdmin claim no extra power while that option is off", async () => {
      const admin = t.as("root", { email: "root@example.com", email_verified: true, mailAdmin: true });
      await assertFails(setDoc(mail(admin), { uid: "root", to: "anyone@example.net", message: { subject: "Hi", text: "x" } }));
    });
  });

  describe("what a client may not read or change afterwards", () => {
    it("hides other users' mail and its delivery.info", async () => {
      await t.seed("mail/m1", sent("bob"));
      await assertFails(getDoc(mail(t.alice())));
      await assertFails(getDocs(collection(t.alice(), "mail")));
      await assertFails(getDoc(mail(modular(t.env.unauthenticatedContext().firestore()))));
    });

    it("refuses redirecting a failed mail to another recipient on RETRY", async () => {
      await t.seed("mail/m1", failed());
      await assertFails(updateDoc(mail(t.alice()), { to: "victim@example.net", "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { bcc: "victim@example.net", "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { toUids: ["bob"], "delivery.state": "RETRY" }));
    });

    it("refuses adding from, headers or a message to a failed mail", async () => {
      await t.seed("mail/m1", failed());
      await assertFails(updateDoc(mail(t.alice()), { from: "ceo@example.com", "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { headers: { "X-A": "1" }, "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { message: { html: "<p>x</p>" } }));
    });

    it("refuses re-sending a sent mail by setting RETRY or PENDING", async () => {
      await t.seed("mail/m1", sent());
      await assertFails(updateDoc(mail(t.alice()), { "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { "delivery.state": "PENDING" }));
    });

    it("refuses editing, retrying or deleting a mail that is being sent", async () => {
      await t.seed("mail/m1", processing());
      await assertFails(updateDoc(mail(t.alice()), { "delivery.state": "RETRY" }));
      await assertFails(updateDoc(mail(t.alice()), { "template.data.name": "x" }));
      await assertFails(updateDoc(mail(t.alice()), { sendAt: inADay() }));
      await assertFails(deleteDoc(mail(t.alice())));
    });

    it("refuses forging delivery on a failed mail: only state, only to RETRY", async () => {
      await t.seed("mail/m1", failed());
      for (const patch of [
        { "delivery.state": "SUCCESS" },
        { "delivery.state": "PENDING" },
        { "delivery.state": "RETRY", "delivery.attempts": 0 },
        { "delivery.error": null },
        { delivery: deleteField() },
        { uid: "bob" },
      ]) {
        await assertFails(updateDoc(mail(t.alice()), patch));
      }
    });

    it("refuses moving sendAt once the mail is due, released, retrying after a failure, or not the caller's", async () => {
      await t.seed("mail/due", waiting("alice", anHourAgo()));
      await assertFails(updateDoc(mail(t.alice(), "due"), { sendAt: inADay() }));
      await t.seed("mail/released", { ...waiting(), delivery: { state: "PENDING", attempts: 0, error: null, nextAttemptTime: null } });
      await assertFails(updateDoc(mail(t.alice(), "released"), { sendAt: inADay() }));
      await t.seed("mail/backoff", waiting("alice", inAnHour(), 1));
      await assertFails(updateDoc(mail(t.alice(), "backoff"), { sendAt: inADay() }));
      await t.seed("mail/bobs", waiting("bob"));
      await assertFails(updateDoc(mail(t.alice(), "bobs"), { sendAt: inADay() }));
    });

    it("refuses changing anything but sendAt on a waiting mail", async () => {
      await t.seed("mail/m1", waiting());
      await assertFails(updateDoc(mail(t.alice()), { sendAt: inADay(), to: "victim@example.net" }));
      await assertFails(updateDoc(mail(t.alice()), { sendAt: "tomorrow" }));
      await assertFails(updateDoc(mail(t.alice()), { sendAt: deleteField() }));
      await assertFails(updateDoc(mail(t.alice()), { "delivery.nextAttemptTime": null }));
      await assertFails(updateDoc(mail(t.alice()), { "delivery.state": "RETRY" }));
    });

    it("refuses cancelling a mail that is due, released, or not the caller's", async () => {
      await t.seed("mail/due", waiting("alice", anHourAgo()));
      await assertFails(deleteDoc(mail(t.alice(), "due")));
      await assertFails(updateDoc(mail(t.alice(), "due"), { "delivery.state": "ERROR" }));
      await t.seed("mail/released", { ...waiting(), delivery: { state: "PENDING", attempts: 0, error: null, nextAttemptTime: null } });
      await assertFails(deleteDoc(mail(t.alice(), "released")));
      await t.seed("mail/bobs", waiting("bob"));
      await assertFails(deleteDoc(mail(t.alice(), "bobs")));
      await assertFails(updateDoc(mail(t.alice(), "bobs"), { "delivery.state": "ERROR" }));
    });

    it("refuses deleting a finished mail", async () => {
      await t.seed("mail/m1", failed());
      await assertFails(deleteDoc(mail(t.alice())));
    });

    it("keeps templates, users and other collections closed", async () => {
      await t.seed("templates/welcome", { subject: "Hi {{name}}" });
      await t.seed("users/bob", { email: "bob@example.com" });
      await assertFails(getDoc(doc(t.alice(), "templates/welcome")));
      await assertFails(setDoc(doc(t.alice(), "templates/evil"), { subject: "x" }));
      await assertFails(getDoc(doc(t.alice(), "users/bob")));
      await assertFails(setDoc(doc(t.alice(), "anything/else"), { a: 1 }));
    });
  });
});

describeWithEmulator("examples/firestore.rules, the users collection", () => {
  const t = rulesEnvironment("demo-rules-users", () => RULES);
  const profile = (db: Firestore, uid = "alice") => doc(db, "users", uid);

  it("lets a user read their own profile and change its other fields", async () => {
    await t.seed("users/alice", { email: "alice@example.com", displayName: "Alice" });
    await assertSucceeds(getDoc(profile(t.alice())));
    await assertSucceeds(updateDoc(profile(t.alice()), { displayName: "Alice L." }));
  });

  it("never lets a user change, remove or set the email that mail by uid goes to", async () => {
    await t.seed("users/alice", { email: "alice@example.com", displayName: "Alice" });
    await assertFails(updateDoc(profile(t.alice()), { email: "attacker@example.com" }));
    await assertFails(updateDoc(profile(t.alice()), { email: deleteField() }));
    await assertFails(setDoc(profile(t.alice()), { email: "attacker@example.com", displayName: "Alice" }));
    await assertFails(setDoc(profile(t.as("bob"), "bob"), { email: "attacker@example.com" }));
  });

  it("keeps other users' profiles closed", async () => {
    await t.seed("users/bob", { email: "bob@example.com" });
    await assertFails(getDoc(profile(t.alice(), "bob")));
    await assertFails(updateDoc(profile(t.alice(), "bob"), { displayName: "Bob" }));
  });
});

describeWithEmulator("examples/firestore.rules with optionPlainTextToSelf on", () => {
  const t = rulesEnvironment("demo-rules-plain-text", () => withOption(RULES, "optionPlainTextToSelf"));
  const mail = (db: Firestore, id = "m1") => doc(db, "mail", id);
  const note = (data: Data = {}): Data => ({ uid: "alice", to: "alice@example.com", message: { subject: "Note", text: "Buy milk" }, ...data });

  it("lets a user mail a plain-text note to their own verified address, and retry it", async () => {
    await assertSucceeds(setDoc(mail(t.alice()), note()));
    await assertSucceeds(setDoc(mail(t.alice(), "m2"), welcome()));
    await t.seed("mail/m3", { ...note(), delivery: { state: "ERROR", attempts: 1, error: "x" } });
    await assertSucceeds(updateDoc(mail(t.alice(), "m3"), { "message.text": "Buy oat milk", "delivery.state": "RETRY" }));
  });

  it("still refuses html, attachments, other recipients, from and a message beside a template", async () => {
    await assertFails(setDoc(mail(t.alice()), note({ message: { subject: "x", text: "x", html: "<p>x</p>" } })));
    await assertFails(setDoc(mail(t.alice()), note({ message: { subject: "x", text: "x", attachments: [] } })));
    await assertFails(setDoc(mail(t.alice()), note({ to: "victim@example.net" })));
    await assertFails(setDoc(mail(t.alice()), note({ from: "ceo@example.com" })));
    await assertFails(setDoc(mail(t.alice()), { ...welcome(), message: { subject: "x", text: "x" } }));
  });
});

describeWithEmulator("examples/firestore.rules with optionMailAdmins on", () => {
  const t = rulesEnvironment("demo-rules-admins", () => withOption(RULES, "optionMailAdmins"));
  const mail = (db: Firestore, id = "m1") => doc(db, "mail", id);
  const admin = () => t.as("root", { email: "root@example.com", email_verified: true, mailAdmin: true });
  const anyMail: Data = {
    uid: "root",
    to: ["anyone@example.net"],
    cc: "other@example.net",
    toUids: ["bob"],
    from: "Support <support@example.com>",
    replyTo: "help@example.com",
    headers: { "X-Campaign": "autumn" },
    message: { subject: "Hi", html: "<p>Hi</p>" },
  };

  it("lets a user with the mailAdmin claim send anything, read every mail and retry any failed one", async () => {
    await assertSucceeds(setDoc(mail(admin()), anyMail));
    await t.seed("mail/m2", failed("bob"));
    await assertSucceeds(getDoc(mail(admin(), "m2")));
    await assertSucceeds(getDocs(collection(admin(), "mail")));
    await assertSucceeds(updateDoc(mail(admin(), "m2"), { to: "fixed@example.com", "delivery.state": "RETRY" }));
  });

  it("still refuses a delivery written by an admin, a sent mail re-sent, and everyone without the claim", async () => {
    await assertFails(setDoc(mail(admin()), { ...anyMail, delivery: { state: "SUCCESS" } }));
    await assertFails(setDoc(mail(admin(), "m2"), { ...anyMail, uid: "bob" }));
    await t.seed("mail/m3", sent("bob"));
    await assertFails(updateDoc(mail(admin(), "m3"), { "delivery.state": "RETRY" }));
    await assertFails(setDoc(mail(t.alice(), "m4"), { ...anyMail, uid: "alice" }));
    await assertFails(getDoc(mail(t.alice(), "m3")));
  });
});
