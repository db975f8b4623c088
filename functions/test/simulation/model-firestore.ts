/**
 * An in-memory model of Firestore for the simulation tier: the delivery code
 * (store.ts, maintain-queue.ts, process-queue.ts) runs against it unchanged,
 * as `db as unknown as Firestore`, under a seeded scheduler.
 *
 * It models only what that code relies on, and the differential test
 * (test/integration/model-firestore.test.ts) holds it to the Google Firestore
 * emulator for each of those behaviours:
 * - writes: `update` with dotted field paths (a map value replaces the field
 *   whole), `set` (with `merge`), `create`, `delete`; the transforms delete,
 *   serverTimestamp and increment; preconditions `lastUpdateTime` and `exists`;
 * - reads: document `get`, `getAll` with a field mask, queries on a collection
 *   or a collection group with `where`, `orderBy`, `limit`, `startAfter`, `select`;
 * - `runTransaction`, `bulkWriter`, `batch`.
 *
 * Every RPC goes through `ModelIo.call`, so the scheduler decides when it
 * reaches the "server", whether its answer is lost, and whether the client
 * library's silent retry calls it again. The server side (`run`) is
 * synchronous: one commit or read is atomic, as Firestore's are.
 *
 * Deliberate differences from real Firestore: transactions are optimistic (a
 * commit fails with ABORTED when a document it read changed since; the
 * emulator and production lock instead, which the caller sees only as a
 * slower transaction); field paths are plain dotted names (no backtick
 * quoting, no `FieldPath` objects); auto ids are a counter, for determinism.
 */
import { FieldValue, GeoPoint, Timestamp, type DocumentData } from "firebase-admin/firestore";

// ---------------------------------------------------------------- contract

export interface RpcDescription {
  kind: "get" | "getAll" | "query" | "commit" | "txGet" | "txCommit" | "bulkWrite";
  /** Document paths the call touches (for a query: the collection path or group id). */
  paths: string[];
  /** For commits: true when the write carries a lastUpdateTime/exists precondition. */
  conditional?: boolean;
}

/**
 * How each RPC reaches the model's "server". `run` performs the server-side effect atomically
 * at the moment it is called (reading the state as it is then) and returns the result or throws
 * a status error. A scheduler may call it once (normal), not at all (then throw a status error of
 * its choice, or never settle = the caller's instance died), or twice (the client library's silent
 * retry of a commit whose first answer was lost), and may throw after calling it (answer lost).
 */
export interface ModelIo {
  call<T>(op: RpcDescription, run: () => T): Promise<T>;
}

export const directIo: ModelIo = { call: async (_op, run) => run() };

/** One document changed by a commit: what a Firestore trigger would be given. */
export interface CommitRecord {
  path: string;
  /** Absent when the commit created the document. */
  before?: ModelSnapshot;
  /** Absent when the commit deleted the document. */
  after?: ModelSnapshot;
}

export interface ModelOptions {
  io?: ModelIo;
  /** Epoch ms of the virtual clock; default Date.now. */
  now?: () => number;
  projectId?: string;
  onCommit?: (record: CommitRecord) => void;
}

// ---------------------------------------------------------------- status errors

const STATUS_NAMES: Record<number, string> = {
  1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
  6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
  10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
  15: "DATA_LOSS", 16: "UNAUTHENTICATED",
};

export type StatusError = Error & { code: number; details: string };

/** An error shaped like the client library's gRPC errors: numeric `code`, message `"9 FAILED_PRECONDITION: ..."`. */
export function statusError(code: number, details = "injected by the simulation"): StatusError {
  const error = new Error(`${code} ${STATUS_NAMES[code] ?? "UNKNOWN"}: ${details}`) as StatusError;
  error.code = code;
  error.details = details;
  return error;
}

/** What @google-cloud/firestore's runTransaction retries (transaction.js, isRetryableTransactionError). */
const TRANSACTION_RETRY = new Set([1, 2, 4, 8, 10, 13, 14, 16]);
/** What BulkWriter's default error handler retries: BatchWrite's retry codes (firestore_client_config.json). */
const BULK_RETRY = new Set([8, 10, 14]);
const BULK_MAX_ATTEMPTS = 10;

// ---------------------------------------------------------------- values

type Fields = Record<string, unknown>;

interface StoredDocument {
  /** Never mutated once stored: a commit builds new objects, so snapshots may share them. */
  fields: Fields;
  createTime: Timestamp;
  updateTime: Timestamp;
}

interface Precondition {
  lastUpdateTime?: Timestamp;
  exists?: boolean;
}

/** One write of a commit, its arguments copied when the caller made it. */
interface Write {
  kind: "create" | "set" | "merge" | "update" | "delete";
  path: string;
  data?: Fields;
  precondition?: Precondition;
}

function isPlainMap(value: unknown): value is Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** A deep copy of maps and arrays; Timestamps, GeoPoints, references and sentinels are immutable and shared. */
function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value instanceof Uint8Array) return Buffer.from(value) as T;
  if (isPlainMap(value)) {
    const out: Fields = {};
    for (const [name, inner] of Object.entries(value)) out[name] = clone(inner);
    return out as T;
  }
  return value;
}

/** A value as Firestore stores it; rejects what the client library would refuse to serialise. */
function stored(value: unknown, field: string): unknown {
  if (value === undefined) throw new Error(`Cannot use "undefined" as a Firestore value (found in field "${field}").`);
  if (value instanceof Date) return Timestamp.fromDate(value);
  if (value instanceof FieldValue) throw new Error(`${sentinelName(value)} cannot be used inside an array or here (field "${field}").`);
  if (Array.isArray(value)) return value.map((inner) => stored(inner, field));
  if (isPlainMap(value)) {
    const out: Fields = {};
    for (const [name, inner] of Object.entries(value)) out[name] = stored(inner, field ? `${field}.${name}` : name);
    return out;
  }
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value;
  if (value instanceof Timestamp || value instanceof GeoPoint || value instanceof Uint8Array) return value;
  if (value instanceof ModelDocumentRef) return value;
  throw new Error(`Cannot use a ${typeName(value)} as a Firestore value (found in field "${field}").`);
}

function typeName(value: unknown): string {
  return typeof value === "object" && value !== null ? value.constructor?.name ?? "object" : typeof value;
}

function sentinelName(value: FieldValue): string {
  return String((value as unknown as { methodName?: unknown }).methodName ?? "FieldValue");
}

const isDelete = (value: unknown) => value instanceof FieldValue && value.isEqual(FieldValue.delete());

/**
 * A transform applied to the field's current value. The Admin SDK has no
 * public accessor for an increment's amount: its `operand` property is read,
 * and the differential test pins it against the real library.
 */
function transform(value: FieldValue, current: unknown, serverTime: Timestamp): unknown {
  if (value.isEqual(FieldValue.serverTimestamp())) return serverTime;
  const { methodName, operand } = value as unknown as { methodName?: unknown; operand?: unknown };
  if (methodName === "FieldValue.increment" && typeof operand === "number") {
    // Firestore: on a missing or non-numeric field, the increment sets the operand.
    return typeof current === "number" ? current + operand : operand;
  }
  throw new Error(`${sentinelName(value)} is not modelled by ModelFirestore.`);
}

/** A value written where nothing was (set, create, or a map that replaces a field): transforms start from nothing. */
function fresh(value: unknown, field: string, serverTime: Timestamp): unknown {
  if (isDelete(value)) throw new Error(`FieldValue.delete() must appear at the top level of update() or set({merge}) (field "${field}").`);
  if (value instanceof FieldValue) return transform(value, undefined, serverTime);
  if (isPlainMap(value)) {
    const out: Fields = {};
    for (const [name, inner] of Object.entries(value)) out[name] = fresh(inner, field ? `${field}.${name}` : name, serverTime);
    return out;
  }
  return stored(value, field);
}

/**
 * Writes `value` at the field path `segments` of `target` (mutated: a working
 * copy). Missing or non-map parents become maps, except for a delete, which
 * then has nothing to remove.
 */
function writeAt(target: Fields, segments: string[], value: unknown, serverTime: Timestamp): void {
  let map = target;
  for (const name of segments.slice(0, -1)) {
    if (!isPlainMap(map[name])) {
      if (isDelete(value)) return;
      map[name] = {};
    }
    map = map[name] as Fields;
  }
  const leaf = segments[segments.length - 1];
  if (isDelete(value)) delete map[leaf];
  else if (value instanceof FieldValue) map[leaf] = transform(value, map[leaf], serverTime);
  else map[leaf] = fresh(value, segments.join("."), serverTime);
}

function splitPath(fieldPath: string): string[] {
  const segments = fieldPath.split(".");
  if (segments.some((s) => s === "")) throw new Error(`"${fieldPath}" is not a valid field path.`);
  return segments;
}

/** The client library refuses an update naming a field and a field inside it ("a" and "a.b"). */
function checkUpdateKeys(patch: Fields): void {
  const keys = Object.keys(patch).sort();
  if (keys.length === 0) throw new Error("At least one field must be updated.");
  keys.forEach((key, i) => {
    splitPath(key);
    if (i > 0 && key.startsWith(`${keys[i - 1]}.`)) throw new Error(`Field "${keys[i - 1]}" was specified multiple times.`);
  });
}

/** The fields a write leaves, or undefined for a delete. Preconditions are checked before. */
function applyWrite(current: Fields | undefined, write: Write, serverTime: Timestamp): Fields | undefined {
  switch (write.kind) {
    case "delete":
      return undefined;
    case "create":
    case "set":
      return fresh(write.data, "", serverTime) as Fields;
    case "update": {
      const next = clone(current ?? {});
      for (const [key, value] of Object.entries(write.data!)) writeAt(next, splitPath(key), value, serverTime);
      return next;
    }
    case "merge": {
      // set({merge: true}) writes each leaf of the data at its path; maps merge rather than replace.
      const next = clone(current ?? {});
      const walk = (map: Fields, prefix: string[]) => {
        for (const [name, value] of Object.entries(map)) {
          if (isPlainMap(value) && Object.keys(value).length > 0) walk(value, [...prefix, name]);
          else writeAt(next, [...prefix, name], value, serverTime);
        }
      };
      walk(write.data!, []);
      return next;
    }
  }
}

/** Firestore's order of value types, then values within a type. */
function typeRank(value: unknown): number {
  if (value === null) return 0;
  if (typeof value === "boolean") return 1;
  if (typeof value === "number") return 2;
  if (value instanceof Timestamp) return 3;
  if (typeof value === "string") return 4;
  if (value instanceof Uint8Array) return 5;
  if (value instanceof ModelDocumentRef) return 6;
  if (value instanceof GeoPoint) return 7;
  if (Array.isArray(value)) return 8;
  return 9;
}

function compareValues(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return Math.sign(rank);
  if (typeof a === "boolean" || typeof a === "number") return Math.sign(Number(a) - Number(b));
  if (a instanceof Timestamp) return Math.sign(a.seconds - (b as Timestamp).seconds || a.nanoseconds - (b as Timestamp).nanoseconds);
  // Firestore orders strings by their UTF-8 bytes, not by UTF-16 code units.
  if (typeof a === "string") return Buffer.compare(Buffer.from(a), Buffer.from(b as string));
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array);
  if (a instanceof ModelDocumentRef) return comparePaths(a.path, (b as ModelDocumentRef).path);
  if (a instanceof GeoPoint) return Math.sign(a.latitude - (b as GeoPoint).latitude || a.longitude - (b as GeoPoint).longitude);
  if (Array.isArray(a)) {
    const other = b as unknown[];
    for (let i = 0; i < Math.min(a.length, other.length); i++) {
      const c = compareValues(a[i], other[i]);
      if (c !== 0) return c;
    }
    return Math.sign(a.length - other.length);
  }
  if (a === null) return 0;
  const [ka, kb] = [Object.keys(a as Fields).sort(), Object.keys(b as Fields).sort()];
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const c = compareValues(ka[i], kb[i]) || compareValues((a as Fields)[ka[i]], (b as Fields)[kb[i]]);
    if (c !== 0) return c;
  }
  return Math.sign(ka.length - kb.length);
}

const valuesEqual = (a: unknown, b: unknown) => compareValues(a, b) === 0;

/** Document names order segment by segment ("a/b" before "a-x/c", unlike plain string order). */
function comparePaths(a: string, b: string): number {
  const [sa, sb] = [a.split("/"), b.split("/")];
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = compareValues(sa[i], sb[i]);
    if (c !== 0) return c;
  }
  return Math.sign(sa.length - sb.length);
}

function valueAt(fields: Fields | undefined, segments: string[]): unknown {
  let value: unknown = fields;
  for (const name of segments) value = isPlainMap(value) ? value[name] : undefined;
  return value;
}

/** Only the fields named by `mask` (a `select` or `fieldMask`). */
function project(fields: Fields, mask: string[] | undefined): Fields {
  if (!mask) return fields;
  const out: Fields = {};
  for (const fieldPath of mask) {
    const segments = splitPath(fieldPath);
    const value = valueAt(fields, segments);
    if (value !== undefined) writeAt(out, segments, value, Timestamp.fromMillis(0));
  }
  return out;
}

// ---------------------------------------------------------------- the database

export class ModelFirestore {
  readonly projectId: string;
  readonly databaseId = "(default)";
  private readonly documents = new Map<string, StoredDocument>();
  private readonly io: ModelIo;
  private readonly now: () => number;
  private readonly onCommit?: (record: CommitRecord) => void;
  private lastCommitMicros = 0;
  private autoIds = 0;

  constructor(options: ModelOptions = {}) {
    this.io = options.io ?? directIo;
    this.now = options.now ?? Date.now;
    this.projectId = options.projectId ?? "demo-model";
    this.onCommit = options.onCommit;
  }

  /** What `projectIdOf` (lifecycle/written-document.ts) reads, as for a real Firestore. */
  toJSON(): { projectId: string } {
    return { projectId: this.projectId };
  }

  doc(path: string): ModelDocumentRef {
    return new ModelDocumentRef(this, path);
  }

  collection(path: string): ModelCollectionRef {
    return new ModelCollectionRef(this, path);
  }

  collectionGroup(collectionId: string): ModelQuery {
    return new ModelQuery(this, { scope: collectionId, group: true, filters: [], orders: [] });
  }

  batch(): ModelWriteBatch {
    return new ModelWriteBatch(this);
  }

  bulkWriter(): ModelBulkWriter {
    return new ModelBulkWriter(this);
  }

  /** `getAll(...refs)` or `getAll(...refs, { fieldMask })`; snapshots in the order of `refs`. */
  getAll(...args: Array<ModelDocumentRef | { fieldMask?: string[] }>): Promise<ModelSnapshot[]> {
    const { refs, mask } = splitGetAllArgs(args);
    return this.rpc({ kind: "getAll", paths: refs.map((r) => r.path) }, () => refs.map((r) => this.read(r.path, mask)));
  }

  async runTransaction<T>(fn: (transaction: ModelTransaction) => Promise<T>, options: { maxAttempts?: number } = {}): Promise<T> {
    const maxAttempts = options.maxAttempts ?? 5;
    let lastError: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const transaction = new ModelTransaction(this);
      try {
        const result = await fn(transaction);
        await transaction.commit();
        return result;
      } catch (error) {
        lastError = error;
        // As the client library: a retryable code from `fn` or from the commit re-runs `fn`.
        const code = (error as { code?: unknown }).code;
        if (typeof code !== "number" || !TRANSACTION_RETRY.has(code)) break;
      }
    }
    throw lastError;
  }

  /** The document as stored now, without an RPC: for the scheduler's invariant checks. */
  peek(path: string): ModelSnapshot {
    return this.read(path);
  }

  /** Every stored document path, in Firestore's order. */
  paths(): string[] {
    return [...this.documents.keys()].sort(comparePaths);
  }

  // ---- the "server": each method below is one atomic step, run inside io.call

  /** @internal */
  rpc<T>(op: RpcDescription, run: () => T): Promise<T> {
    return this.io.call(op, run);
  }

  /** @internal A snapshot of `path` as it is now. */
  read(path: string, mask?: string[]): ModelSnapshot {
    const document = this.documents.get(path);
    const fields = document && project(document.fields, mask);
    return new ModelSnapshot(this.doc(path), fields, document?.createTime, document?.updateTime, this.readTime());
  }

  /** @internal The version of `path` a transaction compares at commit: its update time, or null when missing. */
  version(path: string): Timestamp | null {
    return this.documents.get(path)?.updateTime ?? null;
  }

  /** @internal Documents in `query`'s scope that match it, in its order. */
  runQuery(spec: QuerySpec): ModelSnapshot[] {
    const orders = effectiveOrders(spec);
    const lastDirection = orders.length > 0 ? orders[orders.length - 1].direction : 1;
    const compare = (a: { path: string; fields: Fields }, b: { path: string; fields: Fields }) => {
      for (const { segments, direction } of orders) {
        const c = compareValues(valueAt(a.fields, segments), valueAt(b.fields, segments));
        if (c !== 0) return c * direction;
      }
      return comparePaths(a.path, b.path) * lastDirection;
    };
    let rows = [...this.documents.entries()]
      .map(([path, document]) => ({ path, fields: document.fields }))
      .filter(({ path }) => inScope(spec, path))
      .filter(({ fields }) => spec.filters.every((filter) => matches(filter, valueAt(fields, filter.segments))))
      // Ordering by a field leaves out documents without it.
      .filter(({ fields }) => orders.every(({ segments }) => valueAt(fields, segments) !== undefined))
      .sort(compare);
    if (spec.startAfter) {
      const cursor = spec.startAfter;
      const values = cursor.snapshot ? orders.map(({ segments }) => cursor.snapshot!.get(segments.join("."))) : cursor.values!;
      const at = { path: cursor.snapshot?.ref.path, values };
      rows = rows.filter((row) => {
        for (let i = 0; i < Math.min(orders.length, at.values.length); i++) {
          const c = compareValues(valueAt(row.fields, orders[i].segments), at.values[i]);
          if (c !== 0) return c * orders[i].direction > 0;
        }
        return at.path !== undefined && comparePaths(row.path, at.path) * lastDirection > 0;
      });
    }
    if (spec.limit !== undefined) rows = rows.slice(0, spec.limit);
    return rows.map(({ path }) => this.read(path, spec.select));
  }

  /**
   * @internal Applies `writes` atomically at one commit time, or none of them
   * if a precondition fails (or, for a transaction, a document it read has
   * changed since). Returns each write's result.
   */
  commit(writes: Write[], reads?: Map<string, Timestamp | null>): ModelWriteResult[] {
    for (const [path, seen] of reads ?? []) {
      const current = this.version(path);
      if (!(current === seen || (current && seen && current.isEqual(seen)))) {
        throw statusError(10, `Transaction aborted: ${path} changed since the transaction read it.`);
      }
    }
    const commitMicros = Math.max(Math.floor(this.now() * 1000), this.lastCommitMicros + 1);
    const commitTime = new Timestamp(Math.floor(commitMicros / 1e6), (commitMicros % 1e6) * 1000);
    // A server timestamp is the time Firestore took the request, stored in whole milliseconds.
    const serverTime = Timestamp.fromMillis(Math.floor(commitMicros / 1000));
    const original = new Map<string, StoredDocument | undefined>();
    const working = new Map<string, StoredDocument | undefined>();
    for (const write of writes) {
      const before = working.has(write.path) ? working.get(write.path) : this.documents.get(write.path);
      if (!original.has(write.path)) original.set(write.path, before);
      checkPrecondition(write, before, this.projectId);
      const fields = applyWrite(before?.fields, write, serverTime);
      working.set(write.path, fields && { fields, createTime: before?.createTime ?? commitTime, updateTime: commitTime });
    }
    this.lastCommitMicros = commitMicros;
    // Nothing failed: apply. A write that leaves a document's fields as they
    // were changes nothing: the emulator keeps its update time, returns that
    // as the write time and fires no trigger.
    const records: CommitRecord[] = [];
    const unchanged = new Set<string>();
    for (const [path, after] of working) {
      const before = original.get(path);
      if (!before && !after) continue;
      if (before && after && valuesEqual(before.fields, after.fields)) {
        unchanged.add(path);
        continue;
      }
      if (after) this.documents.set(path, after);
      else this.documents.delete(path);
      records.push({ path, before: before && this.snapshotOf(path, before, commitTime), after: after && this.snapshotOf(path, after, commitTime) });
    }
    for (const record of records) this.onCommit?.(record);
    return writes.map((w) => new ModelWriteResult(unchanged.has(w.path) ? original.get(w.path)!.updateTime : commitTime));
  }

  /** @internal */
  nextAutoId(): string {
    return `auto${String(++this.autoIds).padStart(16, "0")}`;
  }

  private snapshotOf(path: string, document: StoredDocument, readTime: Timestamp): ModelSnapshot {
    return new ModelSnapshot(this.doc(path), document.fields, document.createTime, document.updateTime, readTime);
  }

  /** Reads happen now, but never before the last commit (the clock may stand still). */
  private readTime(): Timestamp {
    const micros = Math.max(Math.floor(this.now() * 1000), this.lastCommitMicros);
    return new Timestamp(Math.floor(micros / 1e6), (micros % 1e6) * 1000);
  }
}

/**
 * The emulator's answers (checked by the differential test): a missing
 * document fails `lastUpdateTime` with FAILED_PRECONDITION, and an update or
 * `exists: true` with NOT_FOUND; `create` or `exists: false` on an existing
 * one fails with ALREADY_EXISTS.
 */
function checkPrecondition(write: Write, current: StoredDocument | undefined, projectId: string): void {
  const name = `projects/${projectId}/databases/(default)/documents/${write.path}`;
  const { lastUpdateTime, exists } = write.precondition ?? {};
  if (lastUpdateTime) {
    if (!current || !current.updateTime.isEqual(lastUpdateTime)) {
      const version = (t?: Timestamp) => (t ? `${t.seconds}${String(Math.floor(t.nanoseconds / 1000)).padStart(6, "0")}` : "0");
      throw statusError(9, `the stored version (${version(current?.updateTime)}) does not match the required base version (${version(lastUpdateTime)})`);
    }
  }
  const mustExist = exists ?? (write.kind === "update" && !lastUpdateTime ? true : write.kind === "create" ? false : undefined);
  if (mustExist === true && !current) throw statusError(5, `No document to update: ${name}`);
  if (mustExist === false && current) throw statusError(6, `Document already exists: ${name}`);
}

function splitGetAllArgs(args: Array<ModelDocumentRef | { fieldMask?: string[] }>): { refs: ModelDocumentRef[]; mask?: string[] } {
  const last = args[args.length - 1];
  const options = last instanceof ModelDocumentRef ? undefined : last;
  const refs = (options ? args.slice(0, -1) : args) as ModelDocumentRef[];
  return { refs, mask: options?.fieldMask?.map(String) };
}

/** A write as the caller made it, copied so that later changes to its arguments do not reach it. */
function makeWrite(kind: Write["kind"], ref: ModelDocumentRef, data?: Fields, precondition?: Precondition): Write {
  if (!(ref instanceof ModelDocumentRef)) throw new Error("Only ModelFirestore references can be written.");
  if (kind === "update") checkUpdateKeys(data ?? {});
  return { kind, path: ref.path, data: data && clone(data), precondition };
}

/** Whether a replay of the write after it applied would fail: the ones a scheduler's silent retry can tell. */
function isConditional(write: Write): boolean {
  return write.precondition !== undefined || write.kind === "create";
}

// ---------------------------------------------------------------- references and snapshots

export class ModelDocumentRef {
  constructor(readonly firestore: ModelFirestore, readonly path: string) {
    if (path.split("/").length % 2 !== 0 || path.split("/").some((s) => s === "")) {
      throw new Error(`"${path}" is not a document path.`);
    }
  }

  get id(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  get parent(): ModelCollectionRef {
    return new ModelCollectionRef(this.firestore, this.path.slice(0, this.path.lastIndexOf("/")));
  }

  collection(id: string): ModelCollectionRef {
    return new ModelCollectionRef(this.firestore, `${this.path}/${id}`);
  }

  isEqual(other: unknown): boolean {
    return other instanceof ModelDocumentRef && other.firestore === this.firestore && other.path === this.path;
  }

  get(): Promise<ModelSnapshot> {
    return this.firestore.rpc({ kind: "get", paths: [this.path] }, () => this.firestore.read(this.path));
  }

  async create(data: Fields): Promise<ModelWriteResult> {
    return this.commitOne(makeWrite("create", this, data));
  }

  async set(data: Fields, options: { merge?: boolean } = {}): Promise<ModelWriteResult> {
    return this.commitOne(makeWrite(options.merge ? "merge" : "set", this, data));
  }

  async update(patch: Fields, precondition?: Precondition): Promise<ModelWriteResult> {
    return this.commitOne(makeWrite("update", this, patch, precondition));
  }

  async delete(precondition?: Precondition): Promise<ModelWriteResult> {
    return this.commitOne(makeWrite("delete", this, undefined, precondition));
  }

  private commitOne(write: Write): Promise<ModelWriteResult> {
    const op: RpcDescription = { kind: "commit", paths: [write.path], conditional: isConditional(write) };
    return this.firestore.rpc(op, () => this.firestore.commit([write])[0]);
  }
}

export class ModelSnapshot {
  constructor(
    readonly ref: ModelDocumentRef,
    private readonly fields: Fields | undefined,
    readonly createTime: Timestamp | undefined,
    readonly updateTime: Timestamp | undefined,
    readonly readTime: Timestamp,
  ) {}

  get exists(): boolean {
    return this.fields !== undefined;
  }

  get id(): string {
    return this.ref.id;
  }

  /** A fresh deep copy on every call, as the client library decodes one. */
  data(): DocumentData | undefined {
    return this.fields && clone(this.fields);
  }

  get(fieldPath: string): unknown {
    return clone(valueAt(this.fields, splitPath(fieldPath)));
  }
}

export class ModelWriteResult {
  constructor(readonly writeTime: Timestamp) {}

  isEqual(other: unknown): boolean {
    return other instanceof ModelWriteResult && other.writeTime.isEqual(this.writeTime);
  }
}

// ---------------------------------------------------------------- queries

type Operator = "==" | "!=" | "<" | "<=" | ">" | ">=";

interface QuerySpec {
  /** Collection path, or collection id for a group. */
  scope: string;
  group: boolean;
  filters: Array<{ segments: string[]; op: Operator; value: unknown }>;
  orders: Array<{ segments: string[]; direction: 1 | -1 }>;
  limit?: number;
  startAfter?: { snapshot?: ModelSnapshot; values?: unknown[] };
  select?: string[];
}

const OPERATORS: Operator[] = ["==", "!=", "<", "<=", ">", ">="];

function inScope(spec: QuerySpec, path: string): boolean {
  const parent = path.slice(0, path.lastIndexOf("/"));
  return spec.group ? parent.slice(parent.lastIndexOf("/") + 1) === spec.scope : parent === spec.scope;
}

/**
 * Firestore's filters: a range or equality matches only values of the
 * operand's type (a missing field never matches); `null` only `== null`;
 * `!=` matches any other present, non-null value, of any type.
 */
function matches(filter: QuerySpec["filters"][number], value: unknown): boolean {
  if (value === undefined) return false;
  if (filter.op === "!=") return value !== null && !valuesEqual(value, filter.value);
  if (typeRank(value) !== typeRank(filter.value)) return false;
  const c = compareValues(value, filter.value);
  if (filter.value === null) return filter.op === "==";
  switch (filter.op) {
    case "==": return c === 0;
    case "<": return c < 0;
    case "<=": return c <= 0;
    case ">": return c > 0;
    case ">=": return c >= 0;
  }
}

/** Explicit orders; without any, an inequality's field orders first (as Firestore does); ties go by document name. */
function effectiveOrders(spec: QuerySpec): QuerySpec["orders"] {
  if (spec.orders.length > 0) return spec.orders;
  const inequality = spec.filters.find((f) => f.op !== "==");
  return inequality ? [{ segments: inequality.segments, direction: 1 }] : [];
}

export class ModelQuery {
  constructor(readonly firestore: ModelFirestore, protected readonly spec: QuerySpec) {}

  where(fieldPath: string, op: Operator, value: unknown): ModelQuery {
    if (!OPERATORS.includes(op)) throw new Error(`The operator "${op}" is not modelled by ModelFirestore.`);
    return this.with({ filters: [...this.spec.filters, { segments: splitPath(fieldPath), op, value: stored(value, fieldPath) }] });
  }

  orderBy(fieldPath: string, direction: "asc" | "desc" = "asc"): ModelQuery {
    return this.with({ orders: [...this.spec.orders, { segments: splitPath(fieldPath), direction: direction === "desc" ? -1 : 1 }] });
  }

  limit(n: number): ModelQuery {
    return this.with({ limit: n });
  }

  /** After a snapshot (its order fields, then its name) or after values of the order fields. */
  startAfter(...cursor: unknown[]): ModelQuery {
    const [first] = cursor;
    return this.with({ startAfter: first instanceof ModelSnapshot ? { snapshot: first } : { values: cursor.map((v, i) => stored(v, `cursor ${i}`)) } });
  }

  select(...fieldPaths: string[]): ModelQuery {
    return this.with({ select: fieldPaths });
  }

  get(): Promise<ModelQuerySnapshot> {
    const spec = this.spec;
    return this.firestore.rpc({ kind: "query", paths: [spec.scope] }, () => new ModelQuerySnapshot(this.firestore.runQuery(spec)));
  }

  private with(change: Partial<QuerySpec>): ModelQuery {
    return new ModelQuery(this.firestore, { ...this.spec, ...change });
  }
}

export class ModelCollectionRef extends ModelQuery {
  constructor(firestore: ModelFirestore, readonly path: string) {
    super(firestore, { scope: path, group: false, filters: [], orders: [] });
    if (path.split("/").length % 2 !== 1) throw new Error(`"${path}" is not a collection path.`);
  }

  get id(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1);
  }

  get parent(): ModelDocumentRef | null {
    return this.path.includes("/") ? new ModelDocumentRef(this.firestore, this.path.slice(0, this.path.lastIndexOf("/"))) : null;
  }

  doc(id: string = this.firestore.nextAutoId()): ModelDocumentRef {
    return new ModelDocumentRef(this.firestore, `${this.path}/${id}`);
  }
}

export class ModelQuerySnapshot {
  constructor(readonly docs: ModelSnapshot[]) {}

  get size(): number {
    return this.docs.length;
  }

  get empty(): boolean {
    return this.docs.length === 0;
  }

  forEach(callback: (snapshot: ModelSnapshot) => void): void {
    this.docs.forEach((snapshot) => callback(snapshot));
  }
}

// ---------------------------------------------------------------- transactions, batches, bulk writes

/** The writes a transaction or a batch collects, applied together at its commit. */
class WriteCollector {
  protected readonly writes: Write[] = [];

  create(ref: ModelDocumentRef, data: Fields): this {
    this.writes.push(makeWrite("create", ref, data));
    return this;
  }

  set(ref: ModelDocumentRef, data: Fields, options: { merge?: boolean } = {}): this {
    this.writes.push(makeWrite(options.merge ? "merge" : "set", ref, data));
    return this;
  }

  update(ref: ModelDocumentRef, patch: Fields, precondition?: Precondition): this {
    this.writes.push(makeWrite("update", ref, patch, precondition));
    return this;
  }

  delete(ref: ModelDocumentRef, precondition?: Precondition): this {
    this.writes.push(makeWrite("delete", ref, undefined, precondition));
    return this;
  }
}

export class ModelTransaction extends WriteCollector {
  /** The version of each document as first read: checked again at commit. */
  private readonly reads = new Map<string, Timestamp | null>();

  constructor(private readonly firestore: ModelFirestore) {
    super();
  }

  get(ref: ModelDocumentRef): Promise<ModelSnapshot> {
    if (!(ref instanceof ModelDocumentRef)) throw new Error("Queries in transactions are not modelled by ModelFirestore.");
    return this.getAll(ref).then(([snapshot]) => snapshot);
  }

  getAll(...args: Array<ModelDocumentRef | { fieldMask?: string[] }>): Promise<ModelSnapshot[]> {
    // As the client library: reads first, then writes.
    if (this.writes.length > 0) throw new Error("Firestore transactions require all reads to be executed before all writes.");
    const { refs, mask } = splitGetAllArgs(args);
    return this.firestore.rpc({ kind: "txGet", paths: refs.map((r) => r.path) }, () =>
      refs.map((ref) => {
        if (!this.reads.has(ref.path)) this.reads.set(ref.path, this.firestore.version(ref.path));
        return this.firestore.read(ref.path, mask);
      }),
    );
  }

  /** @internal Always one RPC, even without writes: the reads are validated and the scheduler gets its crash point. */
  async commit(): Promise<void> {
    const paths = [...new Set([...this.reads.keys(), ...this.writes.map((w) => w.path)])];
    await this.firestore.rpc({ kind: "txCommit", paths, conditional: true }, () => this.firestore.commit(this.writes, this.reads));
  }
}

export class ModelWriteBatch extends WriteCollector {
  constructor(private readonly firestore: ModelFirestore) {
    super();
  }

  /** All or nothing: one failed precondition fails the batch. */
  commit(): Promise<ModelWriteResult[]> {
    const op: RpcDescription = { kind: "commit", paths: this.writes.map((w) => w.path), conditional: this.writes.some(isConditional) };
    return this.firestore.rpc(op, () => this.firestore.commit(this.writes));
  }
}

export type ModelBulkWriterError = StatusError & {
  failedAttempts: number;
  documentRef: ModelDocumentRef;
  operationType: "create" | "set" | "update" | "delete";
};

/**
 * Each write is its own RPC and its own outcome (unlike a batch). A failed
 * write asks `onWriteError`; true sends it again (the real BulkWriter backs
 * off first; here the scheduler's io decides the timing).
 */
export class ModelBulkWriter {
  private readonly pending = new Set<Promise<unknown>>();
  private shouldRetry = (error: ModelBulkWriterError) =>
    (BULK_RETRY.has(error.code) || (error.operationType === "delete" && error.code === 13)) && error.failedAttempts < BULK_MAX_ATTEMPTS;
  private closed = false;

  constructor(private readonly firestore: ModelFirestore) {}

  onWriteError(callback: (error: ModelBulkWriterError) => boolean): void {
    this.shouldRetry = callback;
  }

  create(ref: ModelDocumentRef, data: Fields): Promise<ModelWriteResult> {
    return this.enqueue(makeWrite("create", ref, data), ref, "create");
  }

  set(ref: ModelDocumentRef, data: Fields, options: { merge?: boolean } = {}): Promise<ModelWriteResult> {
    return this.enqueue(makeWrite(options.merge ? "merge" : "set", ref, data), ref, "set");
  }

  update(ref: ModelDocumentRef, patch: Fields, precondition?: Precondition): Promise<ModelWriteResult> {
    return this.enqueue(makeWrite("update", ref, patch, precondition), ref, "update");
  }

  delete(ref: ModelDocumentRef, precondition?: Precondition): Promise<ModelWriteResult> {
    return this.enqueue(makeWrite("delete", ref, undefined, precondition), ref, "delete");
  }

  /** Resolves when every write enqueued so far has settled. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private enqueue(write: Write, ref: ModelDocumentRef, operationType: ModelBulkWriterError["operationType"]): Promise<ModelWriteResult> {
    if (this.closed) throw new Error("BulkWriter has already been closed.");
    const op: RpcDescription = { kind: "bulkWrite", paths: [write.path], conditional: isConditional(write) };
    const attempt = async (): Promise<ModelWriteResult> => {
      for (let failedAttempts = 1; ; failedAttempts++) {
        try {
          return await this.firestore.rpc(op, () => this.firestore.commit([write])[0]);
        } catch (cause) {
          const error = Object.assign(new Error((cause as Error).message), {
            code: typeof (cause as { code?: unknown }).code === "number" ? (cause as StatusError).code : 2,
            details: String((cause as { details?: unknown }).details ?? (cause as Error).message),
            failedAttempts,
            documentRef: ref,
            operationType,
          }) as ModelBulkWriterError;
          if (!this.shouldRetry(error)) throw error;
        }
      }
    };
    const result = attempt();
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return result;
  }
}
