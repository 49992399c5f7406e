//! A directory: a software-statement issuer the server trusts for one anchor (issue 21) —
//! the trust framework authority of an open banking or open finance ecosystem, often
//! itself the federation's trust anchor. Its statements name the organization in a claim.

use serde_json::{Map, Value};

use super::error::{DcrError, DcrRule};
use crate::entity_id::EntityId;
use crate::jose::KeySet;

/// Where a directory's signing keys come from (verified like an anchor's).
///
/// ```
/// use oidfed::jose::KeySet;
/// use oidfed::server::dcr::{Directory, DirectoryKeys};
/// use oidfed::signer::{JwkSigner, Signer};
/// let key = JwkSigner::generate_es256("dir-1").unwrap();
/// let pinned = KeySet::from_json(&serde_json::json!({"keys": [key.public_jwk()]})).unwrap();
/// let anchor = oidfed::EntityId::parse("https://ta.example").unwrap();
/// let d = Directory::new("https://directory.example", anchor, DirectoryKeys::Pinned(pinned));
/// assert!(matches!(d.keys, DirectoryKeys::Pinned(_)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DirectoryKeys {
    /// A JWK Set the server pins.
    Pinned(KeySet),
    /// The `jwks` of the anchor's own Entity Configuration, verified with the anchor's
    /// configured keys (the directory is the anchor).
    AnchorConfiguration,
}

/// A software-statement issuer the server trusts as a directory for one anchor.
///
/// ```
/// use oidfed::server::dcr::{Directory, DirectoryKeys};
/// let ta = oidfed::EntityId::parse("https://directory.example").unwrap();
/// let d = Directory::new("https://directory.example", ta, DirectoryKeys::AnchorConfiguration)
///     .organization_claim("organisation_id")
///     .organization_template("https://directory.example/orgs/{org_id}");
/// assert_eq!(d.organization_entity_id("42"), "https://directory.example/orgs/42");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Directory {
    /// The statements' `iss`.
    pub issuer: String,
    /// The anchor the directory speaks for: organizations must resolve to it.
    pub anchor: EntityId,
    /// The directory's signing keys.
    pub keys: DirectoryKeys,
    /// The claim naming the organization (default `org_id`).
    pub organization_claim: String,
    /// The claim giving the organization's status (default `org_status`); a statement
    /// without it is refused.
    pub status_claim: String,
    /// Status values meaning active, compared ignoring ASCII case (default `Active`).
    pub active_statuses: Vec<String>,
    /// How an organization claim becomes the organization's Entity Identifier: `{org_id}`
    /// is replaced by the claim's value (default: the claim is the Entity Identifier).
    pub organization_template: Option<String>,
}

impl Directory {
    /// A directory with the default claim names; see the [`Directory`] example.
    pub fn new(issuer: &str, anchor: EntityId, keys: DirectoryKeys) -> Self {
        Self {
            issuer: issuer.to_string(),
            anchor,
            keys,
            organization_claim: "org_id".into(),
            status_claim: "org_status".into(),
            active_statuses: vec!["Active".into()],
            organization_template: None,
        }
    }

    /// Names the organization claim.
    pub fn organization_claim(mut self, name: &str) -> Self {
        self.organization_claim = name.to_string();
        self
    }

    /// Names the status claim.
    pub fn status_claim(mut self, name: &str) -> Self {
        self.status_claim = name.to_string();
        self
    }

    /// Maps organization claims to Entity Identifiers through a template with `{org_id}`.
    pub fn organization_template(mut self, template: &str) -> Self {
        self.organization_template = Some(template.to_string());
        self
    }

    /// The Entity Identifier (as text) an organization claim names.
    pub fn organization_entity_id(&self, org: &str) -> String {
        match &self.organization_template {
            Some(t) => t.replace("{org_id}", org),
            None => org.to_string(),
        }
    }
}

/// `org_status` (or the configured claim) must be present and active.
pub(crate) fn check_status(dir: &Directory, claims: &Map<String, Value>) -> Result<(), DcrError> {
    let status = claims.get(&dir.status_claim).and_then(Value::as_str);
    match status {
        Some(s)
            if dir
                .active_statuses
                .iter()
                .any(|a| a.eq_ignore_ascii_case(s)) =>
        {
            Ok(())
        }
        Some(s) => Err(DcrError::unapproved(
            DcrRule::OrganizationStatus,
            format!("{} is {s:?}, not active", dir.status_claim),
        )),
        None => Err(DcrError::unapproved(
            DcrRule::OrganizationStatus,
            format!("{} is missing", dir.status_claim),
        )),
    }
}
