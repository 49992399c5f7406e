//! `--trust-anchor <id> --trust-anchor-jwks <file|url-of-EC>` pairs, and the resolver built
//! from them and the network options.

use clap::Args;
use oidfed::fetch::{FetchKind, FetchRequest, Fetcher, HttpFetcher};
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::{Clock, FixedClock, Resolver, SystemClock};
use serde_json::Value;

use crate::Exit;
use crate::net::NetworkArgs;

/// The trust anchors, in order of preference.
#[derive(Debug, Clone, Args)]
pub struct AnchorArgs {
    /// A trust anchor's entity identifier. Repeatable; pair each with a --trust-anchor-jwks,
    /// in the same order. The first is preferred.
    #[arg(long = "trust-anchor", value_name = "ID", required = true)]
    pub ids: Vec<String>,
    /// The anchor's public keys: a JWK Set file (`{"keys": [...]}`), a file holding the
    /// anchor's entity configuration (a JWS), or the URL of that configuration (its keys are
    /// then taken on first use, unpinned: a warning says so).
    #[arg(long = "trust-anchor-jwks", value_name = "FILE|URL", required = true)]
    pub jwks: Vec<String>,
}

/// Why the anchors could not be loaded: bad usage, or a transient fetch failure.
pub struct LoadError {
    pub exit: Exit,
    pub message: String,
}

fn usage(message: String) -> LoadError {
    LoadError {
        exit: Exit::Usage,
        message,
    }
}

impl AnchorArgs {
    /// `(id, jwks)` per anchor.
    pub async fn load(
        &self,
        fetcher: &HttpFetcher,
        allow_http: bool,
    ) -> Result<Vec<(String, Value)>, LoadError> {
        if self.ids.len() != self.jwks.len() {
            return Err(usage(format!(
                "{} --trust-anchor but {} --trust-anchor-jwks: give them in pairs",
                self.ids.len(),
                self.jwks.len()
            )));
        }
        let mut out = Vec::new();
        for (id, source) in self.ids.iter().zip(&self.jwks) {
            out.push((
                id.clone(),
                load_keys(id, source, fetcher, allow_http).await?,
            ));
        }
        Ok(out)
    }
}

/// The public keys of entity `id` from `source`: a JWK Set file, a file holding its entity
/// configuration, or the URL of that configuration (taken on first use: a warning says so).
pub async fn load_keys(
    id: &str,
    source: &str,
    fetcher: &HttpFetcher,
    allow_http: bool,
) -> Result<Value, LoadError> {
    if source.starts_with("https://") || source.starts_with("http://") {
        let jwt = fetch_text(fetcher, source, "the configuration").await?;
        let keys = configuration_keys(id, &jwt, allow_http)?;
        eprintln!(
            "warning: the keys of {id} were taken from {source} on first use, not pinned; pin them with a JWK Set file in production"
        );
        return Ok(keys);
    }
    let text =
        std::fs::read_to_string(source).map_err(|e| usage(format!("reading {source}: {e}")))?;
    let text = text.trim();
    if text.starts_with('{') {
        let v: Value =
            serde_json::from_str(text).map_err(|e| usage(format!("{source} is not JSON: {e}")))?;
        Ok(match v.get("jwks") {
            Some(j) if v.get("keys").is_none() => j.clone(),
            _ => v,
        })
    } else {
        configuration_keys(id, text, allow_http)
    }
}

/// GETs `source` through the guarded fetcher: the body of a 200 answer, as text.
pub async fn fetch_text(
    fetcher: &HttpFetcher,
    source: &str,
    what: &str,
) -> Result<String, LoadError> {
    let url = url::Url::parse(source).map_err(|e| usage(format!("{source} is not a URL: {e}")))?;
    let failed = |e: oidfed::fetch::FetchError| LoadError {
        exit: if e.is_transient() {
            Exit::Transient
        } else {
            Exit::Usage
        },
        message: format!("fetching {what}: {e}"),
    };
    let response = fetcher
        .fetch(FetchRequest::get(url.clone(), FetchKind::Other))
        .await
        .map_err(failed)?;
    let body = response.into_body(&url).map_err(failed)?;
    String::from_utf8(body).map_err(|_| usage(format!("{source}: the body is not UTF-8")))
}

/// The keys of an anchor's self-signed configuration, which must be about `id`.
fn configuration_keys(id: &str, jwt: &str, allow_http: bool) -> Result<Value, LoadError> {
    let rules = StatementRules {
        allow_http,
        ..StatementRules::default()
    };
    let ec = EntityStatement::parse(jwt, &rules)
        .map_err(|e| usage(format!("the configuration of {id}: {e}")))?;
    if ec.issuer().as_str() != id || ec.subject().as_str() != id {
        return Err(usage(format!(
            "the configuration is {} → {}, not that of {id}",
            ec.issuer(),
            ec.subject()
        )));
    }
    ec.verify_with(ec.jwks(), "its own jwks")
        .map_err(|e| usage(format!("the configuration of {id}: {e}")))?;
    Ok(ec.jwks().to_json())
}

/// Options of the resolver a command builds.
#[derive(Debug, Clone, Default)]
pub struct ResolverOptions {
    pub lenient_typ: bool,
    pub required_marks: Vec<String>,
    pub require_asserted_organization: bool,
    /// Judge times as of this instant instead of now.
    pub at: Option<i64>,
}

/// Prints the network warnings, loads the anchors, builds the resolver.
pub async fn build_resolver(
    net: &NetworkArgs,
    anchors: &AnchorArgs,
    opts: &ResolverOptions,
) -> Result<Resolver, LoadError> {
    net.warn();
    let fetcher = net
        .fetcher()
        .map_err(|e| usage(format!("HTTP client: {e}")))?;
    let pairs = anchors.load(&fetcher, net.allow_http).await?;
    let marks: Vec<&str> = opts.required_marks.iter().map(String::as_str).collect();
    let mut b = Resolver::builder()
        .allow_http(net.allow_http)
        .lenient_typ(opts.lenient_typ)
        .require_trust_marks(&marks)
        .require_asserted_organization(opts.require_asserted_organization)
        .fetcher(fetcher);
    b = match opts.at {
        Some(t) => b.clock(FixedClock::new(t)),
        None => b.clock(SystemClock),
    };
    for (id, jwks) in &pairs {
        b = b.trust_anchor(id, jwks);
    }
    b.build().map_err(|e| usage(e.to_string()))
}

/// The current time, or `--at`.
pub fn now(at: Option<i64>) -> i64 {
    at.unwrap_or_else(|| SystemClock.now())
}
