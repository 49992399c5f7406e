//! The guards of a rollover against races and replays: the merge made at the moment of the
//! change against the anchor's keys then, and the newest configuration seen per anchor.

use std::sync::PoisonError;

use serde_json::Value;

use super::{AnchorChange, AnchorError, AnchorSet, ChangeReason, TrustAnchorsHandle, kids_missing};
use crate::chain::TrustAnchor;
use crate::entity_id::EntityId;
use crate::statement::EntityStatement;

impl TrustAnchorsHandle {
    /// Records `ec`'s `iat` as the newest seen for `anchor`, or refuses `ec` when an anchor
    /// configuration issued later was seen already (a replay, §11.2).
    pub(crate) fn note_configuration(
        &self,
        anchor: &EntityId,
        ec: &EntityStatement,
    ) -> Result<(), AnchorError> {
        let mut seen = self
            .state
            .newest_iat
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let iat = ec.issued_at();
        match seen.get(anchor) {
            Some(&newest) if iat < newest => Err(AnchorError::StaleConfiguration {
                anchor: anchor.clone(),
                iat,
                newest_seen: newest,
            }),
            _ => {
                seen.insert(anchor.clone(), iat);
                Ok(())
            }
        }
    }

    fn newest_iat(&self, anchor: &EntityId) -> Option<i64> {
        self.state
            .newest_iat
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(anchor)
            .copied()
    }

    /// Adds the keys `add`, announced by `ec`, to the pinned keys of the anchor `snapshot`
    /// names. The merge is made against the anchor's keys at the moment of the change: if
    /// they are no longer those of `snapshot` (an operator changed them while the rollover
    /// was fetching), the rollover is refused with [`AnchorError::ChangedDuringRollover`],
    /// so that it never reinstates a key that was removed meanwhile.
    pub(crate) async fn pin_announced(
        &self,
        snapshot: &TrustAnchor,
        ec: &EntityStatement,
        add: Vec<Value>,
    ) -> Result<AnchorChange, AnchorError> {
        let id = snapshot.id();
        self.apply(ChangeReason::Rollover, |old| {
            let now = old
                .iter()
                .find(|a| a.id() == id)
                .ok_or_else(|| AnchorError::NotConfigured { anchor: id.clone() })?;
            let unchanged = kids_missing(now.keys(), snapshot.keys()).is_empty()
                && kids_missing(snapshot.keys(), now.keys()).is_empty();
            if !unchanged {
                return Err(AnchorError::ChangedDuringRollover { anchor: id.clone() });
            }
            // A newer configuration was seen while this one was being checked.
            if let Some(newest) = self.newest_iat(id).filter(|n| ec.issued_at() < *n) {
                return Err(AnchorError::StaleConfiguration {
                    anchor: id.clone(),
                    iat: ec.issued_at(),
                    newest_seen: newest,
                });
            }
            ec.verify_with(now.keys(), "pinned keys of the trust anchor")
                .map_err(|source| AnchorError::Configuration {
                    anchor: id.clone(),
                    source: Box::new(source),
                })?;
            let mut keys: Vec<Value> = now.keys().keys().iter().map(|k| k.to_json()).collect();
            keys.extend(add);
            let new =
                TrustAnchor::new_with(id.as_str(), &serde_json::json!({ "keys": keys }), true)
                    .map_err(|e| AnchorError::InvalidKeys {
                        anchor: id.clone(),
                        detail: e.to_string(),
                    })?;
            Ok(old
                .iter()
                .map(|a| if a.id() == id { new.clone() } else { a.clone() })
                .collect())
        })
        .await
        .map(|change| change.not_announced_by(id, ec, &self.snapshot()))
    }
}

impl AnchorChange {
    /// Fills [`AnchorChange::no_longer_announced`]: the keys of `anchor` pinned in `set`
    /// that `ec` does not announce.
    pub(crate) fn not_announced_by(
        mut self,
        anchor: &EntityId,
        ec: &EntityStatement,
        set: &AnchorSet,
    ) -> Self {
        if let Some(a) = set.get(anchor) {
            self.no_longer_announced = kids_missing(a.keys(), ec.jwks())
                .into_iter()
                .map(|kid| (anchor.clone(), kid))
                .collect();
        }
        self
    }
}
