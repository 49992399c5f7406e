//! Trust Anchors over time (§10, §11.2, §11.3): the configured anchors and their pinned keys
//! change at run time without rebuilding the [`Resolver`].
//!
//! * **Snapshots.** The resolver holds its anchors in a [`TrustAnchorsHandle`]. Every
//!   resolution takes an [`AnchorSet`] snapshot (an `Arc`) when it starts and finishes on it:
//!   a change made while it runs applies to the resolutions that start afterwards. Each change
//!   gives the set a new [`AnchorSet::generation`]; the client-record cache is keyed by it, so
//!   a record validated under a removed anchor or key is never served again.
//! * **Rollover** (§11.2): [`Resolver::accept_anchor_key`] pins a new key only when the
//!   anchor's current Entity Configuration, verified under a key pinned now, announces it in
//!   its `jwks`; [`Resolver::follow_anchor_rollover`] pins every announced key. An
//!   unannounced key is refused ([`AnchorError::KeyNotAnnounced`]).
//! * **Independent copy** (§11.3): with [`TrustAnchorsHandle::set_independent_copy`], the
//!   anchor's keys are compared with a copy retrieved through another channel
//!   ([`Resolver::check_anchor_independently`], and before every rollover). A difference that
//!   survives a re-fetch of both is [`AnchorError::IndependentCopyMismatch`].
//! * **Audit and persistence.** Every change is an [`AnchorChange`] and a `tracing` event on
//!   target `oidfed::audit`; with an [`AnchorStore`] it is persisted before it takes effect
//!   (see [`crate::anchor_store`]).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;
use url::Url;

use crate::anchor_store::{AnchorStore, AnchorStoreError};
use crate::chain::TrustAnchor;
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::fetch::{FetchError, FetchKind, FetchRequest, Fetcher};
use crate::jose::{Key, KeySet};
use crate::json::parse_strict;
use crate::resolver::Resolver;
use crate::statement::{EntityStatement, StatementError};

/// The Trust Anchors in force at one moment, in order of preference, and the generation
/// that names this set (it grows with every change).
#[derive(Debug)]
pub struct AnchorSet {
    anchors: Arc<[TrustAnchor]>,
    generation: u64,
}

impl AnchorSet {
    /// The anchors, preferred first.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    /// The anchors as a shared slice.
    pub(crate) fn shared(&self) -> Arc<[TrustAnchor]> {
        self.anchors.clone()
    }

    /// Which version of the configuration this is (0 for the one the resolver was built
    /// with).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The anchor `id`, if configured.
    pub fn get(&self, id: &EntityId) -> Option<&TrustAnchor> {
        self.anchors.iter().find(|a| a.id() == id)
    }

    /// The anchors' identifiers, preferred first.
    pub fn ids(&self) -> Vec<&EntityId> {
        self.anchors.iter().map(TrustAnchor::id).collect()
    }
}

/// Why the anchor configuration changed.
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
}

impl AnchorChange {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added_anchors.is_empty()
            && self.removed_anchors.is_empty()
            && self.added_keys.is_empty()
            && self.removed_keys.is_empty()
    }
}

/// Where an anchor's keys can be retrieved independently of the federation (§11.3): a URL
/// that answers its JWK Set (`{"keys": [...]}`), fetched with a fetcher of its own.
#[derive(Clone)]
pub struct IndependentCopy {
    fetcher: Arc<dyn Fetcher>,
    url: Url,
}

impl std::fmt::Debug for IndependentCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndependentCopy({})", self.url)
    }
}

impl IndependentCopy {
    /// The JWK Set at `url`, fetched with `fetcher`.
    pub fn new(fetcher: impl Fetcher, url: Url) -> Self {
        Self {
            fetcher: Arc::new(fetcher),
            url,
        }
    }

    async fn keys(&self, anchor: &EntityId) -> Result<KeySet, AnchorError> {
        let what = |detail: String| AnchorError::IndependentCopy {
            anchor: anchor.clone(),
            detail,
        };
        let response = self
            .fetcher
            .fetch(FetchRequest::get(self.url.clone(), FetchKind::JwkSet))
            .await
            .map_err(|e| what(e.to_string()))?;
        let body = response
            .into_body(&self.url)
            .map_err(|e| what(e.to_string()))?;
        let json = parse_strict(&body).map_err(|e| what(e.to_string()))?;
        KeySet::from_json(&json).map_err(|e| what(e.to_string()))
    }
}

/// The outcome of a successful comparison with the independent copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndependentCheck {
    /// The anchor.
    pub anchor: EntityId,
    /// The `kid`s both channels agree on.
    pub keys: Vec<String>,
    /// Whether the first comparison differed and a re-fetch of both made them agree.
    pub agreed_after_refetch: bool,
}

/// Why a change of the anchor configuration was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The anchor is not configured.
    #[error("{anchor} is not a configured trust anchor")]
    NotConfigured {
        /// The anchor.
        anchor: EntityId,
    },
    /// The anchor is configured already (use `replace_keys`).
    #[error("{anchor} is already a configured trust anchor")]
    AlreadyConfigured {
        /// The anchor.
        anchor: EntityId,
    },
    /// The change would leave no trust anchor.
    #[error("the change would leave no trust anchor")]
    NoAnchorLeft,
    /// An `http` anchor in a resolver that does not allow `http`.
    #[error("trust anchor {anchor} uses http; the resolver does not allow http")]
    HttpNotAllowed {
        /// The anchor.
        anchor: EntityId,
    },
    /// A key or key set given for an anchor is unusable.
    #[error("keys of trust anchor {anchor}: {detail}")]
    InvalidKeys {
        /// The anchor.
        anchor: EntityId,
        /// What is wrong.
        detail: String,
    },
    /// The anchor's Entity Configuration could not be fetched.
    #[error("fetching the configuration of trust anchor {anchor}: {source}")]
    Fetch {
        /// The anchor.
        anchor: EntityId,
        /// Why.
        source: FetchError,
    },
    /// The anchor's Entity Configuration is malformed, expired, or not signed by a key
    /// pinned now (so nothing it announces can be trusted).
    #[error("configuration of trust anchor {anchor}: {source}")]
    Configuration {
        /// The anchor.
        anchor: EntityId,
        /// The rule it broke.
        source: Box<StatementError>,
    },
    /// A new key that the anchor's current configuration does not announce (§11.2).
    #[error("trust anchor {anchor} does not announce the key {kid:?} in its configuration")]
    KeyNotAnnounced {
        /// The anchor.
        anchor: EntityId,
        /// The refused key.
        kid: String,
    },
    /// The independent copy could not be retrieved or read.
    #[error("independent copy of the keys of {anchor}: {detail}")]
    IndependentCopy {
        /// The anchor.
        anchor: EntityId,
        /// Why.
        detail: String,
    },
    /// No independent copy is configured for the anchor.
    #[error("no independent copy of the keys of {anchor} is configured")]
    NoIndependentCopy {
        /// The anchor.
        anchor: EntityId,
    },
    /// The keys the federation publishes and the independent copy still differ after both
    /// were fetched again (§11.3): a security or configuration problem.
    #[error(
        "keys of trust anchor {anchor} differ from the independent copy (only in the federation: {only_in_federation:?}; only in the copy: {only_in_copy:?})"
    )]
    IndependentCopyMismatch {
        /// The anchor.
        anchor: EntityId,
        /// `kid`s the anchor's configuration (or the key to pin) has and the copy lacks.
        only_in_federation: Vec<String>,
        /// `kid`s the copy has and the anchor's configuration lacks.
        only_in_copy: Vec<String>,
    },
    /// The store refused the new set; the change did not take effect.
    #[error(transparent)]
    Store(#[from] AnchorStoreError),
}

struct HandleState {
    current: RwLock<Arc<AnchorSet>>,
    /// Serialises writers: a change is computed, persisted and swapped in as one step.
    writer: tokio::sync::Mutex<()>,
    allow_http: bool,
    store: RwLock<Option<Arc<dyn AnchorStore>>>,
    independent: RwLock<HashMap<EntityId, IndependentCopy>>,
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
            }),
        }
    }

    /// The set in force now. A resolution keeps the snapshot it started with.
    pub fn snapshot(&self) -> Arc<AnchorSet> {
        self.state
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The generation in force now.
    pub fn generation(&self) -> u64 {
        self.snapshot().generation
    }

    /// Persists every later change to `store` before it takes effect (`None`: stop).
    pub fn set_store(&self, store: Option<Arc<dyn AnchorStore>>) {
        *self
            .state
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner) = store;
    }

    /// Compares `anchor`'s keys with `copy` before every rollover and in
    /// [`Resolver::check_anchor_independently`] (`None`: stop).
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
    pub async fn replace(&self, anchors: Vec<TrustAnchor>) -> Result<AnchorChange, AnchorError> {
        self.apply(ChangeReason::Replaced, |_| Ok(anchors)).await
    }

    /// Trusts one more anchor (least preferred).
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

impl Resolver {
    /// The run-time anchor configuration, to change it without rebuilding the resolver.
    pub fn trust_anchors_handle(&self) -> TrustAnchorsHandle {
        self.inner.anchors.clone()
    }

    /// Replaces every configured anchor (see [`TrustAnchorsHandle::replace`]).
    pub async fn replace_trust_anchors(
        &self,
        anchors: Vec<TrustAnchor>,
    ) -> Result<AnchorChange, AnchorError> {
        self.inner.anchors.replace(anchors).await
    }

    /// The anchor's Entity Configuration, fetched anew (no cache), valid now and verified
    /// with the keys pinned now.
    pub(crate) async fn pinned_anchor_configuration(
        &self,
        anchor: &TrustAnchor,
    ) -> Result<EntityStatement, AnchorError> {
        let id = anchor.id();
        let ec = self.fetch_configuration(id).await.map_err(|e| match e {
            Error::Fetch { source, .. } => AnchorError::Fetch {
                anchor: id.clone(),
                source,
            },
            Error::Statement(source) => AnchorError::Configuration {
                anchor: id.clone(),
                source,
            },
            other => AnchorError::InvalidKeys {
                anchor: id.clone(),
                detail: other.to_string(),
            },
        })?;
        ec.verify_with(anchor.keys(), "pinned keys of the trust anchor")
            .map_err(|source| AnchorError::Configuration {
                anchor: id.clone(),
                source: Box::new(source),
            })?;
        Ok(ec)
    }

    /// `id`'s Entity Configuration, fetched anew (no cache), well formed, about `id`, valid
    /// now and verified with its own `jwks`.
    pub(crate) async fn fetch_configuration(
        &self,
        id: &EntityId,
    ) -> Result<EntityStatement, Error> {
        let inner = &self.inner;
        let request = FetchRequest::entity_configuration(id);
        let url = request.url.clone();
        let fetch_err = |source| Error::Fetch {
            entity: id.clone(),
            what: "entity configuration",
            source,
        };
        let body = inner
            .fetcher
            .fetch(request)
            .await
            .and_then(|r| r.into_body(&url))
            .map_err(fetch_err)?;
        let text = String::from_utf8(body).map_err(|_| {
            fetch_err(FetchError::BadResponse {
                url: url.to_string(),
                detail: "the body is not UTF-8".into(),
            })
        })?;
        let ec = EntityStatement::parse(text.trim(), &inner.rules)?;
        if !ec.is_configuration() || ec.subject() != id {
            return Err(ec
                .error(
                    crate::statement::Rule::Subject,
                    format!("not the Entity Configuration of {id}"),
                )
                .into());
        }
        ec.check_time(inner.clock.now(), inner.skew)?;
        ec.verify_with(ec.jwks(), "its own jwks")?;
        Ok(ec)
    }

    /// Pins `new_key` (a public JWK) for `anchor` when the anchor's current Entity
    /// Configuration, verified under a key pinned now, announces it in its `jwks` (§11.2),
    /// and — when an independent copy is configured — the copy has it too (§11.3).
    pub async fn accept_anchor_key(
        &self,
        anchor: &EntityId,
        new_key: &Value,
    ) -> Result<AnchorChange, AnchorError> {
        let key = Key::from_json(new_key).map_err(|detail| AnchorError::InvalidKeys {
            anchor: anchor.clone(),
            detail,
        })?;
        let current = self.configured(anchor)?;
        if current.keys().keys().iter().any(|k| same_key(k, &key)) {
            return Ok(diff(ChangeReason::Rollover, &[], &[]).at(self.inner.anchors.generation()));
        }
        let ec = self.pinned_anchor_configuration(&current).await?;
        if !ec.jwks().keys().iter().any(|k| same_key(k, &key)) {
            tracing::warn!(
                target: "oidfed::audit",
                event = "anchor_key_refused",
                anchor = %anchor,
                kid = key.kid(),
                "a new trust anchor key was refused: the anchor's configuration does not announce it"
            );
            return Err(AnchorError::KeyNotAnnounced {
                anchor: anchor.clone(),
                kid: key.kid().to_string(),
            });
        }
        let mut keys: Vec<Value> = current.keys().keys().iter().map(|k| k.to_json()).collect();
        keys.push(key.to_json());
        self.pin_rollover(&current, keys, &ec).await
    }

    /// Pins every key the anchor's current Entity Configuration (verified under a key pinned
    /// now) announces and that is not pinned yet. Keys no longer announced stay pinned until
    /// an operator removes them ([`TrustAnchorsHandle::replace_keys`]).
    pub async fn follow_anchor_rollover(
        &self,
        anchor: &EntityId,
    ) -> Result<AnchorChange, AnchorError> {
        let current = self.configured(anchor)?;
        let ec = self.pinned_anchor_configuration(&current).await?;
        let mut keys: Vec<Value> = current.keys().keys().iter().map(|k| k.to_json()).collect();
        let new: Vec<Value> = ec
            .jwks()
            .keys()
            .iter()
            .filter(|k| !current.keys().keys().iter().any(|p| same_key(p, k)))
            .map(|k| k.to_json())
            .collect();
        if new.is_empty() {
            return Ok(diff(ChangeReason::Rollover, &[], &[]).at(self.inner.anchors.generation()));
        }
        keys.extend(new);
        self.pin_rollover(&current, keys, &ec).await
    }

    async fn pin_rollover(
        &self,
        current: &TrustAnchor,
        keys: Vec<Value>,
        ec: &EntityStatement,
    ) -> Result<AnchorChange, AnchorError> {
        let id = current.id();
        if let Some(copy) = self.inner.anchors.independent_copy(id) {
            let copy_keys = copy.keys(id).await?;
            let missing = kids_missing(ec.jwks(), &copy_keys);
            if !missing.is_empty() {
                // §11.3: fetch both again before calling it a mismatch.
                self.compare_with_copy(current, &copy).await?;
            }
        }
        let new = TrustAnchor::new_with(id.as_str(), &serde_json::json!({ "keys": keys }), true)
            .map_err(|e| AnchorError::InvalidKeys {
                anchor: id.clone(),
                detail: e.to_string(),
            })?;
        self.inner
            .anchors
            .swap_anchor(ChangeReason::Rollover, new)
            .await
    }

    /// Compares `anchor`'s keys — its current Entity Configuration's `jwks`, verified under a
    /// pinned key — with the configured independent copy (§11.3). On a difference both are
    /// fetched again; a difference that remains is [`AnchorError::IndependentCopyMismatch`]
    /// (and a warning on `oidfed::audit`).
    pub async fn check_anchor_independently(
        &self,
        anchor: &EntityId,
    ) -> Result<IndependentCheck, AnchorError> {
        let current = self.configured(anchor)?;
        let copy = self.inner.anchors.independent_copy(anchor).ok_or_else(|| {
            AnchorError::NoIndependentCopy {
                anchor: anchor.clone(),
            }
        })?;
        self.compare_with_copy(&current, &copy).await
    }

    async fn compare_with_copy(
        &self,
        anchor: &TrustAnchor,
        copy: &IndependentCopy,
    ) -> Result<IndependentCheck, AnchorError> {
        let id = anchor.id();
        let mut last = (Vec::new(), Vec::new());
        for attempt in 0..2 {
            let ec = self.pinned_anchor_configuration(anchor).await?;
            let copy_keys = copy.keys(id).await?;
            let only_fed = kids_missing(ec.jwks(), &copy_keys);
            let only_copy = kids_missing(&copy_keys, ec.jwks());
            if only_fed.is_empty() && only_copy.is_empty() {
                return Ok(IndependentCheck {
                    anchor: id.clone(),
                    keys: ec
                        .jwks()
                        .keys()
                        .iter()
                        .map(|k| k.kid().to_string())
                        .collect(),
                    agreed_after_refetch: attempt > 0,
                });
            }
            last = (only_fed, only_copy);
        }
        tracing::warn!(
            target: "oidfed::audit",
            event = "anchor_keys_mismatch",
            anchor = %id,
            only_in_federation = ?last.0,
            only_in_copy = ?last.1,
            "trust anchor keys differ from the independently retrieved copy"
        );
        Err(AnchorError::IndependentCopyMismatch {
            anchor: id.clone(),
            only_in_federation: last.0,
            only_in_copy: last.1,
        })
    }

    fn configured(&self, anchor: &EntityId) -> Result<TrustAnchor, AnchorError> {
        self.inner
            .anchors
            .snapshot()
            .get(anchor)
            .cloned()
            .ok_or_else(|| AnchorError::NotConfigured {
                anchor: anchor.clone(),
            })
    }
}

impl AnchorChange {
    fn at(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }
}
