//! Entity Identifiers (OpenID Federation 1.0 §1.2, §9, §16).
//!
//! An Entity Identifier is an `https` URL with a host, an optional port and path, and no query
//! or fragment. Identifiers are compared **exactly**, code point by code point (§16): they are
//! never normalised, so `https://a.example` and `https://a.example/` are different entities.
//! The only transformation the spec makes is the one that builds the Entity Configuration
//! location (§9): strip one trailing `/`, then append `/.well-known/openid-federation`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Why a string is not an acceptable Entity Identifier.
///
/// ```
/// use oidfed::{EntityId, EntityIdError};
/// assert!(matches!(EntityId::parse("http://op.example"), Err(EntityIdError::Scheme(_))));
/// assert!(matches!(EntityId::parse("op.example"), Err(EntityIdError::NotAUrl(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntityIdError {
    /// The string does not parse as an absolute URL.
    #[error("not a URL: {0}")]
    NotAUrl(String),
    /// The scheme is not `https` (or `http` where explicitly allowed).
    #[error("scheme must be https, found {0:?}")]
    Scheme(String),
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The URL has a query component.
    #[error("an Entity Identifier must not have a query")]
    Query,
    /// The URL has a fragment component.
    #[error("an Entity Identifier must not have a fragment")]
    Fragment,
    /// The URL carries user information (`user:pass@`).
    #[error("an Entity Identifier must not carry user information")]
    UserInfo,
    /// The string is longer than the accepted maximum.
    #[error("an Entity Identifier longer than {0} bytes is refused")]
    TooLong(usize),
}

/// Longest Entity Identifier accepted, in bytes. Hostile statements cannot make us hold
/// megabyte-long identifiers.
pub const MAX_ENTITY_ID_LEN: usize = 2048;

/// An OpenID Federation Entity Identifier.
///
/// The original string is kept verbatim and is what equality, hashing and ordering use
/// (§16: no normalisation). The parsed URL is kept alongside for host checks and for
/// building the well-known location.
///
/// ```
/// use oidfed::EntityId;
///
/// let id = EntityId::parse("https://op.example.org/tenant/a").unwrap();
/// assert_eq!(
///     id.well_known_url().as_str(),
///     "https://op.example.org/tenant/a/.well-known/openid-federation"
/// );
/// // Exact comparison: a trailing slash makes a different entity.
/// assert_ne!(id, EntityId::parse("https://op.example.org/tenant/a/").unwrap());
/// // Plain http, queries and fragments are refused.
/// assert!(EntityId::parse("http://op.example.org").is_err());
/// assert!(EntityId::parse("https://op.example.org/?x=1").is_err());
/// ```
#[derive(Clone)]
pub struct EntityId {
    raw: Arc<str>,
    url: Arc<Url>,
}

impl EntityId {
    /// Parses a strict Entity Identifier: `https`, a host, no query, no fragment, no user info.
    pub fn parse(s: &str) -> Result<Self, EntityIdError> {
        Self::parse_with(s, false)
    }

    /// Parses an Entity Identifier, also accepting plain `http` when `allow_http` is true.
    ///
    /// `http` exists only for loopback test federations; a resolver accepts it only when it
    /// was built with [`crate::ResolverBuilder::allow_http`].
    pub fn parse_with(s: &str, allow_http: bool) -> Result<Self, EntityIdError> {
        if s.len() > MAX_ENTITY_ID_LEN {
            return Err(EntityIdError::TooLong(MAX_ENTITY_ID_LEN));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(EntityIdError::NotAUrl(format!("contains {c:?}")));
        }
        let url = Url::parse(s).map_err(|e| EntityIdError::NotAUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            other => return Err(EntityIdError::Scheme(other.to_string())),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(EntityIdError::NoHost);
        }
        // `Url` drops an empty query/fragment marker; look at the raw string too.
        if url.query().is_some() || s.contains('?') {
            return Err(EntityIdError::Query);
        }
        if url.fragment().is_some() || s.contains('#') {
            return Err(EntityIdError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EntityIdError::UserInfo);
        }
        // Judged as written, not as repaired: the URL parser turns `https:///host/x`,
        // `https:host/x` and `https:\\host\x` into URLs with a host, and drops an empty
        // `@`. None of these strings names a host itself.
        if s.contains('\\') {
            return Err(EntityIdError::NotAUrl("contains a backslash".into()));
        }
        let authority = s
            .get(url.scheme().len()..)
            .and_then(|rest| rest.strip_prefix("://"))
            .and_then(|rest| rest.split(['/', '?', '#']).next());
        match authority {
            None => return Err(EntityIdError::NoHost),
            Some(a) if a.contains('@') => return Err(EntityIdError::UserInfo),
            Some(a) if a.is_empty() || a.starts_with(':') => return Err(EntityIdError::NoHost),
            Some(_) => {}
        }
        Ok(Self {
            raw: Arc::from(s),
            url: Arc::new(url),
        })
    }

    /// The identifier exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL (for host checks; never use it for comparison).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host, as the URL parser gives it (lower-cased for domain names).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// Whether the identifier uses plain `http` (test federations only).
    pub fn is_http(&self) -> bool {
        self.url.scheme() == "http"
    }

    /// The Entity Configuration location (§9): one trailing `/` removed from the identifier,
    /// then `/.well-known/openid-federation` appended (appended, not inserted at the root).
    pub fn well_known_url(&self) -> Url {
        let base = self.raw.strip_suffix('/').unwrap_or(&self.raw);
        let joined = format!("{base}/.well-known/openid-federation");
        // The base parsed as a URL with no query or fragment, so appending a path keeps it
        // valid; fall back to path manipulation on the parsed URL should parsing ever fail.
        Url::parse(&joined).unwrap_or_else(|_| {
            let mut u = (*self.url).clone();
            let path = u.path().trim_end_matches('/').to_string();
            u.set_path(&format!("{path}/.well-known/openid-federation"));
            u
        })
    }
}

impl PartialEq for EntityId {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl Eq for EntityId {}

impl std::hash::Hash for EntityId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}

impl PartialOrd for EntityId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for EntityId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntityId({:?})", &*self.raw)
    }
}

impl std::str::FromStr for EntityId {
    type Err = EntityIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for EntityId {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl Serialize for EntityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

/// Deserialisation is lenient about the scheme (it accepts `http`) because stored records
/// of a test federation must round-trip; validation of live statements goes through
/// [`EntityId::parse_with`] with the resolver's setting.
impl<'de> Deserialize<'de> for EntityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EntityId::parse_with(&s, true).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_strips_one_slash_and_appends() {
        let cases = [
            (
                "https://entity.example",
                "https://entity.example/.well-known/openid-federation",
            ),
            (
                "https://entity.example/",
                "https://entity.example/.well-known/openid-federation",
            ),
            (
                "https://example.org/tenants/a",
                "https://example.org/tenants/a/.well-known/openid-federation",
            ),
            (
                "https://example.org:8443/x/",
                "https://example.org:8443/x/.well-known/openid-federation",
            ),
        ];
        for (id, url) in cases {
            assert_eq!(EntityId::parse(id).unwrap().well_known_url().as_str(), url);
        }
    }

    #[test]
    fn comparison_is_exact() {
        let a = EntityId::parse("https://ex.org").unwrap();
        let b = EntityId::parse("https://ex.org/").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.well_known_url(), b.well_known_url());
        // Case differences in the host are different identifiers too (no normalisation).
        let c = EntityId::parse("https://EX.org").unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn refuses_non_identifiers() {
        for bad in [
            "http://ex.org",
            "https://ex.org/?",
            "https://ex.org/?a=b",
            "https://ex.org/#",
            "https://ex.org/#frag",
            "https://user:pw@ex.org",
            "ftp://ex.org",
            "ex.org",
            "https://",
            "",
            "https://ex.org/a b",
            "https://ex.org/\n",
            // No host as written, though the URL parser would repair one.
            "https:///ex.org/rp",
            "https:ex.org/rp",
            "https:\\\\ex.org\\rp",
            "https://@ex.org/rp",
            "https://:443/rp",
        ] {
            assert!(EntityId::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(EntityId::parse_with("http://127.0.0.1:8080/ta", true).is_ok());
        assert!(EntityId::parse("https://[2001:db8::1]:8443/ta").is_ok());
        assert!(EntityId::parse("HTTPS://ex.org:443/a").is_ok());
        let long = format!("https://ex.org/{}", "a".repeat(MAX_ENTITY_ID_LEN));
        assert_eq!(
            EntityId::parse(&long),
            Err(EntityIdError::TooLong(MAX_ENTITY_ID_LEN))
        );
    }
}
