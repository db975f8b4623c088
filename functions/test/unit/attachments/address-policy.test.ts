/**
 * The address policy for attachment downloads: every special-purpose class is
 * refused with a reason people can act on, public unicast passes, and the
 * classes ipaddr.js calls unicast although they never are public (IPv6
 * outside 2000::/3, e.g. the IPv4-compatible ::7f00:1) are refused too.
 */
import { addressRefusal } from "../../../src/attachments/address-policy";

describe("addressRefusal", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.255.255.254", "a loopback address"],
    ["10.0.0.1", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.0.1", "a private address"],
    ["169.254.169.254", "a link-local address (the metadata server lives there)"],
    ["100.64.0.1", "a carrier-grade NAT address"],
    ["100.127.255.254", "a carrier-grade NAT address"],
    ["224.0.0.1", "a multicast address"],
    ["255.255.255.255", "a broadcast address"],
    ["0.0.0.0", "an unspecified address"],
    ["0.1.2.3", "an unspecified address"],
    ["192.0.2.1", "a reserved address"],
    ["240.0.0.1", "a reserved address"],
    ["::", "an unspecified address"],
    ["::1", "a loopback address"],
    ["fe80::1", "a link-local address (the metadata server lives there)"],
    ["fc00::1", "a unique-local address"],
    ["fd20:ce::254", "a unique-local address"],
    ["ff02::1", "a multicast address"],
    ["::ffff:127.0.0.1", "an IPv4-mapped IPv6 address (127.0.0.1, a loopback address)"],
    ["::ffff:a9fe:a9fe", "an IPv4-mapped IPv6 address (169.254.169.254, a link-local address (the metadata server lives there))"],
    ["::ffff:100.64.0.1", "an IPv4-mapped IPv6 address (100.64.0.1, a carrier-grade NAT address)"],
    ["::ffff:8.8.8.8", "an IPv4-mapped IPv6 address (8.8.8.8)"],
    ["::ffff:0:7f00:1", "an IPv4-translated IPv6 address"],
    ["64:ff9b::7f00:1", "a NAT64 address"],
    ["64:ff9b:1::a00:1", "a NAT64 address"],
    ["2002:7f00:1::1", "a 6to4 address"],
    ["2001:0::1", "a Teredo address"],
    ["2001:db8::1", "a reserved address"],
    // Missed by ipaddr.js's "unicast": not in 2000::/3, so never a public host.
    ["::7f00:1", "an IPv6 address outside the global unicast range 2000::/3"],
    ["::a9fe:a9fe", "an IPv6 address outside the global unicast range 2000::/3"],
    ["::2", "an IPv6 address outside the global unicast range 2000::/3"],
    ["fec0::1", "a special-purpose address (deprecatedSiteLocal)"],
    ["not-an-address", "not an IP address"],
  ])("refuses %s: %s", (address, reason) => {
    expect(addressRefusal(address)).toBe(reason);
  });

  it.each(["8.8.8.8", "1.1.1.1", "142.250.74.100", "2607:f8b0:4004:800::200e", "2a00:1450:4001:80b::200e"])("allows the public address %s", (address) => {
    expect(addressRefusal(address)).toBeUndefined();
  });

  it("exempts exactly the listed addresses, in any spelling of them", () => {
    expect(addressRefusal("127.0.0.2", ["127.0.0.2"])).toBeUndefined();
    expect(addressRefusal("127.0.0.1", ["127.0.0.2"])).toBe("a loopback address");
    expect(addressRefusal("0:0:0:0:0:0:0:1", ["::1"])).toBeUndefined();
  });
});
