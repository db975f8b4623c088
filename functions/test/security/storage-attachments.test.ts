/**
 * Attachments named as Cloud Storage objects, through the whole pipeline:
 * a mail written under tenants/{tenant}/mail in the Firestore emulator,
 * processQueue, firebase-tools' Storage emulator read with the Admin SDK,
 * and a real SMTP server. Tenant acme's mail reads only below
 * gs://BUCKET/tenants/acme/attachments/; every way of naming tenant beta's
 * invoice (or another bucket's object) ends in ERROR naming the attachment,
 * with nothing sent.
 */
import { randomBytes } from "node:crypto";
import { getApps } from "firebase-admin/app";
import { getStorage } from "firebase-admin/storage";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { useDownloadOptions } from "../helpers/extension-env";
import { mailHarness } from "../helpers/mail-harness";
import { describeWithStorageEmulator, startStorageEmulator, type StorageEmulator } from "../helpers/storage-emulator";

// The module itself, so that its prototype can be spied on: the one the extension's client uses.
const gcs: typeof import("@google-cloud/storage") = jest.requireActual("@google-cloud/storage");

const PROJECT = "demo-storage-attachments";
const BUCKET = `${PROJECT}.appspot.com`;
const PARAMS = { MAIL_COLLECTION: "tenants/{tenant}/mail", STORAGE_ATTACHMENTS_PATH: `gs://${BUCKET}/tenants/{tenant}/attachments` };
const INVOICE = randomBytes(200 * 1024);
const SECRET = Buffer.from("%PDF-1.7 beta's invoice: SECRET-BETA-7731");

describeWithEmulator("Cloud Storage attachments", () => {
  describeWithStorageEmulator("against the Storage emulator", () => {
    const h = mailHarness(PROJECT);
    let storage: StorageEmulator;
    let counter = 0;
    const mailOf = (tenant: string) => `tenants/${tenant}/mail/m${++counter}`;
    const bucket = (name = BUCKET) => getStorage(getApps()[0]).bucket(name);

    beforeAll(async () => {
      storage = await startStorageEmulator(PROJECT);
      await bucket().file("tenants/acme/attachments/invoices/42.pdf").save(INVOICE, { contentType: "application/pdf" });
      await bucket().file("tenants/acme/attachments/notes.txt").save(Buffer.from("plain notes"), { contentType: "text/plain" });
      await bucket().file("tenants/beta/attachments/invoices/7.pdf").save(SECRET, { contentType: "application/pdf" });
      await bucket().file("tenants/acme/attachments-evil/x.pdf").save(SECRET, { contentType: "application/pdf" });
      await bucket("other-bucket").file("tenants/acme/attachments/invoices/42.pdf").save(SECRET, { contentType: "application/pdf" });
    }, 60_000);
    afterAll(async () => {
      await storage?.stop();
    });
    afterEach(() => jest.restoreAllMocks());

    const write = (tenant: string, attachments: unknown[]) =>
      h.trigger.create(mailOf(tenant), { to: "ann@example.com", message: { subject: "Invoice", text: "Attached.", attachments } });
    /** Starts the test's SMTP sink with `params`, then writes a mail. */
    const send = async (tenant: string, attachments: unknown[], params: Record<string, string> = PARAMS) => {
      await h.useSink({}, params);
      return write(tenant, attachments);
    };

    it("delivers an object named by storagePath with its bytes intact, its name and its stored content type", async () => {
      const snap = await send("acme", [{ storagePath: "invoices/42.pdf" }, { filename: "notes.txt", path: `gs://${BUCKET}/tenants/acme/attachments/notes.txt` }]);
      expect([snap.get("delivery.state"), snap.get("delivery.error")]).toEqual(["SUCCESS", null]);
      const [mail] = await h.sink.waitForMessages(1);
      expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
        ["42.pdf", "application/pdf"],
        ["notes.txt", "text/plain"],
      ]);
      expect(mail.parsed.attachments[0].content.equals(INVOICE)).toBe(true);
      expect(mail.parsed.attachments[1].content.toString("utf8")).toBe("plain notes");
    });

    it("keeps the filename and contentType the mail gives", async () => {
      const snap = await send("acme", [{ storagePath: "invoices/42.pdf", filename: "March.pdf", contentType: "application/x-invoice" }]);
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      const [mail] = await h.sink.waitForMessages(1);
      expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.length])).toEqual([["March.pdf", "application/x-invoice", INVOICE.length]]);
    });

    it.each([
      ["storagePath climbing out with ..", { filename: "x.pdf", storagePath: "../../beta/attachments/invoices/7.pdf" }, 'its storagePath has a ".." segment'],
      ["storagePath with percent-encoded dots", { filename: "x.pdf", storagePath: "%2e%2e/%2e%2e/beta/attachments/invoices/7.pdf" }, "its storagePath has a percent sign"],
      ["storagePath with backslashes", { filename: "x.pdf", storagePath: "..\\..\\beta\\attachments\\invoices\\7.pdf" }, "its storagePath has a backslash"],
      ["storagePath from the bucket's root", { filename: "x.pdf", storagePath: "/tenants/beta/attachments/invoices/7.pdf" }, "its storagePath has an empty segment"],
      ["a gs:// path to the other tenant", { filename: "x.pdf", path: `gs://${BUCKET}/tenants/beta/attachments/invoices/7.pdf` }, `its path is outside gs://${BUCKET}/tenants/acme/attachments/`],
      ["a gs:// path through ..", { filename: "x.pdf", path: `gs://${BUCKET}/tenants/acme/attachments/../../beta/attachments/invoices/7.pdf` }, 'its path has a ".." segment'],
      ["a gs:// path to a look-alike prefix", { filename: "x.pdf", path: `gs://${BUCKET}/tenants/acme/attachments-evil/x.pdf` }, "its path is outside"],
      ["a gs:// path to another bucket", { filename: "x.pdf", path: "gs://other-bucket/tenants/acme/attachments/invoices/42.pdf" }, "its path names another bucket"],
    ])("refuses %s for tenant acme's mail; nothing is sent", async (_label, attachment, reason) => {
      const read = jest.spyOn(gcs.File.prototype, "createReadStream");
      const snap = await send("acme", [{ content: "cover letter", filename: "cover.txt" }, attachment]);
      expect(snap.get("delivery.state")).toBe("ERROR");
      const error: string = snap.get("delivery.error");
      expect(error).toContain('The attachment message.attachments[1] ("x.pdf") was not read from Cloud Storage: ');
      expect(error).toContain(reason);
      expect(error).toContain(`expected`);
      expect(error).not.toContain("SECRET");
      expect(read).not.toHaveBeenCalled();
      expect(h.sink.messages).toHaveLength(0);
    });

    it("lets tenant beta's mail read beta's invoice, by the same storagePath acme's mail would use", async () => {
      const snap = await send("beta", [{ storagePath: "invoices/7.pdf" }]);
      expect(snap.get("delivery.state")).toBe("SUCCESS");
      const [mail] = await h.sink.waitForMessages(1);
      expect(mail.parsed.attachments[0].content.equals(SECRET)).toBe(true);
      const acme = await write("acme", [{ storagePath: "invoices/7.pdf" }]);
      expect(acme.get("delivery.error")).toContain(`there is no object gs://${BUCKET}/tenants/acme/attachments/invoices/7.pdf`);
    });

    it("ends a missing object in ERROR naming the attachment", async () => {
      const snap = await send("acme", [{ filename: "43.pdf", storagePath: "invoices/43.pdf" }]);
      expect(snap.get("delivery.state")).toBe("ERROR");
      expect(snap.get("delivery.error")).toBe(
        `The attachment message.attachments[0] ("43.pdf") could not be read from Cloud Storage: there is no object gs://${BUCKET}/tenants/acme/attachments/invoices/43.pdf. Check the object, or give the attachment as content.`,
      );
      expect(h.sink.messages).toHaveLength(0);
    });

    it("refuses an object over the size limit from its metadata, without reading it", async () => {
      const restore = useDownloadOptions({ limits: { attachmentBytes: 64 * 1024 } });
      try {
        const read = jest.spyOn(gcs.File.prototype, "createReadStream");
        const snap = await send("acme", [{ storagePath: "invoices/42.pdf" }]);
        expect(snap.get("delivery.state")).toBe("ERROR");
        expect(snap.get("delivery.error")).toBe(
          "The attachment message.attachments[0] could not be read from Cloud Storage: it is larger than 65536 bytes. Check the object, or give the attachment as content.",
        );
        expect(read).not.toHaveBeenCalled();
        expect(h.sink.messages).toHaveLength(0);
      } finally {
        restore();
      }
    });

    it("stops reading at the size limit when the object is larger than its metadata said (replaced meanwhile)", async () => {
      const restore = useDownloadOptions({ limits: { attachmentBytes: 64 * 1024 } });
      try {
        const getMetadata = gcs.File.prototype.getMetadata;
        jest.spyOn(gcs.File.prototype, "getMetadata").mockImplementation(async function (this: InstanceType<typeof gcs.File>) {
          const [metadata] = await (getMetadata as (this: unknown) => Promise<[object, unknown]>).call(this);
          return [{ ...metadata, size: "10" }];
        } as never);
        const snap = await send("acme", [{ storagePath: "invoices/42.pdf" }]);
        expect(snap.get("delivery.state")).toBe("ERROR");
        expect(snap.get("delivery.error")).toContain("could not be read from Cloud Storage: it is larger than 65536 bytes");
        expect(h.sink.messages).toHaveLength(0);
      } finally {
        restore();
      }
    });

    it("gives up at the download deadline when Cloud Storage does not answer", async () => {
      const restore = useDownloadOptions({ limits: { deadlineMs: 300 } });
      try {
        jest.spyOn(gcs.File.prototype, "getMetadata").mockImplementation((() => new Promise(() => undefined)) as never);
        const started = Date.now();
        const snap = await send("acme", [{ storagePath: "invoices/42.pdf" }]);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(snap.get("delivery.state")).toBe("ERROR");
        expect(snap.get("delivery.error")).toContain("could not be read from Cloud Storage: the attachments were not all downloaded within 0.3 s");
      } finally {
        restore();
      }
    });

    it("ends in ERROR saying STORAGE_ATTACHMENTS_PATH is not set when the instance has not opted in", async () => {
      await h.useSink({}, { MAIL_COLLECTION: "tenants/{tenant}/mail" });
      for (const attachment of [{ filename: "42.pdf", storagePath: "invoices/42.pdf" }, { filename: "42.pdf", path: `gs://${BUCKET}/tenants/acme/attachments/invoices/42.pdf` }]) {
        const snap = await write("acme", [attachment]);
        expect(snap.get("delivery.state")).toBe("ERROR");
        expect(snap.get("delivery.error")).toBe(
          'The attachment message.attachments[0] ("42.pdf") names a Cloud Storage object, but STORAGE_ATTACHMENTS_PATH is not set, so Cloud Storage attachments are off. Set STORAGE_ATTACHMENTS_PATH, or give the attachment as content or a public https URL.',
        );
        expect(h.sink.messages).toHaveLength(0);
      }
    });
  });
});
