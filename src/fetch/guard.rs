//! The outbound destination guard (SSRF defence, spec-notes §11.2).
//!
//! Entity identifiers, `authority_hints`, fetch endpoints, `signed_jwks_uri`… are chosen by
//! federation members, some hostile. The guard refuses anything but `https`, URLs with user
//! information, and every destination that is or resolves to a non-public address, unless an
//! explicit allow-list opens it (test federations, private federations).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::{Host, Url};

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or a single address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is inside the network (IPv4-mapped IPv6 addresses match IPv4 networks).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{a:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{p:?} is not a prefix length"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Unwraps IPv4-mapped IPv6 (`::ffff:a.b.c.d`) to IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Why an address is not public, or `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn in4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let ranges: [([u8; 4], u32, &'static str); 15] = [
        ([0, 0, 0, 0], 8, "\"this\" network"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([10, 0, 0, 0], 8, "private (RFC 1918)"),
        ([172, 16, 0, 0], 12, "private (RFC 1918)"),
        ([192, 168, 0, 0], 16, "private (RFC 1918)"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([100, 64, 0, 0], 10, "shared address space (CGNAT)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast"),
    ];
    ranges
        .iter()
        .find(|(net, p, _)| in4(ip, *net, *p))
        .map(|(_, _, why)| *why)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if seg[0] & 0xff00 == 0xff00 {
        return Some("multicast");
    }
    if seg[0] & 0xffc0 == 0xfe80 {
        return Some("link-local");
    }
    if seg[0] & 0xffc0 == 0xfec0 {
        return Some("site-local");
    }
    if seg[0] & 0xfe00 == 0xfc00 {
        return Some("unique local");
    }
    if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        return Some("documentation");
    }
    if seg[0] == 0x2001 && seg[1] == 0 {
        return Some("Teredo (embeds an IPv4 address)");
    }
    if seg[0] == 0x0100 && seg[1..4] == [0, 0, 0] {
        return Some("discard-only");
    }
    // Forms that embed an IPv4 address.
    if bits >> 32 == 0 {
        // IPv4-compatible ::a.b.c.d is deprecated: never a legitimate destination.
        return Some("IPv4-compatible IPv6 (deprecated)");
    }
    if seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        // NAT64: judge the embedded IPv4 address.
        return v4_reason(Ipv4Addr::from(bits as u32));
    }
    if seg[0] == 0x2002 {
        // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
        return v4_reason(Ipv4Addr::from(
            (u32::from(seg[1]) << 16) | u32::from(seg[2]),
        ));
    }
    None
}

/// Why the guard refused a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GuardRefusal(pub String);

/// The outbound destination guard: on by default, opened only by explicit allow-lists.
///
/// ```
/// use oidfed::fetch::DestinationGuard;
/// let guard = DestinationGuard::new();
/// for bad in ["https://127.0.0.1/", "https://[::1]/", "https://169.254.169.254/",
///             "https://10.0.0.1/", "https://2130706433/", "https://0x7f.1/",
///             "https://[::ffff:7f00:1]/", "http://ta.example/", "https://user@ta.example/"] {
///     assert!(guard.check_url(&bad.parse().unwrap()).is_err(), "{bad}");
/// }
/// assert!(guard.check_url(&"https://ta.example/".parse().unwrap()).is_ok());
/// let tests = DestinationGuard::new().allow_http(true).allow_network("127.0.0.0/8".parse().unwrap());
/// assert!(tests.check_url(&"http://127.0.0.1:8080/".parse().unwrap()).is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct DestinationGuard {
    allow_http: bool,
    hosts: Vec<String>,
    networks: Vec<IpNetwork>,
}

impl DestinationGuard {
    /// The strict default: `https` to public addresses only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allow plain `http` (loopback test federations only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Opens a host name (exact, case-insensitive), whatever it resolves to.
    pub fn allow_host(mut self, host: &str) -> Self {
        self.hosts.push(host.to_ascii_lowercase());
        self
    }

    /// Opens a network (e.g. `127.0.0.0/8` for tests, `10.1.0.0/16` for a private federation).
    pub fn allow_network(mut self, net: IpNetwork) -> Self {
        self.networks.push(net);
        self
    }

    /// Whether the host name is explicitly allowed.
    pub fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    /// Checks an address (one a name resolved to, or the one connected to).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardRefusal> {
        if self.networks.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        match non_public_reason(ip) {
            Some(why) => Err(GuardRefusal(format!("{ip} is a {why} address"))),
            None => Ok(()),
        }
    }

    /// Checks a URL before any traffic: scheme, user information, IP-literal hosts and
    /// `localhost` names. Names are checked again, address by address, at resolution.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardRefusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            s => return Err(GuardRefusal(format!("scheme {s:?} is not allowed"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardRefusal("user information in the URL".into()));
        }
        match url.host() {
            None => Err(GuardRefusal("no host".into())),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if self.host_allowed(&d) {
                    return Ok(());
                }
                if d == "localhost" || d.ends_with(".localhost") {
                    return Err(GuardRefusal(format!("{d} is a loopback name")));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        non_public_reason(s.parse().unwrap()).is_some()
    }

    #[test]
    fn address_classes() {
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:0a00:0001::",
            "2001:db8::1",
            "2001::1",
            "fec0::1",
        ] {
            assert!(refused(bad), "{bad} accepted");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(good), "{good} refused");
        }
    }

    #[test]
    fn literal_spellings_are_normalised_by_the_url_parser() {
        let g = DestinationGuard::new();
        for bad in [
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[0:0:0:0:0:ffff:7f00:1]/",
            "https://LOCALHOST/",
            "https://a.localhost./",
            "https://017700000001/",
        ] {
            let url: Url = bad.parse().unwrap();
            assert!(g.check_url(&url).is_err(), "{bad} -> {url} accepted");
        }
    }

    #[test]
    fn networks_and_hosts_open_destinations() {
        let n: IpNetwork = "127.0.0.1/32".parse().unwrap();
        assert!(n.contains("127.0.0.1".parse().unwrap()));
        assert!(!n.contains("127.0.0.2".parse().unwrap()));
        assert!(n.contains("::ffff:127.0.0.1".parse().unwrap()));
        let g = DestinationGuard::new()
            .allow_network(n)
            .allow_host("Internal.Example");
        assert!(g.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(g.check_ip("127.0.0.2".parse().unwrap()).is_err());
        assert!(g.host_allowed("internal.example"));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!(
            "fd00::/8"
                .parse::<IpNetwork>()
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
    }
}
