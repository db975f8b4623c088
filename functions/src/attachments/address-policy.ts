/**
 * Attachments are downloaded from public unicast addresses only: the
 * document's author chooses URL and recipients, so an address of this
 * machine or its network (the metadata server above all) would make the
 * extension a proxy into the project's network. ipaddr.js names the
 * special ranges; IPv6 outside 2000::/3, which it calls unicast, is refused
 * too. The policy is applied where the socket gets its address: to every
 * DNS answer (checkedLookup), which covers redirects and answers that
 * change after a check, and to literal addresses (https-download.ts).
 */
import * as dns from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/** Everything public IPv6 space is allocated from (RFC 4291 §2.4, IANA). */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/** ipaddr.js range names, as people know them. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: "an unspecified address",
  broadcast: "a broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address (the metadata server lives there)",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address",
  private: "a private address",
  uniqueLocal: "a unique-local address",
  ipv4Mapped: "an IPv4-mapped IPv6 address",
  rfc6145: "an IPv4-translated IPv6 address",
  rfc6052: "a NAT64 address",
  "6to4": "a 6to4 address",
  teredo: "a Teredo address",
  reserved: "a reserved address",
};

/** Why `address` must not be connected to, or `undefined`. `allowed`: exact addresses that pass anyway (tests, on loopback). */
export function addressRefusal(address: string, allowed: readonly string[] = []): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return "not an IP address";
  }
  if (allowed.some((entry) => ipaddr.isValid(entry) && ipaddr.parse(entry).toString() === parsed.toString())) return undefined;
  const range = parsed.range();
  if (range === "ipv4Mapped" && parsed.kind() === "ipv6") {
    const inner = (parsed as ipaddr.IPv6).toIPv4Address();
    const innerReason = addressRefusal(inner.toString());
    return `${RANGE_NAMES.ipv4Mapped} (${inner.toString()}${innerReason ? `, ${innerReason}` : ""})`;
  }
  if (range !== "unicast") return RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
  if (parsed.kind() === "ipv6" && !(parsed as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) return "an IPv6 address outside the global unicast range 2000::/3";
  return undefined;
}

/** Node's lookup signature, in the form tests inject a fake resolver. */
export type Lookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/** A connection refused by the policy; `reason` says which class the address is in. */
export class AddressRefusedError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`${host} resolved to ${address}, ${reason}`);
    this.name = "AddressRefusedError";
  }
}

const systemLookup: Lookup = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/** `resolve` with every answer checked, not only the first: with `autoSelectFamily` Node tries several. */
export function checkedLookup(resolve: Lookup = systemLookup, allowed: readonly string[] = []): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 4);
      if (!Array.isArray(addresses) || addresses.length === 0) {
        const none: NodeJS.ErrnoException = Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" });
        return callback(none, "", 4);
      }
      for (const { address } of addresses) {
        const reason = addressRefusal(address, allowed);
        if (reason) return callback(new AddressRefusedError(hostname, address, reason), "", 4);
      }
      if (options.all) return (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
