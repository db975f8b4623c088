import { parseConfig } from "../../../src/config";
import { parseStorageAttachments } from "../../../src/config/storage-attachments";
import { ConfigError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const parse = (value: string | undefined, mailCollection = "tenants/{tenant}/mail") => {
  const problems: string[] = [];
  const settings = parseStorageAttachments({ STORAGE_ATTACHMENTS_PATH: value }, mailCollection, problems);
  return { settings, problems };
};

describe("STORAGE_ATTACHMENTS_PATH", () => {
  it("is off when unset or empty, as Firebase passes an unset param", () => {
    expect(parse(undefined)).toEqual({ settings: undefined, problems: [] });
    expect(parse("")).toEqual({ settings: undefined, problems: [] });
  });

  it.each([
    ["gs://my-app.appspot.com/tenants/{tenant}/attachments", { bucket: "my-app.appspot.com", prefix: "tenants/{tenant}/attachments" }],
    ["gs://my-app.appspot.com/tenants/{tenant}/attachments/", { bucket: "my-app.appspot.com", prefix: "tenants/{tenant}/attachments" }],
    ["gs://files_bucket", { bucket: "files_bucket", prefix: "" }],
    ["gs://files-1/shared", { bucket: "files-1", prefix: "shared" }],
  ])("reads %s", (value, expected) => {
    expect(parse(value)).toEqual({ settings: expected, problems: [] });
  });

  it.each([
    ["https://storage.googleapis.com/b/x", "must be gs://BUCKET or gs://BUCKET/PREFIX"],
    ["GS://bucket/x", "must be gs://BUCKET or gs://BUCKET/PREFIX"],
    ["gs://Upper/x", "the bucket must be a Cloud Storage bucket name"],
    ["gs://ab/x", "the bucket must be a Cloud Storage bucket name"],
    ["gs:///x", "the bucket must be a Cloud Storage bucket name"],
    ["gs://a..b/x", "the bucket must be a Cloud Storage bucket name"],
    ["gs://bucket/a//b", 'its prefix has an empty segment ("//")'],
    ["gs://bucket/a/../b", 'its prefix has a ".." segment'],
    ["gs://bucket/./b", 'its prefix has a "." segment'],
    ["gs://bucket/a\\b", "its prefix has a backslash, percent sign or control character"],
    ["gs://bucket/a%2Fb", "its prefix has a backslash, percent sign or control character"],
    ["gs://bucket/{tenant", 'its prefix has a segment with "{" or "}"'],
    ["gs://bucket/x{tenant}", 'its prefix has a segment with "{" or "}"'],
  ])("refuses %s", (value, reason) => {
    const { settings, problems } = parse(value);
    expect(settings).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("STORAGE_ATTACHMENTS_PATH");
    expect(problems[0]).toContain(reason);
  });

  it("refuses a wildcard MAIL_COLLECTION lacks, naming both params", () => {
    const { settings, problems } = parse("gs://bucket/tenants/{team}/attachments", "tenants/{tenant}/mail");
    expect(settings).toBeUndefined();
    expect(problems).toEqual([
      'STORAGE_ATTACHMENTS_PATH uses {team}, which MAIL_COLLECTION ("tenants/{tenant}/mail") has no wildcard for: each {name} in STORAGE_ATTACHMENTS_PATH is filled from the mail\'s own path, so it must be a wildcard segment of MAIL_COLLECTION (such as tenants/{tenant}/mail)',
    ]);
    expect(parse("gs://bucket/{tenant}", "mail").problems[0]).toContain('MAIL_COLLECTION ("mail") has no wildcard for');
  });

  it("accepts a fixed location with a wildcard MAIL_COLLECTION (every tenant shares it)", () => {
    expect(parse("gs://bucket/shared", "tenants/{tenant}/mail").problems).toEqual([]);
  });

  it("is part of the parsed config, and a bad value fails the config with the other problems", () => {
    const env = { SMTP_CONNECTION_URI: "smtp://127.0.0.1:25", DEFAULT_FROM: "a@example.com", MAIL_COLLECTION: "tenants/{tenant}/mail" };
    expect(parseConfig(env).storageAttachments).toBeUndefined();
    expect(parseConfig({ ...env, STORAGE_ATTACHMENTS_PATH: "gs://b-1/tenants/{tenant}/files" }).storageAttachments).toEqual({ bucket: "b-1", prefix: "tenants/{tenant}/files" });
    const error = caught(ConfigError, () => parseConfig({ ...env, STORAGE_ATTACHMENTS_PATH: "gs://b-1/{uid}", MAX_ATTEMPTS: "0" }));
    expect(error.message).toContain("MAX_ATTEMPTS");
    expect(error.message).toContain("STORAGE_ATTACHMENTS_PATH uses {uid}");
  });
});
