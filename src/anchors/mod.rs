//! Trust Anchors over time (§10, §11.2, §11.3): the configured anchors and their pinned keys
//! change at run time without rebuilding the [`Resolver`](crate::Resolver).
//!
//! * **Snapshots.** The resolver holds its anchors in a [`TrustAnchorsHandle`]. Every
//!   resolution takes an [`AnchorSet`] snapshot (an `Arc`) when it starts and finishes on it:
//!   a change made while it runs applies to the resolutions that start afterwards. Each change
//!   gives the set a new [`AnchorSet::generation`]; the client-record cache is keyed by it, so
//!   a record validated under a removed anchor or key is never served again.
//! * **Rollover** (§11.2): [`Resolver::accept_anchor_key`](crate::Resolver::accept_anchor_key) pins a new key only when the
//!   anchor's current Entity Configuration, verified under a key pinned now, announces it in
//!   its `jwks`; [`Resolver::follow_anchor_rollover`](crate::Resolver::follow_anchor_rollover) pins every announced key. An
//!   unannounced key is refused ([`AnchorError::KeyNotAnnounced`]).
//! * **Independent copy** (§11.3): with [`TrustAnchorsHandle::set_independent_copy`], the
//!   anchor's keys are compared with a copy retrieved through another channel
//!   ([`Resolver::check_anchor_independently`](crate::Resolver::check_anchor_independently), and before every rollover). A difference that
//!   survives a re-fetch of both is [`AnchorError::IndependentCopyMismatch`]. The keys pinned
//!   are those of the configuration that agreed with the copy, each one in the copy.
//! * **Races and replays.** A rollover merges its keys against the anchor's keys at the
//!   moment of the change and is refused ([`AnchorError::ChangedDuringRollover`]) if an
//!   operator changed them while it fetched; a configuration issued before one already seen
//!   is refused ([`AnchorError::StaleConfiguration`]); pinned keys no longer announced are
//!   reported in [`AnchorChange::no_longer_announced`].
//! * **Audit and persistence.** Every change is an [`AnchorChange`] and a `tracing` event on
//!   target `oidfed::audit`; with an [`AnchorStore`] it is persisted before it takes effect
//!   (see [`crate::anchor_store`]).

mod error;
mod guards;
mod rollover;

pub use error::AnchorError;
pub use rollover::{IndependentCheck, IndependentCopy};

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;

use crate::anchor_store::AnchorStore;
use crate::chain::TrustAnchor;
use crate::entity_id::EntityId;
use crate::jose::{Key, KeySet};

/// The Trust Anchors in force at one moment, in order of preference, and the generation
/// that names this set (it grows with every change).
///
/// One example serves the accessors:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// use oidfed::TrustAnchor;
/// let set = resolver.trust_anchors_handle().snapshot();
/// assert_eq!((set.generation(), set.ids()), (0, vec![&ta]));
/// assert_eq!(set.get(&ta).unwrap().id(), &ta);
/// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
/// resolver.trust_anchors_handle().add(ta2).await.unwrap();
/// let now = resolver.trust_anchors_handle().snapshot();
/// assert_eq!((now.generation(), now.anchors().len()), (1, 2));
/// assert_eq!(set.anchors().len(), 1); // an older snapshot does not change
/// # });
/// ```
#[derive(Debug)]
pub struct AnchorSet {
    anchors: Arc<[TrustAnchor]>,
    generation: u64,
}

impl AnchorSet {
    /// The anchors, preferred first.
    ///
    /// See the [`AnchorSet`] example.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// The anchors as a shared slice.
    pub(crate) fn shared(&self) -> Arc<[TrustAnchor]> {
        self.anchors.clone()
    }

    /// Which version of the configuration this is (0 for the one the resolver was built
    /// with).
    ///
    /// See the [`AnchorSet`] example.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The anchor `id`, if configured.
    ///
    /// See the [`AnchorSet`] example.
    pub fn get(&self, id: &EntityId) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| a.id() == id)
    }

    /// The anchors' identifiers, preferred first.
    ///
    /// See the [`AnchorSet`] example.
    pub fn ids(&self) -> Vec<&EntityId> {
        self.anchors.iter().map(TrustAnchor::id).collect()
    }
}

/// Why the anchor configuration changed.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// use oidfed::anchors::ChangeReason;
/// let change = resolver.trust_anchors_handle().replace_keys(&ta, &fed.public_jwks("ta2")).await.unwrap();
/// assert_eq!(change.reason, ChangeReason::KeysReplaced);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeReason {
    /// [`TrustAnchorsHandle::replace`]: the whole set.
    Replaced,
    /// [`TrustAnchorsHandle::add`].
    Added,
    /// [`TrustAnchorsHandle::remove`].
    Removed,
    /// [`TrustAnchorsHandle::replace_keys`]: an operator re-pinned an anchor's keys.
    KeysReplaced,
    /// A key the anchor announced in its Entity Configuration was pinned (§11.2).
    Rollover,
}

/// What one change did: the typed audit record of it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// let change = resolver.trust_anchors_handle().replace_keys(&ta, &fed.public_jwks("ta2")).await.unwrap();
/// assert_eq!(change.generation, 1);
/// assert_eq!(change.added_keys, vec![(ta.clone(), fed.key("ta2").kid())]);
/// assert_eq!(change.removed_keys, vec![(ta.clone(), fed.key("ta").kid())]);
/// assert!(change.added_anchors.is_empty() && !change.persisted && !change.is_empty());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnchorChange {
    /// Why.
    pub reason: ChangeReason,
    /// The generation in force after the change (unchanged when nothing changed).
    pub generation: u64,
    /// Anchors now trusted that were not.
    pub added_anchors: Vec<EntityId>,
    /// Anchors no longer trusted.
    pub removed_anchors: Vec<EntityId>,
    /// Keys pinned now that were not: (anchor, `kid`), for anchors present before and after.
    pub added_keys: Vec<(EntityId, String)>,
    /// Keys no longer pinned: (anchor, `kid`), for anchors present before and after.
    pub removed_keys: Vec<(EntityId, String)>,
    /// Whether the new set was written to the configured [`AnchorStore`].
    pub persisted: bool,
    /// For a rollover: keys pinned (after the change) that the anchor's configuration no
    /// longer announces, as (anchor, `kid`). They stay pinned until an operator removes
    /// them ([`TrustAnchorsHandle::replace_keys`]); this is the signal to do so. Not a
    /// change: [`AnchorChange::is_empty`] ignores it.
    pub no_longer_announced: Vec<(EntityId, String)>,
}

impl AnchorChange {
    /// Whether nothing changed; see the [`AnchorChange`] example.
    pub fn is_empty(&self) -> bool {
        self.added_anchors.is_empty()
            && self.removed_anchors.is_empty()
            && self.added_keys.is_empty()
            && self.removed_keys.is_empty()
    }
}

struct HandleState {
    current: RwLock<Arc<AnchorSet>>,
    /// Serialises writers: a change is computed, persisted and swapped in as one step.
    writer: tokio::sync::Mutex<()>,
    allow_http: bool,
    store: RwLock<Option<Arc<dyn AnchorStore>>>,
    independent: RwLock<HashMap<EntityId, IndependentCopy>>,
    /// The newest `iat` of each anchor's configuration seen by a rollover or a check.
    newest_iat: RwLock<HashMap<EntityId, i64>>,
}

/// The resolver's run-time anchor configuration. Clones share it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use oidfed::testing::FederationBuilder;
/// use oidfed::{Resolver, TrustAnchor};
///
/// let fed = FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// let resolver = Resolver::builder()
///     .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
///     .fetcher(fed.fetcher())
///     .build()
///     .unwrap();
/// let anchors = resolver.trust_anchors_handle();
/// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
/// let change = anchors.add(ta2).await.unwrap();
/// assert_eq!(change.added_anchors, vec![fed.id("ta2")]);
/// assert_eq!(resolver.trust_anchors().anchors().len(), 2);
/// # });
/// ```
#[derive(Clone)]
pub struct TrustAnchorsHandle {
    state: Arc<HandleState>,
}

impl std::fmt::Debug for TrustAnchorsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.snapshot();
        f.debug_struct("TrustAnchorsHandle")
            .field("generation", &set.generation)
            .field("anchors", &set.ids())
            .finish()
    }
}

impl TrustAnchorsHandle {
    pub(crate) fn new(anchors: Vec<TrustAnchor>, allow_http: bool) -> Self {
        Self {
            state: Arc::new(HandleState {
                current: RwLock::new(Arc::new(AnchorSet {
                    anchors: anchors.into(),
                    generation: 0,
                })),
                writer: tokio::sync::Mutex::new(()),
                allow_http,
                store: RwLock::new(None),
                independent: RwLock::new(HashMap::new()),
                newest_iat: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The set in force now. A resolution keeps the snapshot it started with. See the
    /// [`AnchorSet`] example.
    pub fn snapshot(&self) -> Arc<AnchorSet> {
        self.state
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The generation in force now.
    ///
    /// See the [`TrustAnchorsHandle::replace`] example.
    pub fn generation(&self) -> u64 {
        self.snapshot().generation
    }

    /// Persists every later change to `store` before it takes effect (`None`: stop).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use std::sync::Arc;
    /// use oidfed::TrustAnchor;
    /// use oidfed::anchor_store::MemoryAnchorStore;
    /// let store = Arc::new(MemoryAnchorStore::new());
    /// let anchors = resolver.trust_anchors_handle();
    /// anchors.set_store(Some(store.clone()));
    /// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
    /// assert!(anchors.add(ta2).await.unwrap().persisted);
    /// assert_eq!((store.saves(), store.saved_generation()), (1, Some(1)));
    /// # });
    /// ```
    pub fn set_store(&self, store: Option<Arc<dyn AnchorStore>>) {
        *self
            .state
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner) = store;
    }

    /// Compares `anchor`'s keys with `copy` before every rollover and in
    /// [`Resolver::check_anchor_independently`](crate::Resolver::check_anchor_independently) (`None`: stop).
    pub fn set_independent_copy(&self, anchor: &EntityId, copy: Option<IndependentCopy>) {
        let mut map = self
            .state
            .independent
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match copy {
            Some(c) => map.insert(anchor.clone(), c),
            None => map.remove(anchor),
        };
    }

    fn independent_copy(&self, anchor: &EntityId) -> Option<IndependentCopy> {
        self.state
            .independent
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(anchor)
            .cloned()
    }

    /// Replaces the whole set (order = preference).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use oidfed::{TrustAnchor, anchors::AnchorError};
    /// let anchors = resolver.trust_anchors_handle();
    /// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
    /// let change = anchors.replace(vec![ta2]).await.unwrap();
    /// assert_eq!((change.added_anchors, change.removed_anchors), (vec![fed.id("ta2")], vec![ta.clone()]));
    /// assert_eq!(anchors.generation(), 1);
    /// // A change that would leave no anchor is refused; the set stays.
    /// assert!(matches!(anchors.replace(vec![]).await, Err(AnchorError::NoAnchorLeft)));
    /// # });
    /// ```
    pub async fn replace(&self, anchors: Vec<TrustAnchor>) -> Result<AnchorChange, AnchorError> {
        self.apply(ChangeReason::Replaced, |_| Ok(anchors)).await
    }

    /// Trusts one more anchor (least preferred).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use oidfed::{TrustAnchor, anchors::AnchorError};
    /// let again = TrustAnchor::new(ta.as_str(), &fed.public_jwks("ta")).unwrap();
    /// let e = resolver.trust_anchors_handle().add(again).await.unwrap_err();
    /// assert!(matches!(e, AnchorError::AlreadyConfigured { .. }));
    /// # });
    /// ```
    pub async fn add(&self, anchor: TrustAnchor) -> Result<AnchorChange, AnchorError> {
        self.apply(ChangeReason::Added, |old| {
            if old.iter().any(|a| a.id() == anchor.id()) {
                return Err(AnchorError::AlreadyConfigured {
                    anchor: anchor.id().clone(),
                });
            }
            let mut v = old.to_vec();
            v.push(anchor);
            Ok(v)
        })
        .await
    }

    /// Stops trusting `anchor`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use oidfed::{TrustAnchor, anchors::AnchorError};
    /// let anchors = resolver.trust_anchors_handle();
    /// anchors.add(TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap()).await.unwrap();
    /// assert_eq!(anchors.remove(&ta).await.unwrap().removed_anchors, vec![ta.clone()]);
    /// assert!(matches!(anchors.remove(&ta).await, Err(AnchorError::NotConfigured { .. })));
    /// # });
    /// ```
    pub async fn remove(&self, anchor: &EntityId) -> Result<AnchorChange, AnchorError> {
        self.apply(ChangeReason::Removed, |old| {
            if !old.iter().any(|a| a.id() == anchor) {
                return Err(AnchorError::NotConfigured {
                    anchor: anchor.clone(),
                });
            }
            Ok(old.iter().filter(|a| a.id() != anchor).cloned().collect())
        })
        .await
    }

    /// Re-pins `anchor` to exactly `jwks` (an operator's decision, out of band).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use oidfed::anchors::AnchorError;
    /// let anchors = resolver.trust_anchors_handle();
    /// let change = anchors.replace_keys(&ta, &fed.public_jwks("ta2")).await.unwrap();
    /// assert_eq!(change.added_keys.len(), 1);
    /// let broken = anchors.replace_keys(&ta, &serde_json::json!({"keys": []})).await;
    /// assert!(matches!(broken, Err(AnchorError::InvalidKeys { .. })));
    /// # });
    /// ```
    pub async fn replace_keys(
        &self,
        anchor: &EntityId,
        jwks: &Value,
    ) -> Result<AnchorChange, AnchorError> {
        let new = TrustAnchor::new_with(anchor.as_str(), jwks, true).map_err(|e| {
            AnchorError::InvalidKeys {
                anchor: anchor.clone(),
                detail: e.to_string(),
            }
        })?;
        self.swap_anchor(ChangeReason::KeysReplaced, new).await
    }

    /// Puts `new` in the place of the configured anchor with the same identifier.
    async fn swap_anchor(
        &self,
        reason: ChangeReason,
        new: TrustAnchor,
    ) -> Result<AnchorChange, AnchorError> {
        self.apply(reason, |old| {
            if !old.iter().any(|a| a.id() == new.id()) {
                return Err(AnchorError::NotConfigured {
                    anchor: new.id().clone(),
                });
            }
            Ok(old
                .iter()
                .map(|a| {
                    if a.id() == new.id() {
                        new.clone()
                    } else {
                        a.clone()
                    }
                })
                .collect())
        })
        .await
    }

    /// Computes, checks, persists and swaps in a new set, then audits the change.
    async fn apply(
        &self,
        reason: ChangeReason,
        f: impl FnOnce(&[TrustAnchor]) -> Result<Vec<TrustAnchor>, AnchorError>,
    ) -> Result<AnchorChange, AnchorError> {
        let _writer = self.state.writer.lock().await;
        let old = self.snapshot();
        let anchors = f(old.anchors())?;
        if anchors.is_empty() {
            return Err(AnchorError::NoAnchorLeft);
        }
        for (i, a) in anchors.iter().enumerate() {
            if a.id().is_http() && !self.state.allow_http {
                return Err(AnchorError::HttpNotAllowed {
                    anchor: a.id().clone(),
                });
            }
            if anchors[..i].iter().any(|b| b.id() == a.id()) {
                return Err(AnchorError::AlreadyConfigured {
                    anchor: a.id().clone(),
                });
            }
        }
        let mut change = diff(reason, old.anchors(), &anchors);
        if change.is_empty() && old.anchors().len() == anchors.len() {
            let same_order = old
                .anchors()
                .iter()
                .zip(&anchors)
                .all(|(a, b)| a.id() == b.id());
            if same_order {
                change.generation = old.generation;
                return Ok(change);
            }
        }
        let new = Arc::new(AnchorSet {
            anchors: anchors.into(),
            generation: old.generation.saturating_add(1),
        });
        let store = self
            .state
            .store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(store) = store {
            store.save(&new).await?;
            change.persisted = true;
        }
        change.generation = new.generation;
        *self
            .state
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = new;
        tracing::info!(
            target: "oidfed::audit",
            event = "trust_anchors_changed",
            reason = ?change.reason,
            generation = change.generation,
            added_anchors = ?change.added_anchors.iter().map(EntityId::as_str).collect::<Vec<_>>(),
            removed_anchors = ?change.removed_anchors.iter().map(EntityId::as_str).collect::<Vec<_>>(),
            added_keys = ?change.added_keys,
            removed_keys = ?change.removed_keys,
            persisted = change.persisted,
            "trust anchor configuration changed"
        );
        Ok(change)
    }
}

fn same_key(a: &Key, b: &Key) -> bool {
    a.kid() == b.kid() && a.same_material(b)
}

fn kids_missing(from: &KeySet, other: &KeySet) -> Vec<String> {
    from.keys()
        .iter()
        .filter(|k| !other.keys().iter().any(|o| same_key(k, o)))
        .map(|k| k.kid().to_string())
        .collect()
}

fn diff(reason: ChangeReason, old: &[TrustAnchor], new: &[TrustAnchor]) -> AnchorChange {
    let mut change = AnchorChange {
        reason,
        generation: 0,
        added_anchors: Vec::new(),
        removed_anchors: Vec::new(),
        added_keys: Vec::new(),
        removed_keys: Vec::new(),
        persisted: false,
        no_longer_announced: Vec::new(),
    };
    for n in new {
        match old.iter().find(|o| o.id() == n.id()) {
            None => change.added_anchors.push(n.id().clone()),
            Some(o) => {
                for kid in kids_missing(n.keys(), o.keys()) {
                    change.added_keys.push((n.id().clone(), kid));
                }
                for kid in kids_missing(o.keys(), n.keys()) {
                    change.removed_keys.push((n.id().clone(), kid));
                }
            }
        }
    }
    for o in old {
        if !new.iter().any(|n| n.id() == o.id()) {
            change.removed_anchors.push(o.id().clone());
        }
    }
    change
}
