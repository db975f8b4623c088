/**
 * The example firestore.rules, evaluated by the emulator's rules engine:
 * signed-in users create their own mail without `delivery`, read only their
 * own, and may only set `delivery.state` to RETRY on a mail that failed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from "@firebase/rules-unit-testing";
import { doc, getDoc, setDoc, updateDoc, deleteDoc, deleteField, setLogLevel } from "firebase/firestore";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-env";

const PROJECT = "demo-firestore-rules";
const RULES = readFileSync(join(__dirname, "..", "..", "..", "firestore.rules"), "utf8");

const mail = (uid: string) => ({ uid, to: "someone@example.com", message: { subject: "Hi", text: "Hello" } });
const failed = (uid: string) => ({
  ...mail(uid),
  delivery: { state: "ERROR", attempts: 1, error: "550 Mailbox unavailable", leaseExpireTime: null },
});

describeWithEmulator("firestore.rules for the mail collection", () => {
  let env: RulesTestEnvironment;

  beforeAll(async () => {
    // Every refused write is expected here; the SDK would warn about each one.
    setLogLevel("silent");
    const [host, port] = emulatorHost!.split(":");
    env = await initializeTestEnvironment({ projectId: PROJECT, firestore: { host, port: Number(port), rules: RULES } });
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  beforeEach(async () => {
    await env.clearFirestore();
  });

  /** Writes a document as the Admin SDK (the extension) would, bypassing the rules. */
  async function seed(path: string, data: Record<string, unknown>): Promise<void> {
    await env.withSecurityRulesDisabled(async (context) => {
      await setDoc(doc(context.firestore(), path), data);
    });
  }

  const alice = () => env.authenticatedContext("alice").firestore();
  const bob = () => env.authenticatedContext("bob").firestore();

  test("a signed-in user creates a mail document of their own", async () => {
    await assertSucceeds(setDoc(doc(alice(), "mail/m1"), mail("alice")));
  });

  test("signed-out users, other users' uids and a forged delivery are refused on create", async () => {
    await assertFails(setDoc(doc(env.unauthenticatedContext().firestore(), "mail/m1"), mail("alice")));
    await assertFails(setDoc(doc(alice(), "mail/m1"), mail("bob")));
    await assertFails(setDoc(doc(alice(), "mail/m1"), { to: "someone@example.com", message: { subject: "x" } }));
    await assertFails(setDoc(doc(alice(), "mail/m1"), { ...mail("alice"), delivery: { state: "SUCCESS" } }));
    await assertFails(setDoc(doc(alice(), "mail/m1"), { ...mail("alice"), delivery: { state: "RETRY" } }));
  });

  test("owners read their own mail, and nobody else's", async () => {
    await seed("mail/m1", failed("alice"));
    await assertSucceeds(getDoc(doc(alice(), "mail/m1")));
    await assertFails(getDoc(doc(bob(), "mail/m1")));
    await assertFails(getDoc(doc(env.unauthenticatedContext().firestore(), "mail/m1")));
  });

  test("the owner of a failed mail may set delivery.state to RETRY, with a correction", async () => {
    await seed("mail/m1", failed("alice"));
    await assertSucceeds(updateDoc(doc(alice(), "mail/m1"), { "delivery.state": "RETRY" }));
    await seed("mail/m2", failed("alice"));
    await assertSucceeds(updateDoc(doc(alice(), "mail/m2"), { to: "fixed@example.com", "delivery.state": "RETRY" }));
  });

  test("delivery cannot be forged: no other state, no other delivery field, not before a failure", async () => {
    await seed("mail/m1", failed("alice"));
    const ref = doc(alice(), "mail/m1");
    await assertFails(updateDoc(ref, { "delivery.state": "SUCCESS" }));
    await assertFails(updateDoc(ref, { "delivery.state": "PENDING" }));
    await assertFails(updateDoc(ref, { "delivery.state": "RETRY", "delivery.attempts": 0 }));
    await assertFails(updateDoc(ref, { "delivery.error": null }));
    await assertFails(updateDoc(ref, { delivery: deleteField() }));
    await assertFails(updateDoc(ref, { uid: "bob" }));

    for (const state of ["PENDING", "PROCESSING", "SUCCESS", "RETRY"]) {
      await seed("mail/m2", { ...mail("alice"), delivery: { state, attempts: 1 } });
      await assertFails(updateDoc(doc(alice(), "mail/m2"), { "delivery.state": "RETRY" }));
    }
  });

  test("other users cannot retry or edit someone's mail, and nobody deletes through the rules", async () => {
    await seed("mail/m1", failed("alice"));
    await assertFails(updateDoc(doc(bob(), "mail/m1"), { "delivery.state": "RETRY" }));
    await assertFails(updateDoc(doc(bob(), "mail/m1"), { to: "bob@example.com" }));
    await assertFails(deleteDoc(doc(alice(), "mail/m1")));
  });

  test("templates, users and other collections are closed to clients", async () => {
    await seed("templates/welcome", { subject: "Hi {{name}}" });
    await seed("users/alice", { email: "alice@example.com" });
    await assertFails(getDoc(doc(alice(), "templates/welcome")));
    await assertFails(setDoc(doc(alice(), "templates/evil"), { subject: "x" }));
    await assertFails(getDoc(doc(alice(), "users/alice")));
    await assertFails(setDoc(doc(alice(), "anything/else"), { a: 1 }));
  });
});
