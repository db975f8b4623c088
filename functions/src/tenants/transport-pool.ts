/**
 * One transport per sender profile, kept while used and bounded: past
 * `max` profiles, the least recently used one is closed, but never under a
 * send in flight (closing a pool fails what it is sending): it closes when
 * its last send ends. A profile whose params or secrets changed gets a new
 * transport; the old one closes the same way.
 */
import type { MailTransport } from "../providers/provider";

interface Entry {
  key: string;
  transport: MailTransport;
  inUse: number;
  retired: boolean;
}

export interface Lease {
  transport: MailTransport;
  release(): void;
}

export interface TransportPool {
  /** The profile's transport for `key` (its params and secrets), built on first use. @throws what `build` throws */
  acquire(profile: string, key: string, build: () => MailTransport): Lease;
  /** Profiles with a transport kept. */
  readonly size: number;
  close(): void;
}

export function transportPool(max: number, onClose: (profile: string) => void = () => undefined): TransportPool {
  const entries = new Map<string, Entry>();
  const retire = (profile: string, entry: Entry) => {
    if (entries.get(profile) === entry) entries.delete(profile);
    entry.retired = true;
    if (entry.inUse === 0) {
      entry.transport.close();
      onClose(profile);
    }
  };
  return {
    acquire(profile, key, build) {
      let entry = entries.get(profile);
      if (entry && entry.key !== key) retire(profile, entry);
      entry = entries.get(profile);
      if (!entry) entry = { key, transport: build(), inUse: 0, retired: false };
      // Map order is recency: the first key is the least recently used.
      entries.delete(profile);
      entries.set(profile, entry);
      for (const [oldest, candidate] of entries) {
        if (entries.size <= max) break;
        retire(oldest, candidate);
      }
      const leased = entry;
      leased.inUse += 1;
      let released = false;
      return {
        transport: leased.transport,
        release() {
          if (released) return;
          released = true;
          leased.inUse -= 1;
          if (leased.retired && leased.inUse === 0) {
            leased.transport.close();
            onClose(profile);
          }
        },
      };
    },
    get size() {
      return entries.size;
    },
    close() {
      for (const [profile, entry] of [...entries]) retire(profile, entry);
    },
  };
}
