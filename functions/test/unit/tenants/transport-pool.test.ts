import type { MailTransport } from "../../../src/providers/provider";
import { transportPool } from "../../../src/tenants/transport-pool";

function fakeTransport(name: string, closed: string[]): MailTransport {
  return { kind: name, pooled: true, send: async () => ({ messageId: null, accepted: [], rejected: [], pending: [], response: "" }), close: () => void closed.push(name) };
}

describe("the per-profile transport pool", () => {
  it("reuses a profile's transport for the same params and secrets", () => {
    const closed: string[] = [];
    let built = 0;
    const pool = transportPool(2);
    const build = () => fakeTransport(`a${++built}`, closed);
    const first = pool.acquire("a", "k1", build);
    first.release();
    const second = pool.acquire("a", "k1", build);
    expect(second.transport).toBe(first.transport);
    expect(built).toBe(1);
  });

  it("closes the least recently used profile's transport past the bound", () => {
    const closed: string[] = [];
    const pool = transportPool(2);
    for (const id of ["a", "b", "a", "c"]) pool.acquire(id, "k", () => fakeTransport(id, closed)).release();
    expect(closed).toEqual(["b"]);
    expect(pool.size).toBe(2);
  });

  it("never closes a transport under a send in flight: it closes when that send ends", () => {
    const closed: string[] = [];
    const pool = transportPool(1);
    const busy = pool.acquire("a", "k", () => fakeTransport("a", closed));
    pool.acquire("b", "k", () => fakeTransport("b", closed)).release();
    expect(closed).toEqual([]);
    busy.release();
    busy.release();
    expect(closed).toEqual(["a"]);
  });

  it("replaces a profile's transport when its params or secrets change", () => {
    const closed: string[] = [];
    const pool = transportPool(5);
    const old = pool.acquire("a", "old-password", () => fakeTransport("a-old", closed));
    old.release();
    const fresh = pool.acquire("a", "new-password", () => fakeTransport("a-new", closed));
    expect(fresh.transport.kind).toBe("a-new");
    expect(closed).toEqual(["a-old"]);
  });
});
