import { archiveMessage, type DocumentWriter } from "../../../src/archive/archive-message";
import { canonicalJson, sha256Hex, type CanonicalValue } from "../../../src/archive/canonical-json";
import { ARCHIVE_LIMITS } from "../../../src/archive/limits";
import { ARCHIVE_DEADLINE_MS, MIN_ARCHIVE_MS, OUTCOME_MARGIN_MS } from "../../../src/shared/budget";

// The module object itself, so that a spy sees what src/shared/logs.ts logs.
const functionsLogger: typeof import("firebase-functions/logger") = jest.requireActual("firebase-functions/logger");

const SENT = { mailPath: "mail/m1", attemptId: "att1", messageId: "<m1@example.com>", message: { to: "ann@example.com", subject: "Hi", text: "Hello" } };

function recordingStore(write: (path: string, data: Record<string, unknown>) => Promise<void> = async () => undefined) {
  const writes: Array<{ path: string; data: Record<string, unknown> }> = [];
  const store: DocumentWriter = {
    writeDocument: (path, data) => {
      writes.push({ path, data });
      return write(path, data);
    },
  };
  return { store, writes };
}

const call = (store: DocumentWriter, leaseLeftMs = 30_000) => ({ store, settings: {}, mailCollection: "mail", leaseEnds: Date.now() + leaseLeftMs });

describe("archiveMessage", () => {
  let warn: jest.SpiedFunction<typeof functionsLogger.warn>;
  beforeEach(() => {
    warn = jest.spyOn(functionsLogger, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());
  const codes = () => warn.mock.calls.map(([, fields]) => (fields as { code: string }).code);

  it("writes one document named by the attempt and returns its path and the hash of what it wrote", async () => {
    const { store, writes } = recordingStore();
    const reference = await archiveMessage(SENT, call(store));
    expect(writes.map((write) => write.path)).toEqual(["mail/m1/archive/att1"]);
    expect(reference).toEqual({ sha256: sha256Hex(canonicalJson(writes[0].data as CanonicalValue)), path: "mail/m1/archive/att1" });
    expect(codes()).toEqual([]);
  });

  it("a refused write returns nothing and logs why, without throwing", async () => {
    const { store } = recordingStore(() => Promise.reject(Object.assign(new Error("7 PERMISSION_DENIED: no"), { code: 7 })));
    await expect(archiveMessage(SENT, call(store))).resolves.toBeUndefined();
    expect(codes()).toEqual(["archive-write-failed"]);
  });

  it("a write that hangs is given up after what the lease leaves beyond the outcome margin", async () => {
    const { store } = recordingStore(() => new Promise(() => undefined));
    const started = Date.now();
    await expect(archiveMessage(SENT, call(store, OUTCOME_MARGIN_MS + 1_200))).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(ARCHIVE_DEADLINE_MS);
    expect(codes()).toEqual(["archive-timeout"]);
  });

  it("with less than the minimum left, writes nothing", async () => {
    const { store, writes } = recordingStore();
    await expect(archiveMessage(SENT, call(store, OUTCOME_MARGIN_MS + MIN_ARCHIVE_MS - 200))).resolves.toBeUndefined();
    expect(writes).toEqual([]);
    expect(codes()).toEqual(["archive-no-time"]);
  });

  it("a record over the document limit, without a storage path, writes nothing and names the param to set", async () => {
    const { store, writes } = recordingStore();
    const large = { ...SENT, message: { ...SENT.message, html: "x".repeat(ARCHIVE_LIMITS.documentBytes) } };
    await expect(archiveMessage(large, call(store))).resolves.toBeUndefined();
    expect(writes).toEqual([]);
    expect(codes()).toEqual(["archive-too-large"]);
    expect(warn.mock.calls[0][0]).toContain("set ARCHIVE_STORAGE_PATH");
  });

  it("a record just under the limit still goes to a document", async () => {
    const { store, writes } = recordingStore();
    const base = Buffer.byteLength(canonicalJson({ ...(await archiveOf(SENT)), html: "" }), "utf8");
    const fits = { ...SENT, message: { ...SENT.message, html: "x".repeat(ARCHIVE_LIMITS.documentBytes - base) } };
    await expect(archiveMessage(fits, call(store))).resolves.toMatchObject({ path: "mail/m1/archive/att1" });
    expect(writes).toHaveLength(1);
  });
});

/** The record archiveMessage writes for `sent`, as canonical values. */
async function archiveOf(sent: typeof SENT): Promise<Record<string, CanonicalValue>> {
  const { store, writes } = recordingStore();
  await archiveMessage(sent, call(store));
  return writes[0].data as Record<string, CanonicalValue>;
}
