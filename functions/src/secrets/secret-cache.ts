/**
 * Keeps secret values read from a backend for a bounded time and in a
 * bounded number, so that a warm instance sending a burst for one profile
 * reads its secret once instead of once per mail. Concurrent reads of one
 * name share one request; a failure is never kept, so the next read asks
 * again. `forget` drops a value (and detaches a read in flight, whose answer
 * may predate a rotation) after the value was refused by a server.
 */
export interface SecretCacheOptions {
  /** How long a value is reused after it was read. */
  readonly ttlMs: number;
  /** Values kept at once; the least recently used is dropped first. */
  readonly maxEntries: number;
  readonly now: () => number;
}

export interface SecretCache {
  read(name: string): Promise<string>;
  forget(name: string): void;
}

export function createSecretCache(fetch: (name: string) => Promise<string>, options: SecretCacheOptions): SecretCache {
  // A Map iterates in insertion order: re-inserting on each hit keeps the least recently used first.
  const values = new Map<string, { value: string; expiresAt: number }>();
  const inFlight = new Map<string, Promise<string>>();

  function remember(name: string, value: string): void {
    values.delete(name);
    values.set(name, { value, expiresAt: options.now() + options.ttlMs });
    while (values.size > options.maxEntries) values.delete(values.keys().next().value as string);
  }

  return {
    read(name) {
      const cached = values.get(name);
      if (cached && options.now() < cached.expiresAt) {
        values.delete(name);
        values.set(name, cached);
        return Promise.resolve(cached.value);
      }
      if (cached) values.delete(name);
      const pending = inFlight.get(name);
      if (pending) return pending;
      const request = fetch(name).then((value) => {
        // Only the current request may fill the cache: one detached by forget() may carry the old value.
        if (inFlight.get(name) === request) remember(name, value);
        return value;
      });
      inFlight.set(name, request);
      const settled = (): void => {
        if (inFlight.get(name) === request) inFlight.delete(name);
      };
      request.then(settled, settled);
      return request;
    },
    forget(name) {
      values.delete(name);
      inFlight.delete(name);
    },
  };
}
