/**
 * STORAGE_ATTACHMENTS_PATH: where attachments named as Cloud Storage objects
 * may be read from (and ARCHIVE_STORAGE_PATH, where archived messages too
 * large for a document are written, parsed the same way). Its `{name}` segments are filled from the mail's own
 * path (MAIL_COLLECTION's wildcards), never from the document, so the
 * tenant whose files a mail may attach is the one whose collection it was
 * written in, which the security rules control.
 */
import { wildcardName, wildcardNames } from "../shared/path-pattern";
import { problem, read, receivedName, type Env } from "./env-values";

export interface StorageAttachments {
  /** The bucket, e.g. `my-app.appspot.com`. */
  readonly bucket: string;
  /**
   * The object name prefix as a pattern (`tenants/{tenant}/attachments`), without a slash at either end; "" for
   * the whole bucket. Each `{name}` segment is a wildcard of MAIL_COLLECTION.
   */
  readonly prefix: string;
}

/** Cloud Storage's bucket names: 3 to 222 characters, dot-separated parts of at most 63. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Undefined when the param is unset (Cloud Storage attachments off); a problem names what is wrong. */
export function parseStorageAttachments(env: Env, mailCollection: string, problems: string[]): StorageAttachments | undefined {
  return parseStoragePath(env, "STORAGE_ATTACHMENTS_PATH", "attachments", mailCollection, problems);
}

/**
 * A `gs://BUCKET/PREFIX` param whose `{name}` segments are MAIL_COLLECTION's wildcards; `example` is the last
 * segment its message suggests. Undefined when unset.
 */
export function parseStoragePath(env: Env, param: string, example: string, mailCollection: string, problems: string[]): StorageAttachments | undefined {
  const expected = `${param} must be gs://BUCKET or gs://BUCKET/PREFIX, such as gs://my-app.appspot.com/tenants/{tenant}/${example}`;
  const value = read(env, param);
  if (value === undefined) return undefined;
  if (!value.startsWith("gs://")) return problem(problems, `${expected}, got ${receivedName(value)}`);
  const [bucket, ...segments] = value.slice("gs://".length).replace(/\/$/, "").split("/");
  if (!BUCKET.test(bucket) || bucket.split(".").some((part) => part.length > 63 || part === "")) {
    return problem(problems, `${expected}: the bucket must be a Cloud Storage bucket name (lower-case letters, digits, "-", "_" and "."), got ${receivedName(value)}`);
  }
  const reason = segments.map(segmentProblem).find((text) => text !== undefined);
  if (reason) return problem(problems, `${expected}: its prefix has ${reason}, got ${receivedName(value)}`);
  const known = new Set(wildcardNames(mailCollection));
  const unknown = segments.flatMap((segment) => wildcardName(segment) ?? []).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    return problem(
      problems,
      `${param} uses ${unknown.map((name) => `{${name}}`).join(", ")}, which MAIL_COLLECTION ("${mailCollection}") has no wildcard for: ` +
        `each {name} in ${param} is filled from the mail's own path, so it must be a wildcard segment of MAIL_COLLECTION (such as tenants/{tenant}/mail)`,
    );
  }
  return Object.freeze({ bucket, prefix: segments.join("/") });
}

/** What is wrong with one segment of the prefix, in words; undefined when it is a name or a `{wildcard}`. */
function segmentProblem(segment: string): string | undefined {
  if (segment === "") return 'an empty segment ("//")';
  if (segment === "." || segment === "..") return `a "${segment}" segment`;
  if (wildcardName(segment) !== undefined) return undefined;
  if (/[{}]/.test(segment)) return 'a segment with "{" or "}" that is not a whole {name} wildcard';
  if (/[\\%\u0000-\u001f\u007f]/.test(segment)) return "a backslash, percent sign or control character";
  return undefined;
}
