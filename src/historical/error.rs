//! The errors of reading historical keys and of verifying as of a past time.

use super::{HISTORICAL_KEYS_ENDPOINT, KeyStatus, Revocation};
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::fetch::FetchError;
use crate::jose::JoseError;

/// Why historical keys could not be read, or a historical verification failed.
///
/// ```
/// # use oidfed::historical::{HistoricalKeys, RevocationReason};
/// # use oidfed::jose::KeySet;
/// # use oidfed::server::HistoricalKeysResponse;
/// # use oidfed::signer::{JwkSigner, Signer};
/// # use oidfed::statement::StatementRules;
/// # let current = JwkSigner::generate_es256("fed-3").unwrap();
/// # let old = JwkSigner::generate_es256("fed-1").unwrap();
/// # let leaked = JwkSigner::generate_es256("fed-2").unwrap();
/// // fed-1 served 1.7e9..1.75e9; fed-2 from 1.75e9 until it leaked at 1.79e9.
/// let jwt = HistoricalKeysResponse::new("https://op.example")
///     .retired_key(old.public_jwk(), Some(1_700_000_000), 1_750_000_000)
///     .retired_key(leaked.public_jwk(), Some(1_750_000_000), 1_800_000_000)
///     .revoked(RevocationReason::Compromised, 1_790_000_000)
///     .sign(&current, 1_800_000_100)
///     .unwrap();
/// let op = oidfed::EntityId::parse("https://op.example").unwrap();
/// let jwks = KeySet::from_json(&serde_json::json!({"keys": [current.public_jwk()]})).unwrap();
/// let history = HistoricalKeys::parse(&jwt, &op, &jwks, &StatementRules::default()).unwrap();
///
/// use oidfed::historical::HistoricalError;
/// let other = oidfed::EntityId::parse("https://other.example").unwrap();
/// let e = HistoricalKeys::parse(&jwt, &other, &jwks, &StatementRules::default()).unwrap_err();
/// assert!(matches!(e, HistoricalError::WrongIssuer { .. }));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HistoricalError {
    /// Not a usable JWS, or its header breaks a rule (`typ` must be `jwk-set+jwt`, §8.7.2).
    #[error("historical keys of {entity}: {source}")]
    Jws {
        /// The entity (as expected, or as claimed).
        entity: String,
        /// The rule broken.
        source: JoseError,
    },
    /// A top-level claim (`iss`, `iat`, `keys`) is missing or malformed.
    #[error("historical keys of {entity}: claim {claim}: {detail}")]
    Claim {
        /// The entity.
        entity: String,
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// `iss` is not the entity whose keys were asked for.
    #[error("historical keys of {expected} were issued by {found}")]
    WrongIssuer {
        /// The entity asked for.
        expected: String,
        /// The `iss` found.
        found: String,
    },
    /// More keys than [`MAX_HISTORICAL_KEYS`](super::MAX_HISTORICAL_KEYS).
    #[error("historical keys of {entity}: {count} keys, at most {limit} accepted")]
    TooManyKeys {
        /// The entity.
        entity: String,
        /// Keys in the response.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// One key entry is malformed (a missing `exp`, a `revoked` without `revoked_at`, …).
    #[error("historical keys of {entity}: key {index} ({}): {field}: {detail}", kid.as_deref().unwrap_or("no kid"))]
    KeyEntry {
        /// The entity.
        entity: String,
        /// Position in `keys`.
        index: usize,
        /// Its `kid`, when readable.
        kid: Option<String>,
        /// The member at fault (`kid`, `exp`, `iat`, `nbf`, `revoked`, `revoked_at`, `reason`,
        /// `jwk`).
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Two keys share a `kid`.
    #[error("historical keys of {entity}: two keys share the kid {kid:?}")]
    DuplicateKid {
        /// The entity.
        entity: String,
        /// The `kid`.
        kid: String,
    },
    /// The response is not signed by the entity's current Federation Entity Key.
    #[error("historical keys of {entity}: {source}")]
    Signature {
        /// The entity.
        entity: String,
        /// Why.
        source: JoseError,
    },
    /// The entity publishes no `federation_historical_keys_endpoint`.
    #[error("{entity} publishes no {HISTORICAL_KEYS_ENDPOINT}")]
    NoEndpoint {
        /// The entity.
        entity: EntityId,
    },
    /// The endpoint could not be fetched.
    #[error("fetching the historical keys of {entity}: {source}")]
    Fetch {
        /// The entity.
        entity: EntityId,
        /// Why.
        source: FetchError,
    },
    /// The entity's Entity Configuration (the source of its current keys and endpoint)
    /// failed.
    #[error("historical keys of {entity}: its configuration: {source}")]
    Configuration {
        /// The entity.
        entity: EntityId,
        /// Why.
        source: Box<Error>,
    },
    /// A statement or response was signed with a key revoked at or before the time it is
    /// verified for.
    #[error("{issuer}'s key {kid:?} was revoked at {} (before {at})", revocation.revoked_at)]
    KeyRevoked {
        /// The signer.
        issuer: String,
        /// The key.
        kid: String,
        /// The instant verified for.
        at: i64,
        /// The revocation.
        revocation: Revocation,
    },
    /// A statement or response was signed with a key that was not valid at that time.
    #[error("{issuer}'s key {kid:?} was not valid at {at}: {status:?}")]
    KeyNotValidAt {
        /// The signer.
        issuer: String,
        /// The key.
        kid: String,
        /// The instant verified for.
        at: i64,
        /// What the key was then.
        status: KeyStatus,
    },
    /// The chain does not validate as of that time (with the keys valid then).
    #[error("as of {at}: {source}")]
    Chain {
        /// The instant verified for.
        at: i64,
        /// Why.
        source: Box<Error>,
    },
    /// Our own historical keys JWT could not be built or signed.
    #[error("building historical keys of {entity}: {detail}")]
    Build {
        /// Our entity.
        entity: String,
        /// Why.
        detail: String,
    },
}
