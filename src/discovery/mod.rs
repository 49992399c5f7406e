//! Trust chain discovery: the I/O side of a resolution (OpenID Federation 1.0 §10.1).
//!
//! Everything that fetches lives here: the bottom-up walk from a subject to the configured
//! Trust Anchors ([`walk`]), with one deadline and one fetch budget for the whole
//! resolution. What it fetches is judged elsewhere, without I/O: statements by
//! [`crate::statement`], assembled chains by [`crate::chain::validate_chain`], so that a
//! chain handed over whole (a `trust_chain` header, an Explicit Registration body) is
//! validated by the same pure code as a discovered one.

pub(crate) mod walk;

pub(crate) use walk::{SharedMemo, Walk, WalkLimits};
