//! Rollover (§11.2) and the independent copy (§11.3): the [`Resolver`] methods that fetch
//! the anchor's configuration, verify it under a pinned key and change the pinned set.

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::{
    AnchorChange, AnchorError, ChangeReason, TrustAnchorsHandle, diff, kids_missing, same_key,
};
use crate::chain::TrustAnchor;
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::fetch::{FetchKind, FetchRequest, Fetcher};
use crate::jose::{Key, KeySet};
use crate::json::parse_strict;
use crate::resolver::Resolver;
use crate::statement::EntityStatement;

/// Where an anchor's keys can be retrieved independently of the federation (§11.3): a URL
/// that answers its JWK Set (`{"keys": [...]}`), fetched with a fetcher of its own.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// use oidfed::anchors::IndependentCopy;
/// use oidfed::fetch::{FetchResponse, MemoryFetcher};
/// // The anchor's keys, as published out of band (say, on the operator's web site).
/// let copy = MemoryFetcher::new();
/// let url = "https://keys.example/ta.json";
/// copy.insert(url, FetchResponse::ok("application/json", fed.public_jwks("ta").to_string()));
/// let anchors = resolver.trust_anchors_handle();
/// anchors.set_independent_copy(&ta, Some(IndependentCopy::new(copy, url.parse().unwrap())));
/// let check = resolver.check_anchor_independently(&ta).await.unwrap();
/// assert_eq!(check.keys, vec![fed.key("ta").kid()]);
/// # });
/// ```
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
    ///
    /// See the [`IndependentCopy`] example.
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
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let ta = fed.id("ta");
///
/// use oidfed::anchors::{AnchorError, IndependentCopy};
/// use oidfed::fetch::{FetchResponse, MemoryFetcher};
/// let copy = MemoryFetcher::new();
/// let url = "https://keys.example/ta.json";
/// // The copy disagrees with what the federation serves: the check fails, loudly.
/// copy.insert(url, FetchResponse::ok("application/json", fed.public_jwks("ta2").to_string()));
/// resolver.trust_anchors_handle().set_independent_copy(&ta, Some(IndependentCopy::new(copy.clone(), url.parse().unwrap())));
/// let e = resolver.check_anchor_independently(&ta).await.unwrap_err();
/// assert!(matches!(e, AnchorError::IndependentCopyMismatch { .. }));
/// copy.insert(url, FetchResponse::ok("application/json", fed.public_jwks("ta").to_string()));
/// let check = resolver.check_anchor_independently(&ta).await.unwrap();
/// assert_eq!((check.anchor, check.agreed_after_refetch), (ta.clone(), false));
/// # });
/// ```
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

impl Resolver {
    /// The run-time anchor configuration, to change it without rebuilding the resolver; see
    /// [`TrustAnchorsHandle`].
    pub fn trust_anchors_handle(&self) -> TrustAnchorsHandle {
        self.inner.anchors.clone()
    }

    /// Replaces every configured anchor (see [`TrustAnchorsHandle::replace`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    ///
    /// use oidfed::TrustAnchor;
    /// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
    /// resolver.replace_trust_anchors(vec![ta2]).await.unwrap();
    /// assert_eq!(resolver.trust_anchors().ids(), vec![&fed.id("ta2")]);
    /// # });
    /// ```
    pub async fn replace_trust_anchors(
        &self,
        anchors: Vec<TrustAnchor>,
    ) -> Result<AnchorChange, AnchorError> {
        self.inner.anchors.replace(anchors).await
    }

    /// The anchor's Entity Configuration, fetched anew (no cache), valid now, verified
    /// with the keys pinned now, and not issued before one already seen for the anchor
    /// ([`AnchorError::StaleConfiguration`]).
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
        self.inner.anchors.note_configuration(id, &ec)?;
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
        let text = inner
            .fetcher
            .fetch(request)
            .await
            .and_then(|r| r.into_text(&url))
            .map_err(fetch_err)?;
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
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    /// # // The anchor announces a second key in its configuration, still signed with the first.
    /// # let next = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
    /// # let announced = next.public_jwk();
    /// # fed.republish_ec("ta", |c| c["jwks"]["keys"].as_array_mut().unwrap().push(announced.clone()));
    ///
    /// let change = resolver.accept_anchor_key(&ta, &announced).await.unwrap();
    /// assert_eq!(change.added_keys, vec![(ta.clone(), next.kid())]);
    /// assert_eq!(resolver.trust_anchors().get(&ta).unwrap().keys().len(), 2);
    /// # });
    /// ```
    pub async fn accept_anchor_key(
        &self,
        anchor: &EntityId,
        new_key: &Value,
    ) -> Result<AnchorChange, AnchorError> {
        let key = Key::from_json(new_key).map_err(|e| AnchorError::InvalidKeys {
            anchor: anchor.clone(),
            detail: e.to_string(),
        })?;
        let current = self.configured(anchor)?;
        if current.keys().keys().iter().any(|k| same_key(k, &key)) {
            return Ok(diff(ChangeReason::Rollover, &[], &[]).at(self.inner.anchors.generation()));
        }
        let ec = self.pinned_anchor_configuration(&current).await?;
        refuse_unannounced(anchor, &ec, &key)?;
        // §11.3: the key is added only from the configuration the copy confirmed.
        let (ec, copy) = self.confirmed_by_copy(&current, ec).await?;
        refuse_unannounced(anchor, &ec, &key)?;
        self.pin_rollover(&current, vec![&key], &ec, copy.as_ref())
            .await
    }

    /// Pins every key the anchor's current Entity Configuration (verified under a key pinned
    /// now) announces and that is not pinned yet. Keys no longer announced stay pinned until
    /// an operator removes them ([`TrustAnchorsHandle::replace_keys`]); the change lists them
    /// in [`AnchorChange::no_longer_announced`]. A configuration issued before one already
    /// seen for the anchor is refused ([`AnchorError::StaleConfiguration`]): a replayed
    /// older configuration cannot bring back a key the anchor withdrew.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let ta = fed.id("ta");
    /// # // The anchor announces a second key in its configuration, still signed with the first.
    /// # let next = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
    /// # let announced = next.public_jwk();
    /// # fed.republish_ec("ta", |c| c["jwks"]["keys"].as_array_mut().unwrap().push(announced.clone()));
    ///
    /// use oidfed::anchors::ChangeReason;
    /// let change = resolver.follow_anchor_rollover(&ta).await.unwrap();
    /// assert_eq!((change.reason, change.added_keys.clone()), (ChangeReason::Rollover, vec![(ta.clone(), next.kid())]));
    /// // Nothing new announced: nothing changes.
    /// assert!(resolver.follow_anchor_rollover(&ta).await.unwrap().is_empty());
    /// # });
    /// ```
    pub async fn follow_anchor_rollover(
        &self,
        anchor: &EntityId,
    ) -> Result<AnchorChange, AnchorError> {
        let current = self.configured(anchor)?;
        let ec = self.pinned_anchor_configuration(&current).await?;
        if unpinned(&current, &ec).is_empty() {
            return Ok(self.unchanged(anchor, &ec));
        }
        // §11.3: the keys added are those of the configuration the copy confirmed.
        let (ec, copy) = self.confirmed_by_copy(&current, ec).await?;
        let new = unpinned(&current, &ec);
        if new.is_empty() {
            return Ok(self.unchanged(anchor, &ec));
        }
        self.pin_rollover(&current, new, &ec, copy.as_ref()).await
    }

    /// A rollover that pinned nothing: the generation in force and the pinned keys `ec` no
    /// longer announces.
    fn unchanged(&self, anchor: &EntityId, ec: &EntityStatement) -> AnchorChange {
        let set = self.inner.anchors.snapshot();
        diff(ChangeReason::Rollover, &[], &[])
            .at(set.generation())
            .not_announced_by(anchor, ec, &set)
    }

    /// `ec` itself when no independent copy is configured or every key it announces is in
    /// the copy; otherwise the configuration a re-fetch found agreeing with the copy (§11.3).
    /// Returns the copy's keys too, so that nothing outside them is pinned.
    async fn confirmed_by_copy(
        &self,
        current: &TrustAnchor,
        ec: EntityStatement,
    ) -> Result<(EntityStatement, Option<KeySet>), AnchorError> {
        let id = current.id();
        let Some(copy) = self.inner.anchors.independent_copy(id) else {
            return Ok((ec, None));
        };
        let copy_keys = copy.keys(id).await?;
        if kids_missing(ec.jwks(), &copy_keys).is_empty() {
            return Ok((ec, Some(copy_keys)));
        }
        // §11.3: fetch both again before calling it a mismatch; what agreed is what counts.
        let (_, ec, copy_keys) = self.compare_with_copy(current, &copy).await?;
        Ok((ec, Some(copy_keys)))
    }

    /// Adds `add` (announced by `ec`) to the anchor's pinned keys. Every key added must be
    /// in `copy` (when one is configured); the anchor's keys must still be those of
    /// `current`, the snapshot `ec` was verified under.
    async fn pin_rollover(
        &self,
        current: &TrustAnchor,
        add: Vec<&Key>,
        ec: &EntityStatement,
        copy: Option<&KeySet>,
    ) -> Result<AnchorChange, AnchorError> {
        let id = current.id();
        if let Some(copy) = copy {
            let outside: Vec<String> = add
                .iter()
                .filter(|k| !copy.keys().iter().any(|c| same_key(c, k)))
                .map(|k| k.kid().to_string())
                .collect();
            if !outside.is_empty() {
                return Err(AnchorError::IndependentCopyMismatch {
                    anchor: id.clone(),
                    only_in_federation: outside,
                    only_in_copy: Vec::new(),
                });
            }
        }
        let add: Vec<Value> = add.iter().map(|k| k.to_json()).collect();
        self.inner.anchors.pin_announced(current, ec, add).await
    }

    /// Compares `anchor`'s keys — its current Entity Configuration's `jwks`, verified under a
    /// pinned key — with the configured independent copy (§11.3). On a difference both are
    /// fetched again; a difference that remains is [`AnchorError::IndependentCopyMismatch`]
    /// (and a warning on `oidfed::audit`).
    ///
    /// See the [`IndependentCheck`] example.
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
        Ok(self.compare_with_copy(&current, &copy).await?.0)
    }

    /// The check, the configuration that agreed with the copy in that same comparison, and
    /// the copy's keys.
    async fn compare_with_copy(
        &self,
        anchor: &TrustAnchor,
        copy: &IndependentCopy,
    ) -> Result<(IndependentCheck, EntityStatement, KeySet), AnchorError> {
        let id = anchor.id();
        let mut last = (Vec::new(), Vec::new());
        for attempt in 0..2 {
            let ec = self.pinned_anchor_configuration(anchor).await?;
            let copy_keys = copy.keys(id).await?;
            let only_fed = kids_missing(ec.jwks(), &copy_keys);
            let only_copy = kids_missing(&copy_keys, ec.jwks());
            if only_fed.is_empty() && only_copy.is_empty() {
                let check = IndependentCheck {
                    anchor: id.clone(),
                    keys: ec
                        .jwks()
                        .keys()
                        .iter()
                        .map(|k| k.kid().to_string())
                        .collect(),
                    agreed_after_refetch: attempt > 0,
                };
                return Ok((check, ec, copy_keys));
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

/// The keys `ec` announces that `current` does not pin.
fn unpinned<'a>(current: &TrustAnchor, ec: &'a EntityStatement) -> Vec<&'a Key> {
    ec.jwks()
        .keys()
        .iter()
        .filter(|k| !current.keys().keys().iter().any(|p| same_key(p, k)))
        .map(|k| &**k)
        .collect()
}

fn refuse_unannounced(
    anchor: &EntityId,
    ec: &EntityStatement,
    key: &Key,
) -> Result<(), AnchorError> {
    if ec.jwks().keys().iter().any(|k| same_key(k, key)) {
        return Ok(());
    }
    tracing::warn!(
        target: "oidfed::audit",
        event = "anchor_key_refused",
        anchor = %anchor,
        kid = key.kid(),
        "a new trust anchor key was refused: the anchor's configuration does not announce it"
    );
    Err(AnchorError::KeyNotAnnounced {
        anchor: anchor.clone(),
        kid: key.kid().to_string(),
    })
}

impl AnchorChange {
    fn at(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }
}
