//! Choosing among valid chains (§10.3). The spec suggests preferring the shorter chain and
//! leaves the rest to local policy; oidfed orders deterministically, because different
//! paths can give different resolved metadata (§17.1):
//!
//! 1. the Trust Anchor's position in the configuration (earlier is preferred);
//! 2. fewer entities in the path;
//! 3. later expiry;
//! 4. the path's Entity Identifiers, compared lexicographically.

use std::cmp::Reverse;

use crate::chain::{TrustAnchor, TrustChain};

/// Sorts `chains` best first.
pub(crate) fn sort_chains(chains: &mut [TrustChain], anchors: &[TrustAnchor]) {
    let rank = |c: &TrustChain| {
        anchors
            .iter()
            .position(|a| a.id() == c.anchor())
            .unwrap_or(usize::MAX)
    };
    chains.sort_by_cached_key(|c| {
        (
            rank(c),
            c.len(),
            Reverse(c.expires_at()),
            c.path()
                .iter()
                .map(|e| e.as_str().to_string())
                .collect::<Vec<_>>(),
        )
    });
}
