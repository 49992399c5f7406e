//! A registered client's protocol keys, parsed once per record: the request path
//! (`verify_client_assertion`, `verify_request_object`) then only looks them up, and each
//! key's verifier, built on its first use, lives as long as the record does.
//!
//! Entries are keyed by client and entity type and hold the record they were parsed from
//! (weakly): a lookup with any other record (re-resolved, rotated keys) parses that record's
//! keys and replaces the entry. A weak reference keeps the record's allocation, so a new
//! record can never be mistaken for the old one at the same address.

use std::sync::{Arc, Weak};

use moka::future::Cache;

use crate::entity_id::EntityId;
use crate::jose::{JoseError, KeySet};
use crate::record::ClientRecord;
use crate::resolver::EntityType;

struct Parsed {
    record: Weak<ClientRecord>,
    keys: Arc<KeySet>,
}

/// Parsed protocol keys of the clients seen on the request path, bounded in number.
#[derive(Clone)]
pub(crate) struct ClientKeyCache {
    inner: Cache<(EntityId, EntityType), Arc<Parsed>>,
}

impl ClientKeyCache {
    /// A cache for at most `capacity` clients.
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            inner: Cache::builder().max_capacity(capacity).build(),
        }
    }

    /// The parsed `keys` of `record`: remembered when `remember` (a record the resolver
    /// keeps), parsed for this call only otherwise (a record built from a chain handed
    /// over with the request).
    pub(crate) async fn keys_of(
        &self,
        record: &Arc<ClientRecord>,
        remember: bool,
    ) -> Result<Arc<KeySet>, JoseError> {
        if !remember {
            return KeySet::from_json(&record.keys).map(Arc::new);
        }
        let key = (record.client_id.clone(), record.entity_type.clone());
        if let Some(p) = self.inner.get(&key).await {
            if std::ptr::eq(p.record.as_ptr(), Arc::as_ptr(record)) {
                return Ok(p.keys.clone());
            }
        }
        let keys = Arc::new(KeySet::from_json(&record.keys)?);
        let parsed = Arc::new(Parsed {
            record: Arc::downgrade(record),
            keys: keys.clone(),
        });
        self.inner.insert(key, parsed).await;
        Ok(keys)
    }

    /// Forgets every client's keys.
    pub(crate) fn clear(&self) {
        self.inner.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FederationBuilder, KeyAlg};
    use crate::{FixedClock, Resolver};

    #[tokio::test]
    async fn a_record_s_keys_are_parsed_once_and_a_new_record_s_anew() {
        let fed = FederationBuilder::new("https://fed.example")
            .now(1_800_000_000)
            .anchor("ta")
            .leaf("rp", &["ta"])
            .protocol_key("rp", "openid_relying_party", KeyAlg::ES256)
            .build();
        let r = Resolver::builder()
            .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
            .fetcher(fed.fetcher())
            .clock(FixedClock::new(1_800_000_000))
            .build()
            .unwrap();
        let record = r
            .record(&fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
            .await
            .unwrap();
        let cache = ClientKeyCache::new(10);
        let first = cache.keys_of(&record, true).await.unwrap();
        let second = cache.keys_of(&record, true).await.unwrap();
        assert!(Arc::ptr_eq(&first, &second), "parsed once per record");
        assert_eq!(first.len(), 1);
        // Another record of the same client (equal content, another allocation).
        let copy = Arc::new((*record).clone());
        let third = cache.keys_of(&copy, true).await.unwrap();
        assert!(
            !Arc::ptr_eq(&first, &third),
            "parsed anew for another record"
        );
        assert!(Arc::ptr_eq(
            &third,
            &cache.keys_of(&copy, true).await.unwrap()
        ));
        // A record not kept by the resolver is parsed for the call only.
        let once = cache.keys_of(&record, false).await.unwrap();
        assert!(!Arc::ptr_eq(
            &once,
            &cache.keys_of(&record, false).await.unwrap()
        ));
    }
}
