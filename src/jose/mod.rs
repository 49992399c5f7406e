//! Compact JWS and JWK sets, checked before any cryptography (OpenID Federation 1.0 §1.1,
//! §3, §3.2 steps 1–3 and 11–12; RFC 7515, RFC 7517, RFC 7638).
//!
//! A token is split and decoded with [`CompactJws::parse`]; its header is checked with
//! [`check_header`] (explicit `typ`, an asymmetric `alg` from the allow-list, a non-empty
//! `kid`, no key-carrying headers); only then is a signature verified with a key chosen by
//! exact `kid` from a [`KeySet`]. Verifiers are built lazily, once per key and algorithm, and
//! reused for as long as the key is held.

mod alg;
mod compact;
pub(crate) mod cost;
mod error;
mod header;
mod key;
mod key_check;
mod key_set;
mod native;
#[cfg(test)]
mod tests;
mod verifier_cache;

pub use alg::Alg;
pub(crate) use compact::b64url_decode;
pub use compact::{CompactJws, b64url};
pub use error::JoseError;
pub use header::{HeaderRules, check_header};
pub(crate) use header::{TypRule, check_header_with};
pub use key::{Key, thumbprint};
pub use key_check::{KeyError, MAX_RSA_BITS, MAX_RSA_EXPONENT, MIN_RSA_BITS};
pub use key_set::KeySet;
pub use native::{EC_VERIFICATION, Verifier, VerifierError};
pub use verifier_cache::shared_verifiers_alive;

/// Longest compact JWS accepted by default, in bytes.
pub const DEFAULT_MAX_JWS_LEN: usize = 64 * 1024;
/// Most keys read from one JWK Set; further keys are ignored and reported.
pub const MAX_KEYS_PER_SET: usize = 64;
