/** Secret values held in memory, for tests of what profiles do with them (not of Secret Manager itself). */
import type { SecretReader } from "../../src/tenants/sender-profiles";

export function memorySecrets(): SecretReader & { set(version: string, value: string): void; reads: number } {
  const values = new Map<string, string>();
  const cached = new Map<string, string>();
  const secrets = {
    reads: 0,
    set: (version: string, value: string) => void values.set(version, value),
    async read(version: string) {
      const hit = cached.get(version);
      if (hit !== undefined) return hit;
      secrets.reads++;
      const value = values.get(version);
      if (value === undefined) throw new Error(`NOT_FOUND: Secret Manager has no ${version}`);
      cached.set(version, value);
      return value;
    },
    forget: (version: string) => void cached.delete(version),
  };
  return secrets;
}
