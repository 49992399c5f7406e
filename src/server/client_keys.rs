//! A registered client's protocol keys, parsed once per record: the request path
//! (`verify_client_assertion`, `verify_request_object`) then only looks them up, and each
//! key's verifier, built on its first use, lives as long as the record does.
//!
//! Entries are keyed by client and entity type and hold what they were parsed from:
//!
//! * for the resolver's records, the record itself (weakly): a lookup with any other record
//!   (re-resolved, rotated keys) parses that record's keys and replaces the entry. A weak
//!   reference keeps the record's allocation, so a new record can never be mistaken for the
//!   old one at the same address;
//! * for the registry's clients (every registration model), the stored version of the
//!   client's row: every write of a client bumps its version, so a rotation written by any
//!   replica is parsed anew by every replica on its next request, and an unchanged row is
//!   never parsed twice.

use std::sync::{Arc, Weak};

use moka::future::Cache;

use crate::entity_id::EntityId;
use crate::jose::{JoseError, KeySet};
use crate::record::ClientRecord;
use crate::resolver::EntityType;

/// What an entry's keys were parsed from.
enum Source {
    /// A record the resolver keeps.
    Record(Weak<ClientRecord>),
    /// A registry row, at this stored version, holding the JWK Set of this digest.
    Stored(i64, u64),
}

struct Parsed {
    source: Source,
    keys: Arc<KeySet>,
}

/// Whose keys an entry holds: a resolver record's, or a registry client's (a client_id of
/// any registration model, not necessarily an Entity Identifier).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Owner {
    Record(EntityId),
    Stored(String),
}

/// Parsed protocol keys of the clients seen on the request path, bounded in number.
#[derive(Clone)]
pub(crate) struct ClientKeyCache {
    inner: Cache<(Owner, EntityType), Arc<Parsed>>,
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
        let key = (
            Owner::Record(record.client_id.clone()),
            record.entity_type.clone(),
        );
        if let Some(p) = self.inner.get(&key).await {
            if matches!(&p.source, Source::Record(r) if std::ptr::eq(r.as_ptr(), Arc::as_ptr(record)))
            {
                return Ok(p.keys.clone());
            }
        }
        let keys = Arc::new(KeySet::from_json(&record.keys)?);
        let parsed = Arc::new(Parsed {
            source: Source::Record(Arc::downgrade(record)),
            keys: keys.clone(),
        });
        self.inner.insert(key, parsed).await;
        Ok(keys)
    }

    /// The parsed keys of the registry's client `client_id` at stored `version`: `keys`
    /// (the JWK Set the registry holds now) parsed on the first lookup, remembered until a
    /// lookup with another version or other key bytes replaces them. The bytes are part of
    /// the identity: two registries (or a database restored from a backup) can hold the same
    /// client id at the same version with different keys, and a write that does not bump
    /// the version must not leave a replica on the keys it replaced.
    pub(crate) async fn stored_keys_of(
        &self,
        client_id: &str,
        entity_type: &EntityType,
        version: i64,
        keys: serde_json::Value,
    ) -> Result<Arc<KeySet>, JoseError> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        keys.to_string().hash(&mut h);
        let digest = h.finish();
        let key = (Owner::Stored(client_id.to_string()), entity_type.clone());
        if let Some(p) = self.inner.get(&key).await {
            if matches!(p.source, Source::Stored(v, d) if v == version && d == digest) {
                return Ok(p.keys.clone());
            }
        }
        let parsed_keys = Arc::new(KeySet::from_json(&keys)?);
        let parsed = Arc::new(Parsed {
            source: Source::Stored(version, digest),
            keys: parsed_keys.clone(),
        });
        self.inner.insert(key, parsed).await;
        Ok(parsed_keys)
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

    #[tokio::test]
    async fn a_stored_client_s_keys_are_parsed_once_per_version_and_key_bytes() {
        let jwks = crate::testing::TestKey::generate(KeyAlg::ES256).public_jwks();
        let cache = ClientKeyCache::new(10);
        let rp = EntityType::OPENID_RELYING_PARTY;
        let first = cache
            .stored_keys_of("dcr-1", &rp, 3, jwks.clone())
            .await
            .unwrap();
        let again = cache
            .stored_keys_of("dcr-1", &rp, 3, jwks.clone())
            .await
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "parsed once per stored version"
        );
        let next = cache
            .stored_keys_of("dcr-1", &rp, 4, jwks.clone())
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &next), "a new version is parsed anew");
        assert_eq!(next.len(), 1);
        // The same id at the same version with other keys (another registry, a restored
        // database, a write that did not bump the version) is never answered from the
        // entry of the first keys.
        let other = crate::testing::TestKey::generate(KeyAlg::ES256).public_jwks();
        let theirs = cache
            .stored_keys_of("dcr-1", &rp, 4, other.clone())
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&next, &theirs));
        assert_eq!(
            theirs.keys().first().map(|k| k.kid().to_string()),
            other["keys"][0]["kid"].as_str().map(str::to_string)
        );
        // Another client with the same version is its own entry.
        let two = cache
            .stored_keys_of("dcr-2", &rp, 4, jwks.clone())
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&two, &next));
    }
}
