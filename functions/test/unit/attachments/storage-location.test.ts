import { namesStorageObject, storageObject, storageScope, StorageLocationRefused, type SourcedAttachment } from "../../../src/attachments/storage-location";
import { caught } from "../../helpers/caught";

const SETTINGS = { bucket: "my-app.appspot.com", prefix: "tenants/{tenant}/attachments" };
const MAIL_COLLECTION = "tenants/{tenant}/mail";
const scopeA = storageScope(SETTINGS, MAIL_COLLECTION, "tenants/acme/mail/m1");

const refusal = (attachment: SourcedAttachment) => caught(StorageLocationRefused, () => storageObject(attachment, scopeA)).message;

describe("storageScope: the location a mail may read, from its own path", () => {
  it("fills the prefix's wildcards from the mail's collection", () => {
    expect(scopeA).toEqual({ bucket: "my-app.appspot.com", prefix: ["tenants", "acme", "attachments"] });
    expect(storageScope(SETTINGS, MAIL_COLLECTION, "tenants/beta/mail/x").prefix).toEqual(["tenants", "beta", "attachments"]);
  });

  it("gives the whole bucket for an empty prefix, and a fixed prefix to every mail", () => {
    expect(storageScope({ bucket: "b-1", prefix: "" }, "mail", "mail/m1")).toEqual({ bucket: "b-1", prefix: [] });
    expect(storageScope({ bucket: "b-1", prefix: "shared/files" }, MAIL_COLLECTION, "tenants/t/mail/m")).toEqual({ bucket: "b-1", prefix: ["shared", "files"] });
  });

  it("refuses a mail outside MAIL_COLLECTION, and a tenant id that is not a plain segment", () => {
    expect(caught(StorageLocationRefused, () => storageScope(SETTINGS, MAIL_COLLECTION, "other/acme/mail/m1")).message).toContain("not in MAIL_COLLECTION");
    expect(caught(StorageLocationRefused, () => storageScope(SETTINGS, MAIL_COLLECTION, "tenants/a%2F..%2Fb/mail/m1")).message).toContain("valid Cloud Storage prefix");
  });
});

describe("storageObject: storagePath", () => {
  it("is a name relative to the filled prefix", () => {
    expect(storageObject({ storagePath: "invoices/42.pdf" }, scopeA)).toEqual({ bucket: "my-app.appspot.com", name: "tenants/acme/attachments/invoices/42.pdf" });
    expect(storageObject({ storagePath: "Rapport d'été (v2).pdf" }, scopeA).name).toBe("tenants/acme/attachments/Rapport d'été (v2).pdf");
  });

  it.each([
    ["../../beta/attachments/invoice.pdf", 'a ".." segment'],
    ["invoices/../../../beta/attachments/x.pdf", 'a ".." segment'],
    ["./x.pdf", 'a "." segment'],
    ["/tenants/beta/attachments/x.pdf", "an empty segment"],
    ["invoices//x.pdf", "an empty segment"],
    ["invoices/", "an empty segment"],
    ["..\\beta\\x.pdf", "a backslash"],
    ["%2e%2e/beta/x.pdf", "a percent sign"],
    ["..%2fbeta/x.pdf", "a percent sign"],
    ["x\n.pdf", "a control character"],
    ["x\u0000.pdf", "a control character"],
  ])("refuses %j: %s", (storagePath, reason) => {
    const message = refusal({ storagePath });
    expect(message).toContain(`its storagePath has ${reason}`);
    expect(message).toContain("expected an object name relative to gs://my-app.appspot.com/tenants/acme/attachments/");
  });

  it("refuses a name over Cloud Storage's 1024 bytes", () => {
    expect(refusal({ storagePath: "é".repeat(500) })).toContain("longer than Cloud Storage's 1024 bytes");
  });
});

describe("storageObject: a gs:// path", () => {
  it("is accepted inside the filled location, from path or href", () => {
    expect(storageObject({ path: "gs://my-app.appspot.com/tenants/acme/attachments/invoices/42.pdf" }, scopeA)).toEqual({
      bucket: "my-app.appspot.com",
      name: "tenants/acme/attachments/invoices/42.pdf",
    });
    expect(storageObject({ href: "gs://my-app.appspot.com/tenants/acme/attachments/a.pdf" }, scopeA).name).toBe("tenants/acme/attachments/a.pdf");
  });

  it.each([
    ["gs://my-app.appspot.com/tenants/beta/attachments/invoice.pdf", "is outside gs://my-app.appspot.com/tenants/acme/attachments/"],
    ["gs://my-app.appspot.com/tenants/acme/attachments-evil/x.pdf", "is outside"],
    ["gs://my-app.appspot.com/tenants/acme/attachmentsx.pdf", "is outside"],
    ["gs://my-app.appspot.com/tenants/acme/attachments", "is outside"],
    ["gs://my-app.appspot.com/tenants/acme/attachments/", "an empty segment"],
    ["gs://my-app.appspot.com/tenants/acme/attachments/../../beta/attachments/x.pdf", 'a ".." segment'],
    ["gs://my-app.appspot.com/tenants/acme/attachments/%2e%2e/x.pdf", "a percent sign"],
    ["gs://my-app.appspot.com/tenants/acme/attachments\\..\\..\\beta\\x.pdf", "a backslash"],
    ["gs://my-app.appspot.com//tenants/acme/attachments/x.pdf", "an empty segment"],
    ["gs://other-bucket/tenants/acme/attachments/x.pdf", "names another bucket"],
    ["gs://my-app.appspot.com.evil.com/tenants/acme/attachments/x.pdf", "names another bucket"],
    ["gs://MY-APP.appspot.com/tenants/acme/attachments/x.pdf", "names another bucket"],
    ["GS://my-app.appspot.com/tenants/acme/attachments/x.pdf", "is not a gs:// location in lower case"],
    ["gs:my-app.appspot.com/tenants/acme/attachments/x.pdf", "is not a gs:// location in lower case"],
  ])("refuses %s", (path, reason) => {
    const message = refusal({ path });
    expect(message).toContain(`its path ${reason.startsWith("is") || reason.startsWith("names") ? reason : `has ${reason}`}`);
    expect(message).toContain("expected gs://my-app.appspot.com/ followed by an object name inside gs://my-app.appspot.com/tenants/acme/attachments/");
  });
});

describe("namesStorageObject", () => {
  it("is true for storagePath and gs: locations, unless raw wins", () => {
    expect(namesStorageObject({ storagePath: "a.pdf" })).toBe(true);
    expect(namesStorageObject({ path: "gs://b/a.pdf" })).toBe(true);
    expect(namesStorageObject({ href: "GS://b/a.pdf" })).toBe(true);
    expect(namesStorageObject({ path: "https://example.com/a.pdf" })).toBe(false);
    expect(namesStorageObject({ content: "x" })).toBe(false);
    expect(namesStorageObject({ raw: "Content-Type: text/plain\r\n\r\nx", storagePath: "a.pdf" })).toBe(false);
  });
});
