/**
 * The tenants block of the example rules (examples/firestore.rules): a
 * signed-in member of tenant A cannot send through tenant B's sender profile
 * by any route a client has: writing under B's path, naming B in a field,
 * reading or writing B's profile or templates.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertFails, assertSucceeds, initializeTestEnvironment, type RulesTestEnvironment } from "@firebase/rules-unit-testing";
import { doc, getDoc, setDoc, setLogLevel, type Firestore } from "firebase/firestore";
import { describeWithEmulator, emulatorHost } from "../helpers/emulator-fixture";

const RULES = readFileSync(join(__dirname, "..", "..", "..", "examples", "firestore.rules"), "utf8");
const modular = (db: unknown): Firestore => db as Firestore;

describeWithEmulator("examples/firestore.rules with tenants", () => {
  let env: RulesTestEnvironment;
  beforeAll(async () => {
    setLogLevel("silent");
    const [host, port] = emulatorHost!.split(":");
    env = await initializeTestEnvironment({ projectId: "demo-tenant-rules", firestore: { host, port: Number(port), rules: RULES } });
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  beforeEach(async () => {
    await env.clearFirestore();
    await env.withSecurityRulesDisabled(async (context) => {
      const db = modular(context.firestore());
      await setDoc(doc(db, "senderProfiles/globex"), { params: { DEFAULT_FROM: "news@globex.example" } });
      await setDoc(doc(db, "tenants/globex/templates/welcome"), { subject: "Globex", text: "Hi" });
      await setDoc(doc(db, "tenants/globex/mail/theirs"), { uid: "bob", to: "bob@example.com", template: { name: "welcome" } });
    });
  });

  // Alice is a member of acme only; the same verified address and template the shipped rules allow.
  const alice = () => modular(env.authenticatedContext("alice", { email: "alice@example.com", email_verified: true, tenants: ["acme"] }).firestore());
  const welcome = (extra: Record<string, unknown> = {}) => ({ uid: "alice", to: "alice@example.com", template: { name: "welcome" }, ...extra });

  it("lets a member send under their own tenant", async () => {
    await assertSucceeds(setDoc(doc(alice(), "tenants/acme/mail/m1"), welcome()));
  });

  it("refuses the member's mail under another tenant's path", async () => {
    await assertFails(setDoc(doc(alice(), "tenants/globex/mail/m1"), welcome()));
    await assertFails(getDoc(doc(alice(), "tenants/globex/mail/theirs")));
  });

  it("refuses a field naming another tenant's profile", async () => {
    await assertFails(setDoc(doc(alice(), "tenants/acme/mail/m2"), welcome({ profile: "globex" })));
    await assertFails(setDoc(doc(alice(), "tenants/acme/mail/m3"), welcome({ senderProfile: "globex" })));
  });

  it("refuses reading or writing any sender profile, and another tenant's templates", async () => {
    await assertFails(getDoc(doc(alice(), "senderProfiles/globex")));
    await assertFails(setDoc(doc(alice(), "senderProfiles/acme"), { params: { SMTP_CONNECTION_URI: "smtp://evil.example" } }));
    await assertFails(getDoc(doc(alice(), "tenants/globex/templates/welcome")));
    await assertFails(setDoc(doc(alice(), "tenants/acme/templates/welcome"), { subject: "x", html: "<script>" }));
  });

  it("refuses a signed-in user without the claim, and a claim that is not a list", async () => {
    const noClaim = modular(env.authenticatedContext("carol", { email: "carol@example.com", email_verified: true }).firestore());
    await assertFails(setDoc(doc(noClaim, "tenants/acme/mail/m1"), { ...welcome(), uid: "carol", to: "carol@example.com" }));
    const text = modular(env.authenticatedContext("dave", { email: "dave@example.com", email_verified: true, tenants: "acme" }).firestore());
    await assertFails(setDoc(doc(text, "tenants/acme/mail/m1"), { ...welcome(), uid: "dave", to: "dave@example.com" }));
  });
});
