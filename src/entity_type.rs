//! Entity Type Identifiers (§5): what a statement's metadata is keyed by and what a
//! resolution asks for. Its own module so that records, policy and the resolver share it
//! without depending on one another.

use std::fmt;

/// An Entity Type Identifier (§5), e.g. `openid_relying_party`.
///
/// ```
/// use oidfed::EntityType;
/// assert_eq!(EntityType::OPENID_RELYING_PARTY.as_str(), "openid_relying_party");
/// assert_eq!(EntityType::new("oauth_client").as_str(), "oauth_client");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct EntityType(std::borrow::Cow<'static, str>);

impl EntityType {
    /// `openid_relying_party` (§5.1.2).
    pub const OPENID_RELYING_PARTY: EntityType = EntityType::from_static("openid_relying_party");
    /// `openid_provider` (§5.1.3).
    pub const OPENID_PROVIDER: EntityType = EntityType::from_static("openid_provider");
    /// `oauth_authorization_server` (§5.1.4).
    pub const OAUTH_AUTHORIZATION_SERVER: EntityType =
        EntityType::from_static("oauth_authorization_server");
    /// `oauth_client` (§5.1.5).
    pub const OAUTH_CLIENT: EntityType = EntityType::from_static("oauth_client");
    /// `oauth_resource` (§5.1.6).
    pub const OAUTH_RESOURCE: EntityType = EntityType::from_static("oauth_resource");
    /// `federation_entity` (§5.1.1).
    pub const FEDERATION_ENTITY: EntityType = EntityType::from_static("federation_entity");

    const fn from_static(s: &'static str) -> Self {
        Self(std::borrow::Cow::Borrowed(s))
    }

    /// Any Entity Type Identifier.
    pub fn new(s: impl Into<String>) -> Self {
        Self(std::borrow::Cow::Owned(s.into()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
