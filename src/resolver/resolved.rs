//! What a resolution returns: the [`ResolvedEntity`] (chosen chain, alternatives, metadata of
//! the requested [`EntityType`], trust marks).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chain::TrustChain;
use crate::entity_id::EntityId;
use crate::error::PathAttempt;
use crate::jose::KeySet;
use crate::profile::Deviation;
use crate::statement::EntityStatement;
use crate::trust_mark::{RejectedTrustMark, ValidTrustMark};

pub use crate::entity_type::EntityType;

/// What a successful resolution returns: the chosen chain, the alternatives, and the
/// resolved metadata of the requested Entity Type.
#[derive(Debug, Clone)]
pub struct ResolvedEntity {
    pub(super) chain: TrustChain,
    pub(super) alternatives: Vec<TrustChain>,
    pub(super) entity_type: EntityType,
    /// Configurations of the superiors met during discovery (empty for a chain handed over).
    pub(super) configurations: Arc<HashMap<EntityId, Arc<EntityStatement>>>,
    pub(super) marks: Vec<ValidTrustMark>,
    pub(super) rejected_marks: Vec<RejectedTrustMark>,
    /// Deviations tolerated by the accepted trust marks.
    pub(super) mark_deviations: Vec<Deviation>,
    /// Paths tried that gave no valid chain (a failed resolution carries them in
    /// [`crate::Error::NoTrustChain`]).
    pub(super) failed_paths: Vec<PathAttempt>,
    /// Fetches this resolution made (its walk's, trust marks included): a key fetch that
    /// follows counts against the same `max_fetches`.
    pub(super) fetches: usize,
}

impl ResolvedEntity {
    /// The subject.
    pub fn entity_id(&self) -> &EntityId {
        self.chain.subject()
    }

    /// The Entity Type resolved.
    pub fn entity_type(&self) -> &EntityType {
        &self.entity_type
    }

    /// The chosen chain.
    pub fn chain(&self) -> &TrustChain {
        &self.chain
    }

    /// Other valid chains, best first.
    pub fn alternatives(&self) -> &[TrustChain] {
        &self.alternatives
    }

    /// The paths discovery tried that gave no valid chain, and why each failed: with
    /// [`ResolvedEntity::chain`] and [`ResolvedEntity::alternatives`], every path tried
    /// (empty for a chain handed over whole).
    pub fn failed_paths(&self) -> &[PathAttempt] {
        &self.failed_paths
    }

    /// The Trust Anchor of the chosen chain.
    pub fn trust_anchor(&self) -> &EntityId {
        self.chain.anchor()
    }

    /// When trust in the subject ends: the chain's expiry (its smallest `exp`, §10.4), or
    /// earlier when an accepted trust mark expires first (§8.3.2).
    pub fn expires_at(&self) -> i64 {
        self.marks
            .iter()
            .filter_map(|m| m.expires_at)
            .fold(self.chain.expires_at(), i64::min)
    }

    /// The subject's valid trust marks (§7.3), recognised by the chain's anchor.
    pub fn trust_marks(&self) -> &[ValidTrustMark] {
        &self.marks
    }

    /// The subject's trust marks that were refused, with the reason.
    pub fn rejected_trust_marks(&self) -> &[RejectedTrustMark] {
        &self.rejected_marks
    }

    /// Every deviation from the final specification this resolution tolerated (empty in
    /// strict mode): those of the chosen chain's statements, of the configurations of the
    /// superiors on its path, and of the accepted trust marks, each once, in that order.
    pub fn deviations(&self) -> Vec<Deviation> {
        let path = self.chain.path();
        let configurations = path
            .iter()
            .skip(1)
            .filter_map(|id| self.configurations.get(id));
        let mut out: Vec<Deviation> = Vec::new();
        let all = self
            .chain
            .statements()
            .iter()
            .chain(configurations)
            .flat_map(|s| s.deviations())
            .chain(&self.mark_deviations);
        for d in all {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        out
    }

    /// The subject's Federation Entity Keys, as its Immediate Superior asserts them.
    pub fn federation_keys(&self) -> &KeySet {
        self.chain.subject_keys()
    }

    /// The resolved metadata of the requested Entity Type.
    pub fn metadata(&self) -> &Map<String, Value> {
        self.chain
            .metadata()
            .get(self.entity_type.as_str())
            .and_then(Value::as_object)
            .unwrap_or_else(|| empty_map())
    }

    /// The configuration of a superior met during discovery.
    pub fn superior_configuration(&self, id: &EntityId) -> Option<&Arc<EntityStatement>> {
        self.configurations.get(id)
    }

    /// The resolved metadata of every Entity Type the subject has in this chain.
    pub fn all_metadata(&self) -> &Map<String, Value> {
        self.chain.metadata()
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}
