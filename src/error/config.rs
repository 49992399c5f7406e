//! Why a configuration is unusable: one variant per mis-configuration of a resolver, its
//! trust anchors, its keys and its server-side helpers.

use std::fmt;

use crate::jose::JoseError;
use crate::policy::PolicyError;
use crate::signer::SignerError;

use super::Error;

/// A mis-configuration, reported by [`crate::ResolverBuilder::build`] (all of them at
/// once: [`ConfigError::Several`]) and by the server-side helpers as
/// [`crate::Error::Config`].
///
/// ```
/// use oidfed::Resolver;
/// use oidfed::error::{ConfigError, Error};
/// // A resolver without a trust anchor is refused, with its own variant.
/// let e = Resolver::builder().build().err().unwrap();
/// assert!(matches!(e, Error::Config(ConfigError::NoTrustAnchor)));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No trust anchor was configured.
    #[error("no trust anchor configured")]
    NoTrustAnchor,
    /// A trust anchor's configured keys are not a usable JWK Set.
    #[error("keys of trust anchor {anchor}: {source}")]
    InvalidAnchorJwks {
        /// The anchor.
        anchor: String,
        /// Why.
        source: Box<JoseError>,
    },
    /// None of a trust anchor's configured keys is usable.
    #[error("trust anchor {anchor} has no usable key")]
    NoUsableAnchorKey {
        /// The anchor.
        anchor: String,
    },
    /// A trust anchor uses `http` but `allow_http(true)` was not called.
    #[error("trust anchor {anchor} uses http; call allow_http(true) for a test federation")]
    HttpAnchor {
        /// The anchor.
        anchor: String,
    },
    /// A trust anchor given to the builder is unusable for another reason (its identifier,
    /// a degenerate key).
    #[error("{0}")]
    Anchor(Box<Error>),
    /// A custom policy operator cannot be registered.
    #[error("policy operator: {0}")]
    PolicyOperator(Box<PolicyError>),
    /// The default HTTP client cannot be built.
    #[error("HTTP client: {detail}")]
    HttpClient {
        /// The HTTP library's message.
        detail: String,
    },
    /// A remote resolver's keys are not a usable JWK Set.
    #[error("resolver keys: {0}")]
    ResolverKeys(Box<JoseError>),
    /// The server's signer failed.
    #[error("signing {what}: {source}")]
    Signing {
        /// What was being signed.
        what: &'static str,
        /// Why.
        source: SignerError,
    },
    /// The system's random generator failed.
    #[error("random generator: {detail}")]
    RandomGenerator {
        /// The library's message.
        detail: String,
    },
    /// The in-memory replay guard cannot be used (its lock is poisoned, or it is full of
    /// live `jti` values): fails closed.
    #[error("the replay guard {0}")]
    ReplayGuard(ReplayGuardProblem),
    /// An empty trust chain was given.
    #[error("an empty trust chain was given")]
    EmptyChain,
    /// A trust chain vouched for an entity has no subject configuration.
    #[error("the trust chain of {entity} has no subject configuration")]
    NoSubjectConfiguration {
        /// The entity.
        entity: String,
    },
    /// A value could not be serialized to JSON.
    #[error("cannot serialize {what}: {detail}")]
    Serialize {
        /// What.
        what: String,
        /// serde's message.
        detail: String,
    },
    /// Several problems, in the order the builder's calls made them.
    #[error("{}", List(.0))]
    Several(Vec<ConfigError>),
}

/// Why the in-memory replay guard refuses to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayGuardProblem {
    /// Its lock is poisoned.
    Poisoned,
    /// It holds `capacity` live `jti` values.
    Full {
        /// Its capacity.
        capacity: usize,
    },
}

impl fmt::Display for ReplayGuardProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayGuardProblem::Poisoned => f.write_str("lock is poisoned"),
            ReplayGuardProblem::Full { capacity } => write!(
                f,
                "holds {capacity} live jti values (its capacity): refusing"
            ),
        }
    }
}

struct List<'a>(&'a [ConfigError]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problems:", self.0.len())?;
        for (i, e) in self.0.iter().enumerate() {
            write!(f, " {}. {e};", i + 1)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// Every problem: the list of [`ConfigError::Several`], or this one alone.
    pub fn problems(&self) -> &[ConfigError] {
        match self {
            ConfigError::Several(all) => all,
            one => std::slice::from_ref(one),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
