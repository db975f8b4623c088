/**
 * Which Cloud Storage object an attachment names, and whether its mail may
 * read it. The mail may read only below STORAGE_ATTACHMENTS_PATH filled
 * from its own path (`tenants/acme/mail/m1` → `gs://b/tenants/acme/attachments/`),
 * so a tenant's mail can name only its tenant's files. Names are taken
 * strictly as written: anything that could read differently to a person and
 * to Cloud Storage (`..`, empty segments, backslashes, percent-encoding) is
 * refused rather than interpreted.
 */
import type { Attachment } from "nodemailer/lib/mailer";
import type { StorageAttachments } from "../config/storage-attachments";
import { documentWildcards, fillPattern } from "../shared/path-pattern";

/** An attachment as it reaches the downloader: nodemailer's fields plus `storagePath`, which only the downloader reads. */
export type SourcedAttachment = Attachment & { storagePath?: string };

export interface StorageObject {
  bucket: string;
  name: string;
}

/** Where one mail may read: a bucket and the object name segments every name must start with. */
export interface StorageScope {
  bucket: string;
  prefix: readonly string[];
}

/** Why an attachment's object was refused, in words for `delivery.error` ("its storagePath has …; expected …"). */
export class StorageLocationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageLocationRefused";
  }
}

/** Cloud Storage's limit on an object name, in UTF-8 bytes. */
const MAX_NAME_BYTES = 1024;

/** `gs://bucket/prefix/`, as errors show a scope. */
export const scopeText = (scope: StorageScope): string => `gs://${[scope.bucket, ...scope.prefix].join("/")}/`;

/**
 * The scope of the mail at `mailPath` (a document of MAIL_COLLECTION).
 * @throws StorageLocationRefused when the path does not fill the pattern (a mail outside the collection).
 */
export function storageScope(settings: StorageAttachments, mailCollection: string, mailPath: string): StorageScope {
  const values = documentWildcards(mailCollection, mailPath);
  if (values === undefined) throw new StorageLocationRefused(`the mail is not in MAIL_COLLECTION ("${mailCollection}"), so no Cloud Storage location applies to it`);
  const prefix = settings.prefix === "" ? [] : fillPattern(settings.prefix, values).split("/");
  // Firestore ids cannot be "", "." or ".." or hold a "/", so a filled prefix keeps its shape; checked all the same.
  if (prefix.some((segment) => segmentProblem(segment) !== undefined)) throw new StorageLocationRefused("the mail's path does not give a valid Cloud Storage prefix");
  return { bucket: settings.bucket, prefix };
}

/** Whether an attachment names a Cloud Storage object (`storagePath`, or a `gs://` path), before nodemailer's `raw`. */
export function namesStorageObject(attachment: SourcedAttachment): boolean {
  if (attachment.raw !== undefined && attachment.raw !== null) return false;
  return typeof attachment.storagePath === "string" || /^gs:/i.test(String(attachment.path ?? attachment.href ?? ""));
}

/**
 * The object `attachment` names, inside `scope`.
 * @throws StorageLocationRefused naming what was wrong and what was expected.
 */
export function storageObject(attachment: SourcedAttachment, scope: StorageScope): StorageObject {
  const within = scopeText(scope);
  if (typeof attachment.storagePath === "string") {
    const reason = pathProblem(attachment.storagePath.split("/"));
    if (reason) throw new StorageLocationRefused(`its storagePath has ${reason}; expected an object name relative to ${within} (${NAME_RULES})`);
    return checkedLength({ bucket: scope.bucket, name: [...scope.prefix, attachment.storagePath].join("/") });
  }
  const field = attachment.path !== undefined ? "path" : "href";
  const location = String(attachment.path ?? attachment.href);
  const expected = `expected gs://${scope.bucket}/ followed by an object name inside ${within} (${NAME_RULES})`;
  if (!location.startsWith("gs://")) throw new StorageLocationRefused(`its ${field} is not a gs:// location in lower case; ${expected}`);
  const [bucket, ...segments] = location.slice("gs://".length).split("/");
  if (bucket !== scope.bucket) throw new StorageLocationRefused(`its ${field} names another bucket; ${expected}`);
  const reason = pathProblem(segments);
  if (reason) throw new StorageLocationRefused(`its ${field} has ${reason}; ${expected}`);
  const inside = segments.length > scope.prefix.length && scope.prefix.every((segment, i) => segments[i] === segment);
  if (!inside) throw new StorageLocationRefused(`its ${field} is outside ${within}; ${expected}`);
  return checkedLength({ bucket, name: segments.join("/") });
}

const NAME_RULES = 'segments separated by "/", without ".", ".." or empty segments, backslashes, percent signs or control characters';

function pathProblem(segments: readonly string[]): string | undefined {
  for (const segment of segments) {
    const reason = segmentProblem(segment);
    if (reason) return reason;
  }
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return 'an empty segment ("//", or "/" at the start or end)';
  if (segment === "." || segment === "..") return `a "${segment}" segment`;
  if (segment.includes("\\")) return "a backslash";
  // Names are used as written: "%2e%2e" is not "..", and refusing it keeps a reviewer from having to know that.
  if (segment.includes("%")) return "a percent sign (names are given as they are, not URL-encoded)";
  if (/[\u0000-\u001f\u007f]/.test(segment)) return "a control character";
  return undefined;
}

function checkedLength(object: StorageObject): StorageObject {
  if (Buffer.byteLength(object.name, "utf8") > MAX_NAME_BYTES) throw new StorageLocationRefused(`its object name is longer than Cloud Storage's ${MAX_NAME_BYTES} bytes`);
  return object;
}
