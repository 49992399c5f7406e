//! Network options shared by every command that fetches: the staging-federation openings of
//! the outbound destination guard, each announced on stderr, and the fetch timeout.

use std::time::Duration;

use clap::Args;
use oidfed::fetch::{DestinationGuard, FetchError, HttpFetcher, IpNetwork};

/// Opening the destination guard for a staging or private federation.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Accept plain-http entity identifiers and endpoints (staging/loopback only).
    #[arg(long)]
    pub allow_http: bool,
    /// Allow destinations in this network (CIDR, e.g. 10.1.0.0/16 or 127.0.0.0/8), which
    /// the guard otherwise refuses as non-public. Repeatable.
    #[arg(long, value_name = "CIDR", value_parser = parse_network)]
    pub allow_network: Vec<IpNetwork>,
    /// Allow this host name whatever address it resolves to. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Time for each fetch, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
}

fn parse_network(s: &str) -> Result<IpNetwork, oidfed::fetch::IpNetworkError> {
    s.parse()
}

impl NetworkArgs {
    /// Prints one warning per opening of the guard.
    pub fn warn(&self) {
        if self.allow_http {
            eprintln!(
                "warning: --allow-http: plain http identifiers and endpoints are accepted; never use this in production"
            );
        }
        for n in &self.allow_network {
            eprintln!(
                "warning: --allow-network {n}: addresses in {n} are reachable although they are not public"
            );
        }
        for h in &self.allow_host {
            eprintln!(
                "warning: --allow-host {h}: {h} is reachable whatever address it resolves to"
            );
        }
    }

    /// The destination guard these options open.
    pub fn guard(&self) -> DestinationGuard {
        let mut g = DestinationGuard::new().allow_http(self.allow_http);
        for n in &self.allow_network {
            g = g.allow_network(*n);
        }
        for h in &self.allow_host {
            g = g.allow_host(h);
        }
        g
    }

    /// An HTTP fetcher through that guard.
    pub fn fetcher(&self) -> Result<HttpFetcher, FetchError> {
        HttpFetcher::builder()
            .guard(self.guard())
            .request_timeout(Duration::from_secs(self.timeout.max(1)))
            .build()
    }
}

/// An `--at` value that is neither Unix seconds nor an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is neither Unix seconds nor an RFC 3339 time: {source}")]
pub struct TimeArgError {
    value: String,
    source: time::error::Parse,
}

/// Parses `--at`: Unix seconds or an RFC 3339 time.
pub fn parse_time(s: &str) -> Result<i64, TimeArgError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|source| TimeArgError {
            value: s.to_string(),
            source,
        })
}

/// `t` as RFC 3339 (UTC), or the number when out of range.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}
