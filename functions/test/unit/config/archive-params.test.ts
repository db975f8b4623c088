import { parseConfig } from "../../../src/config";
import { ConfigError } from "../../../src/shared/errors";
import { caught } from "../../helpers/caught";

const BASE = { SMTP_CONNECTION_URI: "smtp://127.0.0.1:25", DEFAULT_FROM: "a@example.com", MAIL_COLLECTION: "tenants/{tenant}/mail" };

describe("ARCHIVE_SENT_MAIL and ARCHIVE_STORAGE_PATH", () => {
  it("archive nothing unless ARCHIVE_SENT_MAIL is true", () => {
    expect(parseConfig(BASE).archive).toBeUndefined();
    expect(parseConfig({ ...BASE, ARCHIVE_SENT_MAIL: "false" }).archive).toBeUndefined();
    expect(parseConfig({ ...BASE, ARCHIVE_SENT_MAIL: "" }).archive).toBeUndefined();
    // A storage path alone turns nothing on.
    expect(parseConfig({ ...BASE, ARCHIVE_STORAGE_PATH: "gs://b-1/sent" }).archive).toBeUndefined();
  });

  it("archive to documents only without a storage path, and to the storage path's pattern when it is set", () => {
    expect(parseConfig({ ...BASE, ARCHIVE_SENT_MAIL: "true" }).archive).toEqual({ storage: undefined });
    const settings = parseConfig({ ...BASE, ARCHIVE_SENT_MAIL: "true", ARCHIVE_STORAGE_PATH: "gs://b-1/tenants/{tenant}/sent-mail/" }).archive;
    expect(settings).toEqual({ storage: { bucket: "b-1", prefix: "tenants/{tenant}/sent-mail" } });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each([
    [{ ARCHIVE_SENT_MAIL: "yes" }, 'ARCHIVE_SENT_MAIL must be "true" or "false", got'],
    [{ ARCHIVE_SENT_MAIL: "true", ARCHIVE_STORAGE_PATH: "https://storage.googleapis.com/b-1" }, "ARCHIVE_STORAGE_PATH must be gs://BUCKET or gs://BUCKET/PREFIX, such as gs://my-app.appspot.com/tenants/{tenant}/sent-mail"],
    [{ ARCHIVE_SENT_MAIL: "true", ARCHIVE_STORAGE_PATH: "gs://b-1/a/../b" }, 'its prefix has a ".." segment'],
    [{ ARCHIVE_SENT_MAIL: "true", ARCHIVE_STORAGE_PATH: "gs://b-1/{team}/sent" }, 'ARCHIVE_STORAGE_PATH uses {team}, which MAIL_COLLECTION ("tenants/{tenant}/mail") has no wildcard for'],
    // Checked even while archiving is off, so that turning it on cannot reveal a broken value.
    [{ ARCHIVE_STORAGE_PATH: "gs://B/x" }, "the bucket must be a Cloud Storage bucket name"],
  ])("refuse %j, naming the param", (params, reason) => {
    const error = caught(ConfigError, () => parseConfig({ ...BASE, ...params }));
    expect(error.message).toContain(reason);
  });
});
