//! oidfed — OpenID Federation 1.0 trust-chain resolution for authorization servers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anchor_store;
pub mod anchors;
pub mod cache;
pub mod chain;
pub mod clock;
pub mod constraints;
pub mod entity_id;
pub mod error;
pub mod fetch;
pub mod historical;
pub mod jose;
pub mod json;
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
pub mod testing;
pub mod trust_mark;

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
