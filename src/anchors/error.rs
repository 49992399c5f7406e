//! Why a change of the anchor configuration was refused.

use crate::anchor_store::AnchorStoreError;
use crate::entity_id::EntityId;
use crate::fetch::FetchError;
use crate::statement::StatementError;

/// Why a change of the anchor configuration was refused.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// use oidfed::anchors::AnchorError;
/// let stranger = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
/// // A key the anchor does not announce is never pinned by a rollover.
/// let e = resolver.accept_anchor_key(&ta, &stranger.public_jwk()).await.unwrap_err();
/// assert!(matches!(e, AnchorError::KeyNotAnnounced { .. }));
/// # });
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The anchor is not configured.
    #[error("{anchor} is not a configured trust anchor")]
    NotConfigured {
        /// The anchor.
        anchor: EntityId,
    },
    /// The anchor is configured already (use `replace_keys`).
    #[error("{anchor} is already a configured trust anchor")]
    AlreadyConfigured {
        /// The anchor.
        anchor: EntityId,
    },
    /// The change would leave no trust anchor.
    #[error("the change would leave no trust anchor")]
    NoAnchorLeft,
    /// An `http` anchor in a resolver that does not allow `http`.
    #[error("trust anchor {anchor} uses http; the resolver does not allow http")]
    HttpNotAllowed {
        /// The anchor.
        anchor: EntityId,
    },
    /// A key or key set given for an anchor is unusable.
    #[error("keys of trust anchor {anchor}: {detail}")]
    InvalidKeys {
        /// The anchor.
        anchor: EntityId,
        /// What is wrong.
        detail: String,
    },
    /// The anchor's Entity Configuration could not be fetched.
    #[error("fetching the configuration of trust anchor {anchor}: {source}")]
    Fetch {
        /// The anchor.
        anchor: EntityId,
        /// Why.
        source: FetchError,
    },
    /// The anchor's Entity Configuration is malformed, expired, or not signed by a key
    /// pinned now (so nothing it announces can be trusted).
    #[error("configuration of trust anchor {anchor}: {source}")]
    Configuration {
        /// The anchor.
        anchor: EntityId,
        /// The rule it broke.
        source: Box<StatementError>,
    },
    /// A new key that the anchor's current configuration does not announce (§11.2).
    #[error("trust anchor {anchor} does not announce the key {kid:?} in its configuration")]
    KeyNotAnnounced {
        /// The anchor.
        anchor: EntityId,
        /// The refused key.
        kid: String,
    },
    /// The independent copy could not be retrieved or read.
    #[error("independent copy of the keys of {anchor}: {detail}")]
    IndependentCopy {
        /// The anchor.
        anchor: EntityId,
        /// Why.
        detail: String,
    },
    /// No independent copy is configured for the anchor.
    #[error("no independent copy of the keys of {anchor} is configured")]
    NoIndependentCopy {
        /// The anchor.
        anchor: EntityId,
    },
    /// The keys the federation publishes and the independent copy still differ after both
    /// were fetched again (§11.3): a security or configuration problem.
    #[error(
        "keys of trust anchor {anchor} differ from the independent copy (only in the federation: {only_in_federation:?}; only in the copy: {only_in_copy:?})"
    )]
    IndependentCopyMismatch {
        /// The anchor.
        anchor: EntityId,
        /// `kid`s the anchor's configuration (or the key to pin) has and the copy lacks.
        only_in_federation: Vec<String>,
        /// `kid`s the copy has and the anchor's configuration lacks.
        only_in_copy: Vec<String>,
    },
    /// The anchor's pinned keys changed (an operator replaced them) while a rollover was
    /// fetching its configuration; the rollover was not applied, so that it cannot
    /// reinstate a key removed meanwhile. Run it again against the new keys.
    #[error(
        "the keys of trust anchor {anchor} changed while a rollover was in flight; the rollover was not applied"
    )]
    ChangedDuringRollover {
        /// The anchor.
        anchor: EntityId,
    },
    /// The anchor's configuration was issued (`iat`) before one already seen for it: a
    /// replayed older configuration, which could reinstate keys the anchor has withdrawn.
    #[error(
        "configuration of trust anchor {anchor} was issued at {iat}, before the newest seen ({newest_seen}): refused as a replay"
    )]
    StaleConfiguration {
        /// The anchor.
        anchor: EntityId,
        /// The refused configuration's `iat`.
        iat: i64,
        /// The newest `iat` seen for the anchor.
        newest_seen: i64,
    },
    /// The store refused the new set; the change did not take effect.
    #[error(transparent)]
    Store(#[from] AnchorStoreError),
}
