//! Dynamic Client Registration gated by the federation (RFC 7591, RFC 7592).
//!
//! By itself a registration endpoint binds nothing to an organization. This gate accepts a
//! request only with a `software_statement` that a federation organization signed (its
//! chain resolves to a configured anchor) or that a configured directory issued about an
//! organization the federation vouches for ([`verify_statement`]); merges it with the
//! request, statement values winning (RFC 7591 §2.3, [`merge_statement`]); checks the
//! metadata ([`check_metadata`]) and the `metadata_policy` the federation applies to that
//! organization's subordinates ([`DcrGate::check_registration`]). Refusals are
//! [`DcrError`]s carrying the RFC 7591 §3.2.2 code and the rule broken.
//!
//! The registry stores what the gate approves, with a registration access token kept only
//! as a hash ([`RegistrationAccessToken`]), and serves the RFC 7592 read, update and delete
//! operations (`oidfed::registry::Registry::register_dynamic` and the methods next to it).

mod directory;
mod error;
mod gate;
mod metadata;
mod statement;
mod token;

pub use directory::{Directory, DirectoryKeys};
pub use error::{DcrError, DcrRule};
pub use gate::{AcceptedModels, Approval, DcrConfig, DcrGate, DuplicateSoftware, ModelPolicy};
pub use metadata::{
    DEFAULT_MAX_REQUEST_BYTES, MetadataRules, RegistrationRequest, check_metadata, merge_statement,
};
pub(crate) use statement::resolve_entity;
pub use statement::{StatementForm, StatementRules, VerifiedStatement, verify_statement};
pub(crate) use token::random_b64;
pub use token::{RegistrationAccessToken, hash_token, token_matches};
