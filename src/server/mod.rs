//! What an authorization server needs where it meets federation clients (§8.3, §12):
//!
//! * automatic registration — [`crate::Resolver::verify_request_object`] and
//!   [`crate::Resolver::verify_client_assertion`];
//! * explicit registration — [`crate::Resolver::register_explicit`];
//! * the resolve endpoint — [`resolve_response`] and, as a client, [`RemoteResolver`];
//! * its own presence — [`EntityConfiguration`];
//! * Dynamic Client Registration gated by the federation — [`dcr`].

pub(crate) mod automatic;
pub(crate) mod client_keys;
pub mod dcr;
mod explicit;
mod history;
mod presence;
mod resolve;

pub use automatic::{
    BoxFuture, ChainSource, MemoryReplayGuard, ReplayGuard, RequestPolicy, VerifiedRequest,
};
pub use explicit::{ExplicitRegistration, MetadataDecision, REGISTRATION_RESPONSE_TYP, Registered};
pub use history::HistoricalKeysResponse;
pub use presence::EntityConfiguration;
pub use resolve::{RESOLVE_RESPONSE_TYP, RemoteResolution, RemoteResolver, resolve_response};
