//! Test federations (feature `testing`): describe anchors, intermediates and leaves, their
//! metadata, policies and constraints; get spec-conformant signed statements made with
//! freshly generated keys, served from memory ([`Federation::fetcher`]) or over real HTTP on
//! loopback ([`FederationBuilder::serve`]); then tamper with them for negative tests.
//!
//! ```
//! use oidfed::testing::FederationBuilder;
//! let fed = FederationBuilder::new("https://fed.example")
//!     .anchor("ta")
//!     .intermediate("org", &["ta"])
//!     .leaf("rp", &["org"])
//!     .build();
//! assert_eq!(fed.id("rp").as_str(), "https://fed.example/rp");
//! assert_eq!(fed.chain(&["rp", "org", "ta"], true).len(), 4);
//! ```
//!
//! This is a test tool: a description that makes no sense (an unknown entity name) panics
//! with a message saying what is wrong.

mod builder;
pub mod demo;
mod federation;
mod keys;
#[cfg(feature = "postgres")]
pub mod postgres;
mod server;
mod state;

pub use builder::FederationBuilder;
pub use federation::Federation;
pub use keys::{KeyAlg, TestKey};
pub use server::LoopbackServer;

/// JSON value comparisons the policy set operations (`subset_of`, `superset_of`, `one_of`,
/// `add`, `scope` words) made on this thread since [`reset_policy_comparisons`]: a count to
/// assert that policy work grows as n log n, never n².
pub fn policy_comparisons() -> u64 {
    crate::policy::set::comparisons()
}

/// Resets this thread's [`policy_comparisons`] count.
pub fn reset_policy_comparisons() {
    crate::policy::set::reset_comparisons();
}
