/**
 * The archive of what was sent (ARCHIVE_SENT_MAIL), through the whole
 * pipeline: a mail in the Firestore emulator, processQueue, a real SMTP
 * server, and for messages too large for a document firebase-tools' Storage
 * emulator. The archive must say what the server received, cost one write
 * per accepted attempt, and never change the outcome when it cannot be
 * written.
 */
import { createHash, randomBytes } from "node:crypto";
import { getApps } from "firebase-admin/app";
import { getStorage } from "firebase-admin/storage";
import { canonicalJson, type CanonicalValue } from "../../src/archive/canonical-json";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { mailHarness } from "../helpers/mail-harness";
import { describeWithStorageEmulator, startStorageEmulator, type StorageEmulator } from "../helpers/storage-emulator";

// The modules themselves, so that a spy on a prototype sees the extension's calls.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");
const firestoreModule: typeof import("@google-cloud/firestore") = jest.requireActual("@google-cloud/firestore");
const gcs: typeof import("@google-cloud/storage") = jest.requireActual("@google-cloud/storage");

const PROJECT = "demo-archive";
const BUCKET = `${PROJECT}.appspot.com`;
const ON = { ARCHIVE_SENT_MAIL: "true" };
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const PDF = randomBytes(40 * 1024);

/** The archive's log lines so far: their code. */
const archiveWarnings = (warn: jest.SpiedFunction<typeof functionsLogger.warn>) =>
  warn.mock.calls.flatMap(([, fields]) => ((fields as { event?: unknown } | undefined)?.event === "archive-failed" ? [(fields as { code: string }).code] : []));

/** Every `set` of an archive document, landed or not. */
const archiveSets = () => {
  const set = jest.spyOn(firestoreModule.DocumentReference.prototype, "set");
  return () => set.mock.contexts.filter((ref) => (ref as import("@google-cloud/firestore").DocumentReference).path.includes("/archive/")).length;
};

/** A message of about 940 KB of bodies: more than an archive document holds, less than a mail document does. */
const LARGE = { subject: "Annual report", text: "t".repeat(470_000), html: `<p>${"h".repeat(470_000)}</p>` };

describeWithEmulator("the archive of what was sent", () => {
  const h = mailHarness(PROJECT);
  afterEach(() => jest.restoreAllMocks());

  const archiveDocs = (path: string) => h.db.collection(`${path}/archive`).get();

  it("with the param off, writes nothing and the outcome is as before", async () => {
    await h.useSink();
    const sets = archiveSets();
    const path = h.nextPath();
    const snap = await h.trigger.create(path, { to: "ann@example.com", message: { subject: "Hi", text: "Hello" } });
    expect(snap.get("delivery.state")).toBe("SUCCESS");
    expect(snap.get("delivery.info.archive")).toBeUndefined();
    expect(Object.keys(snap.get("delivery.info")).sort()).toEqual(["accepted", "messageId", "pending", "rejected", "response"]);
    expect((await archiveDocs(path)).size).toBe(0);
    expect(sets()).toBe(0);
  });

  it("keeps what the server received, once, with its hash in delivery.info.archive", async () => {
    const sink = await h.useSink({}, ON);
    const sets = archiveSets();
    const path = h.nextPath();
    const snap = await h.trigger.create(path, {
      to: ["ann@example.com"],
      cc: "cat@example.com",
      bcc: "audit@example.com",
      replyTo: "help@example.com",
      headers: { "X-Order": "42" },
      message: {
        subject: "Your invoice",
        text: "Attached, with thanks.",
        html: "<p>Attached, with <b>thanks</b>.</p>",
        attachments: [
          { filename: "invoice.pdf", content: PDF.toString("base64"), encoding: "base64", contentType: "application/pdf" },
          { filename: "note.txt", path: `data:text/plain;base64,${Buffer.from("paid in full").toString("base64")}` },
        ],
      },
    });
    expect([snap.get("delivery.state"), snap.get("delivery.error")]).toEqual(["SUCCESS", null]);
    const [received] = await sink.waitForMessages(1);
    const { parsed } = received;

    const reference = snap.get("delivery.info.archive");
    const docs = await archiveDocs(path);
    expect(docs.size).toBe(1);
    const [doc] = docs.docs;
    expect(reference).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), path: doc.ref.path });
    expect(doc.id).toBe(snap.get("delivery.attemptId"));
    // Anyone can check the copy against the hash, from the copy alone.
    expect(sha256(canonicalJson(doc.data() as CanonicalValue))).toBe(reference.sha256);

    const record = doc.data();
    expect(record).toMatchObject({
      format: 1,
      mailPath: path,
      messageId: parsed.messageId,
      subject: parsed.subject,
      text: parsed.text,
      html: parsed.html,
      from: "Example App <noreply@example.com>",
      replyTo: "help@example.com",
      to: ["ann@example.com"],
      cc: ["cat@example.com"],
      // No Bcc header went out, but the server was given the address, and the archive says so.
      bcc: ["audit@example.com"],
      headers: [{ name: "X-Order", value: "42" }],
    });
    expect(received.envelope.rcptTo).toContain("audit@example.com");
    expect(parsed.headers.get("x-order")).toBe("42");
    expect(record.attachments).toEqual(
      parsed.attachments.map((attachment) => ({ filename: attachment.filename, contentType: attachment.contentType, size: attachment.content.length, sha256: sha256(attachment.content) })),
    );
    expect(record.attachments[0]).toEqual({ filename: "invoice.pdf", contentType: "application/pdf", size: PDF.length, sha256: sha256(PDF) });
    // Never the content.
    expect(JSON.stringify(record)).not.toContain(PDF.toString("base64").slice(0, 40));
    expect(sets()).toBe(1);
    // The rest of the info is the usual one.
    expect(snap.get("delivery.info")).toMatchObject({ messageId: parsed.messageId, accepted: ["ann@example.com", "cat@example.com", "audit@example.com"], rejected: [] });
  });

  it("a RETRY after a success sends again and archives that attempt on its own: one write per accepted attempt", async () => {
    const sink = await h.useSink({}, ON);
    const sets = archiveSets();
    const path = h.nextPath();
    const first = await h.trigger.create(path, { to: "ann@example.com", message: { subject: "Twice", text: "Hello" } });
    const again = await h.trigger.update(path, { "delivery.state": "RETRY" });
    expect(again.get("delivery.state")).toBe("SUCCESS");
    await sink.waitForMessages(2);
    const docs = await archiveDocs(path);
    expect(docs.docs.map((doc) => doc.id).sort()).toEqual([first.get("delivery.attemptId"), again.get("delivery.attemptId")].sort());
    expect(again.get("delivery.info.archive.path")).toBe(`${path}/archive/${again.get("delivery.attemptId")}`);
    // Each record names its attempt, so their hashes differ even for the same message.
    expect(again.get("delivery.info.archive.sha256")).not.toBe(first.get("delivery.info.archive.sha256"));
    expect(sets()).toBe(2);
  });

  it("a message too large for a document without ARCHIVE_STORAGE_PATH: delivered, recorded as usual, not archived, and a warning says why", async () => {
    const sink = await h.useSink({}, ON);
    const warn = jest.spyOn(functionsLogger, "warn");
    const sets = archiveSets();
    const path = h.nextPath();
    const snap = await h.trigger.create(path, { to: "ann@example.com", message: LARGE });
    expect([snap.get("delivery.state"), snap.get("delivery.error"), snap.get("delivery.attempts")]).toEqual(["SUCCESS", null, 1]);
    expect(snap.get("delivery.info.archive")).toBeUndefined();
    expect(snap.get("delivery.info.accepted")).toEqual(["ann@example.com"]);
    expect(sink.messages).toHaveLength(1);
    expect(archiveWarnings(warn)).toEqual(["archive-too-large"]);
    expect(warn.mock.calls.find(([, fields]) => (fields as { event?: string }).event === "archive-failed")?.[0]).toContain("set ARCHIVE_STORAGE_PATH");
    expect(sets()).toBe(0);
  });

  it("Firestore refusing the archive: delivered, recorded as usual without the reference, and a warning", async () => {
    await h.useSink({}, ON);
    const warn = jest.spyOn(functionsLogger, "warn");
    const original = firestoreModule.DocumentReference.prototype.set;
    jest.spyOn(firestoreModule.DocumentReference.prototype, "set").mockImplementation(function (this: import("@google-cloud/firestore").DocumentReference, ...args: unknown[]) {
      if (this.path.includes("/archive/")) return Promise.reject(Object.assign(new Error("7 PERMISSION_DENIED: Missing or insufficient permissions."), { code: 7 }));
      return Reflect.apply(original, this, args);
    });
    const path = h.nextPath();
    const snap = await h.trigger.create(path, { to: "ann@example.com", message: { subject: "Hi", text: "Hello" } });
    expect([snap.get("delivery.state"), snap.get("delivery.error"), snap.get("delivery.attempts")]).toEqual(["SUCCESS", null, 1]);
    expect(snap.get("delivery.info.archive")).toBeUndefined();
    expect(snap.get("delivery.info.accepted")).toEqual(["ann@example.com"]);
    expect(archiveWarnings(warn)).toEqual(["archive-write-failed"]);
    expect((await archiveDocs(path)).size).toBe(0);
  });

  describeWithStorageEmulator("a message too large for a document, with ARCHIVE_STORAGE_PATH", () => {
    let storage: StorageEmulator;
    const STORAGE_PARAMS = { ...ON, MAIL_COLLECTION: "tenants/{tenant}/mail", ARCHIVE_STORAGE_PATH: `gs://${BUCKET}/tenants/{tenant}/sent-mail` };
    const bucket = () => getStorage(getApps()[0]).bucket(BUCKET);

    beforeAll(async () => {
      storage = await startStorageEmulator(PROJECT);
    }, 60_000);
    afterAll(async () => {
      await storage?.stop();
    });

    it("goes to one Cloud Storage object below the mail's tenant, and no document is written", async () => {
      const sink = await h.useSink({}, STORAGE_PARAMS);
      const sets = archiveSets();
      const save = jest.spyOn(gcs.File.prototype, "save");
      const path = "tenants/acme/mail/big1";
      const snap = await h.trigger.create(path, { to: "ann@example.com", message: LARGE });
      expect([snap.get("delivery.state"), snap.get("delivery.error")]).toEqual(["SUCCESS", null]);
      const [received] = await sink.waitForMessages(1);

      const attemptId = snap.get("delivery.attemptId");
      const reference = snap.get("delivery.info.archive");
      expect(reference).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), storageUri: `gs://${BUCKET}/tenants/acme/sent-mail/big1/${attemptId}.json` });
      const [bytes] = await bucket().file(`tenants/acme/sent-mail/big1/${attemptId}.json`).download();
      expect(sha256(bytes)).toBe(reference.sha256);
      const record = JSON.parse(bytes.toString("utf8"));
      expect(canonicalJson(record)).toBe(bytes.toString("utf8"));
      expect(record).toMatchObject({ mailPath: path, attemptId, subject: received.parsed.subject, text: received.parsed.text, html: received.parsed.html });
      const [metadata] = await bucket().file(`tenants/acme/sent-mail/big1/${attemptId}.json`).getMetadata();
      expect([metadata.contentType, metadata.metadata?.sha256]).toEqual(["application/json", reference.sha256]);
      expect((await archiveDocs(path)).size).toBe(0);
      expect([sets(), save.mock.calls.length]).toEqual([0, 1]);
    });

    it("Cloud Storage refusing: delivered, recorded as usual without the reference, and a warning", async () => {
      await h.useSink({}, STORAGE_PARAMS);
      const warn = jest.spyOn(functionsLogger, "warn");
      const refused = Object.assign(new Error("The caller does not have storage.objects.create access"), { code: 403 });
      jest.spyOn(gcs.File.prototype, "save").mockImplementation((() => Promise.reject(refused)) as never);
      const snap = await h.trigger.create("tenants/acme/mail/big2", { to: "ann@example.com", message: LARGE });
      expect([snap.get("delivery.state"), snap.get("delivery.error"), snap.get("delivery.info.accepted")]).toEqual(["SUCCESS", null, ["ann@example.com"]]);
      expect(snap.get("delivery.info.archive")).toBeUndefined();
      expect(archiveWarnings(warn)).toEqual(["archive-write-failed"]);
    });
  });
});
