//! Which addresses are not public destinations: the IANA Special-Purpose Address Registries
//! as one table per address family (SSRF defence: hardening beyond what the specification
//! requires).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public, or `None` when it is.
///
/// The refused ranges are the IANA Special-Purpose Address Registries, entry by entry, with
/// the most specific entry deciding (so e.g. `192.0.0.9/32` inside `192.0.0.0/24` follows
/// its own "Globally Reachable"):
///
/// * IANA IPv4 Special-Purpose Address Registry,
///   <https://www.iana.org/assignments/iana-ipv4-special-registry/>
/// * IANA IPv6 Special-Purpose Address Registry,
///   <https://www.iana.org/assignments/iana-ipv6-special-registry/>
///
/// Entries whose "Globally Reachable" is False are refused; True is allowed; the N/A
/// entries and the few ranges outside the registries are decided deliberately, each with
/// its reason in the tables (`V4`, `V6` in this module's source). Addresses that embed an IPv4 address a translator or
/// tunnel will reach (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4) are judged by that address.
/// Outside these tables, IPv6 outside `2000::/3` (the only Global Unicast allocation of the
/// IANA IPv6 Address Space registry) is refused.
///
/// ```
/// use oidfed::fetch::non_public_reason;
/// assert!(non_public_reason("127.0.0.1".parse().unwrap()).is_some());
/// assert!(non_public_reason("64:ff9b::7f00:1".parse().unwrap()).is_some()); // NAT64 of 127.0.0.1
/// assert!(non_public_reason("fc00::1".parse().unwrap()).is_some());
/// assert_eq!(non_public_reason("93.184.215.14".parse().unwrap()), None);
/// ```
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// What an entry says about an address inside it.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// Globally Reachable: False (or refused deliberately): never a destination.
    No,
    /// Globally Reachable: True.
    Yes,
    /// Judged by the IPv4 address embedded in these bits.
    Embeds(fn(u128) -> Ipv4Addr),
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

const fn v6(s: [u16; 8]) -> u128 {
    let mut v = 0u128;
    let mut i = 0;
    while i < 8 {
        v = (v << 16) | s[i] as u128;
        i += 1;
    }
    v
}

/// The IPv4 Special-Purpose Address Registry (plus multicast, from the Multicast Address
/// Space registry): (network, prefix length, name, reach).
const V4: &[(u32, u8, &str, Reach)] = &[
    (v4(0, 0, 0, 0), 8, "\"this\" network", Reach::No),
    (
        v4(0, 0, 0, 0),
        32,
        "\"this host on this network\"",
        Reach::No,
    ),
    (v4(10, 0, 0, 0), 8, "private-use", Reach::No),
    (v4(100, 64, 0, 0), 10, "shared address space", Reach::No),
    (v4(127, 0, 0, 0), 8, "loopback", Reach::No),
    (v4(169, 254, 0, 0), 16, "link-local", Reach::No),
    (v4(172, 16, 0, 0), 12, "private-use", Reach::No),
    (v4(192, 0, 0, 0), 24, "IETF protocol assignments", Reach::No),
    (
        v4(192, 0, 0, 0),
        29,
        "IPv4 service continuity prefix",
        Reach::No,
    ),
    (v4(192, 0, 0, 8), 32, "IPv4 dummy address", Reach::No),
    (
        v4(192, 0, 0, 9),
        32,
        "Port Control Protocol anycast",
        Reach::Yes,
    ),
    (
        v4(192, 0, 0, 10),
        32,
        "Traversal Using Relays around NAT anycast",
        Reach::Yes,
    ),
    (v4(192, 0, 0, 170), 32, "NAT64/DNS64 discovery", Reach::No),
    (v4(192, 0, 0, 171), 32, "NAT64/DNS64 discovery", Reach::No),
    (
        v4(192, 0, 2, 0),
        24,
        "documentation (TEST-NET-1)",
        Reach::No,
    ),
    (v4(192, 31, 196, 0), 24, "AS112-v4", Reach::Yes),
    (v4(192, 52, 193, 0), 24, "AMT", Reach::Yes),
    // N/A (deprecated by RFC 7526): relays to arbitrary 6to4 hosts; refused.
    (
        v4(192, 88, 99, 0),
        24,
        "deprecated 6to4 relay anycast",
        Reach::No,
    ),
    (v4(192, 168, 0, 0), 16, "private-use", Reach::No),
    (
        v4(192, 175, 48, 0),
        24,
        "direct delegation AS112 service",
        Reach::Yes,
    ),
    (v4(198, 18, 0, 0), 15, "benchmarking", Reach::No),
    (
        v4(198, 51, 100, 0),
        24,
        "documentation (TEST-NET-2)",
        Reach::No,
    ),
    (
        v4(203, 0, 113, 0),
        24,
        "documentation (TEST-NET-3)",
        Reach::No,
    ),
    // Not in the special-purpose registry: multicast is no unicast HTTPS destination.
    (v4(224, 0, 0, 0), 4, "multicast", Reach::No),
    (v4(240, 0, 0, 0), 4, "reserved", Reach::No),
    (v4(255, 255, 255, 255), 32, "limited broadcast", Reach::No),
];

fn low32(bits: u128) -> Ipv4Addr {
    Ipv4Addr::from(bits as u32)
}

fn six_to_four(bits: u128) -> Ipv4Addr {
    // 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
    Ipv4Addr::from((bits >> 80) as u32)
}

/// The IPv6 Special-Purpose Address Registry, plus the deliberate entries marked below.
const V6: &[(u128, u8, &str, Reach)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 1]), 128, "loopback", Reach::No),
    (v6([0; 8]), 128, "unspecified", Reach::No),
    // Registry: False. Used as a destination it is the IPv4 address it maps: judged as that.
    (
        v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        "IPv4-mapped",
        Reach::Embeds(low32),
    ),
    // Not in the registry: IPv4-compatible (deprecated, RFC 4291 §2.5.5.1) and SIIT's
    // IPv4-translated addresses (RFC 6145), for translators' own use.
    (v6([0; 8]), 96, "IPv4-compatible (deprecated)", Reach::No),
    (
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0]),
        96,
        "IPv4-translated (SIIT)",
        Reach::No,
    ),
    // Registry: True, but the translator reaches the embedded IPv4 address.
    (
        v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]),
        96,
        "NAT64",
        Reach::Embeds(low32),
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        "local-use NAT64",
        Reach::No,
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        "discard-only",
        Reach::No,
    ),
    (
        v6([0x100, 0, 0, 1, 0, 0, 0, 0]),
        64,
        "dummy IPv6 prefix",
        Reach::No,
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "IETF protocol assignments",
        Reach::No,
    ),
    // N/A: Teredo relays to an (obfuscated) IPv4 address; no HTTPS peer lives there.
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, "Teredo", Reach::No),
    (
        v6([0x2001, 1, 0, 0, 0, 0, 0, 1]),
        128,
        "Port Control Protocol anycast",
        Reach::Yes,
    ),
    (
        v6([0x2001, 1, 0, 0, 0, 0, 0, 2]),
        128,
        "TURN anycast",
        Reach::Yes,
    ),
    (
        v6([0x2001, 1, 0, 0, 0, 0, 0, 3]),
        128,
        "DNS-SD SRP anycast",
        Reach::Yes,
    ),
    (
        v6([0x2001, 2, 0, 0, 0, 0, 0, 0]),
        48,
        "benchmarking",
        Reach::No,
    ),
    (v6([0x2001, 3, 0, 0, 0, 0, 0, 0]), 32, "AMT", Reach::Yes),
    (
        v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0]),
        48,
        "AS112-v6",
        Reach::Yes,
    ),
    (
        v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0]),
        28,
        "deprecated (previously ORCHID)",
        Reach::No,
    ),
    (
        v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0]),
        28,
        "ORCHIDv2",
        Reach::Yes,
    ),
    (
        v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0]),
        28,
        "drone remote ID entity tags",
        Reach::Yes,
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        "documentation",
        Reach::No,
    ),
    // N/A: 6to4 reaches the embedded IPv4 address.
    (
        v6([0x2002, 0, 0, 0, 0, 0, 0, 0]),
        16,
        "6to4",
        Reach::Embeds(six_to_four),
    ),
    (
        v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0]),
        48,
        "direct delegation AS112",
        Reach::Yes,
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        "documentation",
        Reach::No,
    ),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]),
        16,
        "segment routing (SRv6) SIDs",
        Reach::No,
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        "unique-local",
        Reach::No,
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "link-local",
        Reach::No,
    ),
    // Not in the registry: deprecated site-local (RFC 3879) and multicast.
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "site-local (deprecated)",
        Reach::No,
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "multicast", Reach::No),
];

fn mask4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// The most specific entry containing the address.
fn most_specific<T: Copy + Eq + std::ops::BitAnd<Output = T>>(
    table: &'static [(T, u8, &'static str, Reach)],
    addr: T,
    mask: fn(u8) -> T,
) -> Option<&'static (T, u8, &'static str, Reach)> {
    table
        .iter()
        .filter(|(net, p, _, _)| addr & mask(*p) == *net & mask(*p))
        .max_by_key(|(_, p, _, _)| *p)
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    match most_specific(V4, u32::from(ip), mask4) {
        Some((_, _, why, Reach::No)) => Some(why),
        _ => None,
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    match most_specific(V6, bits, mask6) {
        Some((_, _, why, Reach::No)) => Some(why),
        Some((_, _, _, Reach::Yes)) => None,
        Some((_, _, _, Reach::Embeds(ipv4))) => v4_reason(ipv4(bits)),
        // Only 2000::/3 is allocated as Global Unicast (IANA IPv6 Address Space registry).
        None if bits >> 125 != 1 => Some("outside global unicast (2000::/3)"),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::DestinationGuard;

    /// Every entry of both registries (and each deliberate one): an address inside it, and
    /// whether the guard lets it through. Written from the registries, not from the tables.
    const REGISTRY_CASES: &[(&str, bool)] = &[
        // IPv4 Special-Purpose Address Registry.
        ("0.0.0.0", false),
        ("0.1.2.3", false),
        ("10.1.2.3", false),
        ("100.64.0.1", false),
        ("100.127.255.254", false),
        ("127.0.0.1", false),
        ("127.255.0.9", false),
        ("169.254.169.254", false),
        ("172.16.0.1", false),
        ("172.31.255.255", false),
        ("192.0.0.1", false),
        ("192.0.0.7", false),
        ("192.0.0.8", false),
        ("192.0.0.9", true),
        ("192.0.0.10", true),
        ("192.0.0.11", false),
        ("192.0.0.170", false),
        ("192.0.0.171", false),
        ("192.0.2.1", false),
        ("192.31.196.1", true),
        ("192.52.193.1", true),
        ("192.88.99.1", false),
        ("192.168.1.1", false),
        ("192.175.48.1", true),
        ("198.18.0.1", false),
        ("198.19.255.255", false),
        ("198.51.100.1", false),
        ("203.0.113.1", false),
        ("224.0.0.1", false),
        ("239.255.255.255", false),
        ("240.0.0.1", false),
        ("255.255.255.254", false),
        ("255.255.255.255", false),
        // IPv6 Special-Purpose Address Registry.
        ("::1", false),
        ("::", false),
        ("::ffff:127.0.0.1", false),
        ("::ffff:10.0.0.1", false),
        ("::ffff:169.254.169.254", false),
        ("::127.0.0.1", false),
        ("::8.8.8.8", false),
        ("::ffff:0:127.0.0.1", false),
        ("::ffff:0:8.8.8.8", false),
        ("64:ff9b::a9fe:a9fe", false),
        ("64:ff9b::7f00:1", false),
        ("64:ff9b:1::1", false),
        ("64:ff9b:1:ffff::8.8.8.8", false),
        ("100::1", false),
        ("100::ffff:ffff:ffff:ffff", false),
        ("100:0:0:1::1", false),
        ("2001::1", false),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", false),
        ("2001:1::1", true),
        ("2001:1::2", true),
        ("2001:1::3", true),
        ("2001:1::4", false),
        ("2001:2::1", false),
        ("2001:2:0:ffff::1", false),
        ("2001:3::1", true),
        ("2001:4:112::1", true),
        ("2001:4:113::1", false),
        ("2001:10::1", false),
        ("2001:1f:ffff::1", false),
        ("2001:20::1", true),
        ("2001:2f:ffff::1", true),
        ("2001:30::1", true),
        ("2001:100::1", false),
        ("2001:1ff:ffff::1", false),
        ("2001:db8::1", false),
        ("2002:7f00:1::", false),
        ("2002:a00:1::", false),
        ("2002:a9fe:a9fe::1", false),
        ("2620:4f:8000::1", true),
        ("3fff::1", false),
        ("3fff:fff::1", false),
        ("5f00::1", false),
        ("5fff:ffff::1", false),
        ("fc00::1", false),
        ("fd12::1", false),
        ("fe80::1", false),
        ("febf::1", false),
        ("fec0::1", false),
        ("ff02::1", false),
        // Outside 2000::/3 and every entry.
        ("4000::1", false),
        ("1::1", false),
        // Neighbouring public addresses.
        ("93.184.216.34", true),
        ("8.8.8.8", true),
        ("9.255.255.255", true),
        ("11.0.0.0", true),
        ("100.63.255.255", true),
        ("100.128.0.0", true),
        ("126.255.255.255", true),
        ("128.0.0.0", true),
        ("169.253.255.255", true),
        ("172.15.255.255", true),
        ("172.32.0.1", true),
        ("192.0.1.0", true),
        ("192.167.255.255", true),
        ("198.17.255.255", true),
        ("198.20.0.0", true),
        ("223.255.255.255", true),
        ("::ffff:8.8.8.8", true),
        ("64:ff9b::808:808", true),
        ("2002:808:808::1", true),
        ("2001:200::1", true),
        ("2001:db9::1", true),
        ("2606:4700::1111", true),
        ("3ffe:ffff::1", true),
        ("2620:4f:8001::1", true),
    ];

    #[test]
    fn every_special_purpose_entry() {
        for (addr, allowed) in REGISTRY_CASES {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(
                non_public_reason(ip).is_none(),
                *allowed,
                "{addr}: {:?}",
                non_public_reason(ip)
            );
            assert_eq!(
                DestinationGuard::new().check_ip(ip).is_ok(),
                *allowed,
                "{addr}"
            );
        }
    }

    /// No table entry goes untested: every entry has a case of the list above inside it.
    #[test]
    fn every_table_entry_is_covered() {
        for (net, p, name, _) in V4 {
            let hits = REGISTRY_CASES.iter().any(|(a, _)| {
                a.parse::<Ipv4Addr>()
                    .is_ok_and(|a| u32::from(a) & mask4(*p) == *net)
            });
            assert!(hits, "no case inside {}/{p} ({name})", Ipv4Addr::from(*net));
        }
        for (net, p, name, _) in V6 {
            let hits = REGISTRY_CASES.iter().any(|(a, _)| {
                a.parse::<Ipv6Addr>()
                    .is_ok_and(|a| u128::from(a) & mask6(*p) == *net)
            });
            assert!(hits, "no case inside {}/{p} ({name})", Ipv6Addr::from(*net));
        }
    }
}
