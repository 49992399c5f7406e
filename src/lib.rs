//! oidfed — OpenID Federation 1.0 trust-chain resolution for authorization servers.
#![forbid(unsafe_code)]
#![deny(unnameable_types, unreachable_pub)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod anchor_store;
pub mod anchors;
mod cache;
mod chain;
pub mod clock;
// Public items here are reached only through `fuzzing` (feature `testing`).
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod constraints;
mod discovery;
pub mod entity_id;
mod entity_type;
pub mod error;
pub mod fetch;
pub mod historical;
pub mod jose;
// Public items here are reached only through `fuzzing` (feature `testing`).
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod json;
pub mod metrics;
mod numeric_date;
pub mod policy;
pub mod profile;
pub mod record;
pub mod registry;
pub mod resolver;
pub mod server;
pub mod signer;
pub mod statement;
#[cfg(feature = "testing")]
// Test federations fail loudly by design: a broken fixture is a bug in the test.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod testing;
pub mod trust_mark;

/// What the fuzz targets and the parser regression tests drive: the strict JSON reader and
/// the `constraints` parser, which the public API uses internally but does not expose.
///
/// ```
/// let v = oidfed::fuzzing::parse_strict(br#"{"a": 1}"#).unwrap();
/// assert_eq!(v["a"], 1);
/// assert!(oidfed::fuzzing::parse_strict(br#"{"a": 1, "a": 2}"#).is_err());
/// ```
#[cfg(feature = "testing")]
pub mod fuzzing {
    pub use crate::constraints::{ConstraintError, Constraints, NamingConstraints};
    pub use crate::json::{JsonError, JsonErrorKind, parse_strict, parse_strict_str};
}

pub use chain::{TrustAnchor, TrustChain};
pub use clock::{Clock, FixedClock, SystemClock};
pub use entity_id::{EntityId, EntityIdError};
pub use error::{ConfigError, ErrorCode, RequestError};
pub use error::{Error, Limit, PathAttempt};
pub use numeric_date::NumericDate;
pub use profile::{Deviation, Profile, Tolerance, Tolerances};
pub use record::{
    BindingEvidence, Change, ClientRecord, KeySource, OrganizationBinding, OrganizationRule,
};
pub use resolver::{
    EntityType, Limits, Reresolution, ReresolveOptions, ResolvedEntity, Resolver, ResolverBuilder,
    Stale,
};
pub use statement::{EntityStatement, Rule, SignatureCheck, StatementError};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
