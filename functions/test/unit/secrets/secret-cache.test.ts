/**
 * The secret cache: a value is reused for a bounded time, a bounded number
 * are kept, concurrent reads share one request, failures are not kept, and
 * forget() makes the next read ask again.
 */
import { createSecretCache, type SecretCache } from "../../../src/secrets/secret-cache";

/** A backend answering `value-N` for the Nth request of a name, counting requests; `fail` makes its next answers fail. */
function backend() {
  const requests: string[] = [];
  let failure: Error | undefined;
  const pending: Array<() => void> = [];
  let held = false;
  const fetch = (name: string): Promise<string> => {
    requests.push(name);
    const count = requests.filter((asked) => asked === name).length;
    const answer = (): Promise<string> => (failure ? Promise.reject(failure) : Promise.resolve(`${name}#${count}`));
    if (!held) return answer();
    return new Promise<void>((resolve) => pending.push(resolve)).then(answer);
  };
  return {
    fetch,
    count: (name?: string) => (name === undefined ? requests.length : requests.filter((asked) => asked === name).length),
    fail: (error: Error | undefined) => void (failure = error),
    /** Holds answers back until release(). */
    hold: () => void (held = true),
    release() {
      held = false;
      for (const resolve of pending.splice(0)) resolve();
    },
  };
}

function cacheWith(options: { ttlMs?: number; maxEntries?: number } = {}) {
  const server = backend();
  let now = 1_000_000;
  const cache: SecretCache = createSecretCache(server.fetch, { ttlMs: options.ttlMs ?? 60_000, maxEntries: options.maxEntries ?? 10, now: () => now });
  return { cache, server, advance: (ms: number) => void (now += ms) };
}

describe("expiry", () => {
  it("reuses a value until its time is up, then reads it again", async () => {
    const { cache, server, advance } = cacheWith({ ttlMs: 60_000 });
    expect(await cache.read("a")).toBe("a#1");
    advance(59_999);
    expect(await cache.read("a")).toBe("a#1");
    expect(server.count("a")).toBe(1);
    advance(1);
    expect(await cache.read("a")).toBe("a#2");
    expect(server.count("a")).toBe(2);
  });

  it("counts a value's time from when it was read, not from when it was last used", async () => {
    const { cache, server, advance } = cacheWith({ ttlMs: 60_000 });
    await cache.read("a");
    for (let i = 0; i < 6; i++) {
      advance(10_000);
      await cache.read("a");
    }
    expect(server.count("a")).toBe(2);
  });
});

describe("the bound on entries", () => {
  it("keeps at most maxEntries values, dropping the least recently used", async () => {
    const { cache, server } = cacheWith({ maxEntries: 2 });
    await cache.read("a");
    await cache.read("b");
    await cache.read("a"); // a is now more recently used than b
    await cache.read("c"); // drops b
    expect(server.count()).toBe(3);
    expect(await cache.read("a")).toBe("a#1");
    expect(await cache.read("c")).toBe("c#1");
    expect(server.count()).toBe(3);
    expect(await cache.read("b")).toBe("b#2");
    expect(server.count("b")).toBe(2);
  });
});

describe("concurrent reads", () => {
  it("of one name share one request", async () => {
    const { cache, server } = cacheWith();
    server.hold();
    const reads = Array.from({ length: 20 }, () => cache.read("a"));
    server.release();
    expect(new Set(await Promise.all(reads))).toEqual(new Set(["a#1"]));
    expect(server.count("a")).toBe(1);
  });

  it("of different names do not wait for each other's request", async () => {
    const { cache, server } = cacheWith();
    await Promise.all([cache.read("a"), cache.read("b")]);
    expect([server.count("a"), server.count("b")]).toEqual([1, 1]);
  });

  it("share a failure, and the next read asks again", async () => {
    const { cache, server } = cacheWith();
    server.fail(new Error("UNAVAILABLE"));
    server.hold();
    const reads = [cache.read("a"), cache.read("a")];
    server.release();
    for (const read of reads) await expect(read).rejects.toThrow("UNAVAILABLE");
    expect(server.count("a")).toBe(1);
  });
});

describe("failures", () => {
  it("are never kept: the next read asks again and keeps its success", async () => {
    const { cache, server } = cacheWith();
    server.fail(new Error("NOT_FOUND"));
    await expect(cache.read("a")).rejects.toThrow("NOT_FOUND");
    await expect(cache.read("a")).rejects.toThrow("NOT_FOUND");
    server.fail(undefined);
    expect(await cache.read("a")).toBe("a#3");
    expect(await cache.read("a")).toBe("a#3");
    expect(server.count("a")).toBe(3);
  });

  it("do not drop the value another name keeps", async () => {
    const { cache, server } = cacheWith();
    await cache.read("b");
    server.fail(new Error("down"));
    await expect(cache.read("a")).rejects.toThrow("down");
    expect(await cache.read("b")).toBe("b#1");
  });
});

describe("forget", () => {
  it("makes the next read ask again (a rotated password after an authentication failure)", async () => {
    const { cache, server } = cacheWith();
    expect(await cache.read("a")).toBe("a#1");
    cache.forget("a");
    expect(await cache.read("a")).toBe("a#2");
    expect(await cache.read("a")).toBe("a#2");
    expect(server.count("a")).toBe(2);
  });

  it("leaves other names cached", async () => {
    const { cache, server } = cacheWith();
    await cache.read("a");
    await cache.read("b");
    cache.forget("a");
    await cache.read("b");
    expect(server.count("b")).toBe(1);
  });

  it("detaches a read in flight: its answer may predate the rotation, so later reads ask again and it is not kept", async () => {
    const { cache, server } = cacheWith();
    server.hold();
    const before = cache.read("a");
    cache.forget("a");
    const after = cache.read("a");
    server.release();
    expect([await before, await after]).toEqual(["a#1", "a#2"]);
    expect(await cache.read("a")).toBe("a#2");
    expect(server.count("a")).toBe(2);
  });

  it("of a name never read does nothing", async () => {
    const { cache } = cacheWith();
    expect(() => cache.forget("never")).not.toThrow();
  });
});
