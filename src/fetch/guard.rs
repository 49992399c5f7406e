//! The outbound destination guard (SSRF defence: hardening beyond what the specification
//! requires).
//!
//! Entity identifiers, `authority_hints`, fetch endpoints, `signed_jwks_uri`… are chosen by
//! federation members, some hostile. The guard refuses anything but `https`, URLs with user
//! information, and every destination that is or resolves to a non-public address, unless an
//! explicit allow-list opens it (test federations, private federations).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::{Host, Url};

use super::special::non_public_reason;

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or a single address).
///
/// ```
/// use oidfed::fetch::IpNetwork;
/// let net: IpNetwork = "10.1.0.0/16".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("10.2.0.1".parse().unwrap()));
/// // IPv4-mapped IPv6 addresses match IPv4 networks.
/// assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is inside the network (IPv4-mapped IPv6 addresses match IPv4 networks);
    /// see the [`IpNetwork`] example.
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

/// Why a string is not an IP network (`addr` or `addr/prefix`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpNetworkError {
    /// The address part is not an IP address.
    #[error("{0:?} is not an IP address")]
    Address(String),
    /// The prefix is not a number within the address family's length.
    #[error("{0:?} is not a prefix length")]
    Prefix(String),
}

impl FromStr for IpNetwork {
    type Err = IpNetworkError;
    fn from_str(s: &str) -> Result<Self, IpNetworkError> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| IpNetworkError::Address(a.chars().take(100).collect()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| IpNetworkError::Prefix(p.chars().take(100).collect()))?,
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

/// Why the guard refused a destination.
///
/// ```
/// use oidfed::fetch::DestinationGuard;
/// let refusal = DestinationGuard::new().check_ip("169.254.169.254".parse().unwrap()).unwrap_err();
/// assert!(!refusal.0.is_empty()); // says why: here, a link-local (metadata service) address
/// ```
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
    /// The strict default: `https` to public addresses only. See the [`DestinationGuard`] example.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allow plain `http` (loopback test federations only). See the [`DestinationGuard`] example.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Opens a host name (exact, case-insensitive), whatever it resolves to.
    ///
    /// ```
    /// use oidfed::fetch::DestinationGuard;
    /// let guard = DestinationGuard::new().allow_host("ta.internal.example");
    /// assert!(guard.host_allowed("TA.internal.example"));
    /// assert!(!guard.host_allowed("other.internal.example"));
    /// ```
    pub fn allow_host(mut self, host: &str) -> Self {
        self.hosts.push(host.to_ascii_lowercase());
        self
    }

    /// Opens a network (e.g. `127.0.0.0/8` for tests, `10.1.0.0/16` for a private federation).
    /// See the [`DestinationGuard`] example.
    pub fn allow_network(mut self, net: IpNetwork) -> Self {
        self.networks.push(net);
        self
    }

    /// Whether the host name is explicitly allowed; see [`DestinationGuard::allow_host`].
    pub fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&h)
    }

    /// Checks an address (one a name resolved to, or the one connected to).
    ///
    /// ```
    /// use oidfed::fetch::DestinationGuard;
    /// let guard = DestinationGuard::new();
    /// assert!(guard.check_ip("10.0.0.1".parse().unwrap()).is_err());
    /// assert!(guard.check_ip("93.184.215.14".parse().unwrap()).is_ok());
    /// let private = DestinationGuard::new().allow_network("10.0.0.0/8".parse().unwrap());
    /// assert!(private.check_ip("10.0.0.1".parse().unwrap()).is_ok());
    /// ```
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
    ///
    /// ```
    /// use oidfed::fetch::DestinationGuard;
    /// let guard = DestinationGuard::new();
    /// assert!(guard.check_url(&"https://localhost/".parse().unwrap()).is_err());
    /// assert!(guard.check_url(&"https://ta.example/.well-known/openid-federation".parse().unwrap()).is_ok());
    /// ```
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

    #[test]
    fn url_literals_of_special_ranges_are_refused() {
        let g = DestinationGuard::new();
        for bad in [
            "https://[64:ff9b:1::a9fe:a9fe]/",
            "https://[::ffff:0:a9fe:a9fe]/",
            "https://[2001:2::1]/",
            "https://[2001:10::1]/",
            "https://[3fff::1]/",
            "https://[5f00::1]/",
        ] {
            let url: Url = bad.parse().unwrap();
            assert!(g.check_url(&url).is_err(), "{bad} accepted");
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
        assert_eq!(
            "10.0.0.0/33".parse::<IpNetwork>(),
            Err(IpNetworkError::Prefix("33".into()))
        );
        assert_eq!(
            "ten/8".parse::<IpNetwork>(),
            Err(IpNetworkError::Address("ten".into()))
        );
        assert!(
            "fd00::/8"
                .parse::<IpNetwork>()
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
    }
}
