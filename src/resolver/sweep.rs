//! What a registry sweep needs from the resolver: a re-resolution that fetches every
//! statement anew (so a removed or changed statement is seen on this sweep, not when the
//! cached copy expires), shares what it fetched with the other clients of the same sweep,
//! and verifies only bytes not verified before.

use std::sync::Arc;

use super::{EntityType, Resolver};
use crate::discovery::SharedMemo;
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::record::ClientRecord;

/// The statements fetched during one sweep, shared by all its re-resolutions: each
/// distinct statement is fetched once per sweep, however many clients share it.
#[derive(Clone, Default)]
pub struct SweepMemo {
    pub(crate) memo: SharedMemo,
}

impl std::fmt::Debug for SweepMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepMemo")
            .field("statements", &self.len())
            .finish()
    }
}

impl SweepMemo {
    /// A fresh memo, for one sweep.
    pub fn new() -> Self {
        Self::default()
    }

    /// Distinct statements fetched (or tried) so far.
    pub fn len(&self) -> usize {
        self.memo.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether nothing was fetched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Resolver {
    /// Re-resolves `client_id` from statements fetched anew (once per `memo`), verifying
    /// only statement bytes not verified before, and refreshes the resolver's caches. The
    /// record cache is updated on success and dropped on failure.
    pub async fn resolve_fresh(
        &self,
        client_id: &EntityId,
        entity_type: &EntityType,
        memo: &SweepMemo,
    ) -> Result<Arc<ClientRecord>, Error> {
        let key = (
            client_id.clone(),
            entity_type.clone(),
            self.inner.anchors.generation(),
        );
        let result = async {
            let deadline = self.deadline();
            let _turn = self.admit(deadline).await?;
            let (resolved, same) = Box::pin(self.discover_until_memo(
                client_id,
                entity_type,
                true,
                Some(memo.memo.clone()),
                deadline,
            ))
            .await?;
            // Every statement fetched was the very statement of the remembered resolution:
            // the record built from it, when its keys came from the chain (a resolution
            // just remembered has none yet).
            if let Some(record) = same.as_ref().and_then(|m| m.record.get()) {
                return Ok(record.clone());
            }
            let record = Arc::new(self.record_until(&resolved, deadline).await?);
            // Kept with the resolution just remembered (or the one that answered), when its
            // keys came from the chain: the next sweep fetching the same bytes gets this very
            // record (and the registry finds it unchanged by its digest).
            if matches!(
                record.key_source,
                crate::record::KeySource::Jwks | crate::record::KeySource::None
            ) {
                if let Some(m) = same {
                    let _ = m.record.set(record.clone());
                }
            }
            Ok(record)
        }
        .await;
        match result {
            Ok(record) => {
                let held = self.inner.records.get(&key).await;
                if !held.is_some_and(|h| Arc::ptr_eq(&h, &record)) {
                    self.inner.records.insert(key, record.clone()).await;
                }
                Ok(record)
            }
            Err(e) => {
                self.inner.records.invalidate(&key).await;
                Err(e)
            }
        }
    }

    /// Signature checks this resolver has made on fetched statements (a verification
    /// answered from the memo of verified bytes is not one). For measuring sweeps.
    pub fn signature_checks(&self) -> u64 {
        self.inner.verified.checks()
    }
}
