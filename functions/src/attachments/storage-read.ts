/**
 * Reading one Cloud Storage object with the Admin SDK, under the same byte
 * limit and deadline as an https download: the object's size is checked
 * before its bytes are read, and reading stops at the limit anyway, in case
 * the object is replaced in between. The client library is loaded on first
 * use, as most instances never read Storage.
 */
import type { Readable } from "node:stream";
import type { Storage } from "firebase-admin/storage";
import { DownloadFailure, TooLargeFailure } from "./https-download";
import type { StorageObject } from "./storage-location";

/** A bucket by name; the downloader builds one from the default Admin app, once. */
export type BucketOf = (name: string) => ReturnType<Storage["bucket"]>;

export async function loadBuckets(): Promise<BucketOf> {
  const [{ getApps, initializeApp }, { getStorage }] = await Promise.all([import("firebase-admin/app"), import("firebase-admin/storage")]);
  const storage = getStorage(getApps()[0] ?? initializeApp());
  return (name) => storage.bucket(name);
}

export interface StoredBytes {
  bytes: Buffer;
  /** The object's Content-Type, when it is one a header can carry. */
  contentType?: string;
}

/** @throws DownloadFailure (TooLargeFailure past `maxBytes`) */
export async function readStorageObject(object: StorageObject, maxBytes: number, signal: AbortSignal, deadlineMs: number, buckets: BucketOf): Promise<StoredBytes> {
  const where = `gs://${object.bucket}/${object.name}`;
  const bucket = buckets(object.bucket);
  try {
    const [metadata] = await untilAborted(bucket.file(object.name).getMetadata(), signal);
    if (Number(metadata.size) > maxBytes) throw new TooLargeFailure(maxBytes);
    // The generation whose size was checked, so that a larger object written meanwhile is not what gets read.
    const stream = bucket.file(object.name, { generation: metadata.generation ?? undefined }).createReadStream();
    const bytes = await readAll(stream, maxBytes, signal);
    const contentType = typeof metadata.contentType === "string" && HEADER_TYPE.test(metadata.contentType) ? metadata.contentType : undefined;
    return { bytes, contentType };
  } catch (error) {
    throw storageFailure(error, where, signal, deadlineMs);
  }
}

/** A MIME type, with parameters, on one line: object metadata is written by whoever uploaded the file. */
const HEADER_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+( *;[ -~]*)?$/;

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function readAll(stream: Readable, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
      stream.destroy();
    };
    const onAbort = () => stop(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) stop(new TooLargeFailure(maxBytes));
      else chunks.push(chunk);
    });
    stream.on("error", stop);
    stream.on("end", () => {
      signal.removeEventListener("abort", onAbort);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** The client library's errors carry the HTTP status as a numeric `code`; network errors a string one. */
function storageFailure(error: unknown, where: string, signal: AbortSignal, deadlineMs: number): DownloadFailure {
  if (error instanceof DownloadFailure) return error;
  if (signal.aborted) return new DownloadFailure(`the attachments were not all downloaded within ${deadlineMs / 1000} s`, "timeout", true);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 404) return new DownloadFailure(`there is no object ${where}`, "invalid-document", false);
  if (code === 401 || code === 403) {
    return new DownloadFailure(`the extension may not read ${where} (HTTP ${code}); its service account needs the Storage Object Viewer role on the bucket`, "invalid-config", false);
  }
  const transient = typeof code !== "number" || code >= 500 || code === 408 || code === 429;
  const what = typeof code === "number" ? `HTTP ${code}` : typeof code === "string" ? code : "an unexpected error";
  return new DownloadFailure(`Cloud Storage could not be read for ${where} (${what})`, transient ? "connection-failed" : "invalid-document", transient);
}
