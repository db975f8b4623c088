/**
 * Which network addresses an attachment may be downloaded from: public
 * unicast addresses only. The document's author chooses the URL and the
 * response is mailed to recipients of their choosing, so an address of this
 * machine or its network (the metadata server at 169.254.169.254 above all)
 * would turn the extension into a proxy into the project's network.
 *
 * ipaddr.js names the special-purpose ranges (loopback, private, link-local,
 * unique-local, carrier-grade NAT, multicast, unspecified, IPv4-mapped,
 * NAT64, 6to4, Teredo, documentation…) and request-filtering-agent refuses
 * every address it does not call "unicast". This module gives the same
 * verdict with a reason people can act on, and adds the one class ipaddr.js
 * still calls unicast although it never is on the public internet: IPv6
 * outside 2000::/3, such as the deprecated IPv4-compatible form ::7f00:1.
 */
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

/**
 * Why `address` (an IP address in any form Node or a DNS answer gives) must
 * not be connected to, or `undefined` when it is a public unicast address.
 * `allowed` lists exact addresses that pass anyway: only tests use it, to
 * reach servers on loopback.
 */
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
