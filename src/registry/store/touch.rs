//! The one write a re-validation that found nothing new makes: the time it happened,
//! for many clients in one statement and one transaction.
//!
//! A monitor pass over 10,000 unchanged clients would otherwise commit 10,000
//! transactions, each rewriting a record identical to the stored one (for SQLite, a
//! round trip to the connection's worker thread and an `fsync` each). A touch sets
//! `last_validated` only, and only where the row is still at the version the
//! re-validation read: a client another writer changed meanwhile (an operator's
//! revocation, another replica's pass) is left as that writer made it, and reported as
//! not written. The version is not bumped, so nothing keyed by it (parsed keys, replicas'
//! caches) is invalidated by a re-validation that changed nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use super::{Store, with_pool};
use crate::record::ClientRecord;
use crate::registry::error::RegistryError;

/// Records remembered at most; past it the memory is cleared and digests are computed
/// again (a few µs of serialization and SHA-256 for a 4 KB record).
const DIGESTS_KEPT: usize = 1 << 20;

/// The digest of what a record says (`oidfed_clients.record_digest`): SHA-256, base64url,
/// of its JSON without `resolved_at`, so a record built again from the same statements
/// (its keys fetched from a `jwks_uri`, its trust marks re-checked) has the digest of the
/// stored one, as [`ClientRecord::same_content`] has it equal.
pub(crate) fn digest_of(record: &ClientRecord) -> Option<String> {
    let mut value = serde_json::to_value(record).ok()?;
    value.as_object_mut()?.remove("resolved_at");
    Some(crate::jose::b64url(&openssl::sha::sha256(
        value.to_string().as_bytes(),
    )))
}

/// The digest of the record last written or compared for each client, with the record it
/// belongs to (held weakly: the resolver's memo holds the record itself), so an unchanged
/// re-validation, which gets the very record the memo holds, is compared with the stored
/// one by one string comparison.
#[derive(Default)]
pub(crate) struct RecordDigests {
    known: Mutex<HashMap<String, (Weak<ClientRecord>, String)>>,
}

impl RecordDigests {
    pub(crate) fn remember(&self, client_id: String, record: Weak<ClientRecord>, digest: String) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= DIGESTS_KEPT {
                known.clear();
            }
            known.insert(client_id, (record, digest));
        }
    }

    /// The digest `record` would be stored with.
    pub(crate) fn digest(&self, client_id: &str, record: &Arc<ClientRecord>) -> Option<String> {
        let weak = Arc::downgrade(record);
        if let Ok(known) = self.known.lock() {
            if let Some((r, d)) = known.get(client_id) {
                if Weak::ptr_eq(r, &weak) {
                    return Some(d.clone());
                }
            }
        }
        let digest = digest_of(record)?;
        self.remember(client_id.to_string(), weak, digest.clone());
        Some(digest)
    }
}

/// Clients per statement: two bound values each. Kept small: the SQLite driver looks each
/// bound parameter up by position among all of them, so a statement's binding time grows
/// with the square of its parameters (1,000 clients per statement cost more than ten
/// statements of 100).
const CHUNK: usize = 100;

/// One client to touch: re-validated at `at`, unchanged since it was read at `version`.
#[derive(Debug, Clone)]
pub(crate) struct Touch {
    pub client_id: String,
    pub version: i64,
    pub at: i64,
}

impl Store {
    /// Records the validation time of every client of `touches` still at the version read, in
    /// one transaction; returns the client_ids written (the others were changed by
    /// another writer first). An error writes nothing.
    pub(crate) async fn touch(&self, touches: &[Touch]) -> Result<HashSet<String>, RegistryError> {
        let mut written = HashSet::with_capacity(touches.len());
        if touches.is_empty() {
            return Ok(written);
        }
        let err = |e| self.err(e);
        // Grouped by time: a pass re-validates on one clock, so this is one group as a rule.
        let mut by_time: Vec<(i64, Vec<&Touch>)> = Vec::new();
        for t in touches {
            match by_time.iter_mut().find(|(at, _)| *at == t.at) {
                Some((_, group)) => group.push(t),
                None => by_time.push((t.at, vec![t])),
            }
        }
        with_pool!(self, p => {
            let mut tx = p.begin().await.map_err(err)?;
            // Under the lock every writer holds: two replicas' touches of the same rows
            // never lock them in opposite orders (a deadlock would lose the batch).
            super::advisory_lock!(self, tx, super::clients::WRITE_LOCK, err);
            for (at, group) in &by_time {
                for chunk in group.chunks(CHUNK) {
                    // Never backwards: touches of two replicas may commit in any order.
                    let sql = format!(
                        "UPDATE oidfed_clients SET last_validated = CASE WHEN \
                         oidfed_clients.last_validated < $1 THEN $1 \
                         ELSE oidfed_clients.last_validated END FROM (VALUES {}) AS \
                         touched WHERE oidfed_clients.client_id = touched.column1 \
                         AND oidfed_clients.version = touched.column2",
                        values(chunk.len(), 2)
                    );
                    let mut q = sqlx::query(&sql).bind(*at);
                    for t in chunk {
                        q = q.bind(&t.client_id).bind(t.version);
                    }
                    let done = q.execute(&mut *tx).await.map_err(err)?;
                    if usize::try_from(done.rows_affected()).ok() == Some(chunk.len()) {
                        written.extend(chunk.iter().map(|t| t.client_id.clone()));
                        continue;
                    }
                    // Some were changed by another writer: those still at the version read
                    // are the ones written (a touch leaves the version as it was).
                    let sql = format!(
                        "SELECT c.client_id FROM oidfed_clients c JOIN (VALUES {}) AS touched \
                         ON c.client_id = touched.column1 AND c.version = touched.column2",
                        values(chunk.len(), 1)
                    );
                    let mut q = sqlx::query_as::<_, (String,)>(&sql);
                    for t in chunk {
                        q = q.bind(&t.client_id).bind(t.version);
                    }
                    written.extend(q.fetch_all(&mut *tx).await.map_err(err)?.into_iter().map(|r| r.0));
                }
            }
            tx.commit().await.map_err(err)?;
        });
        Ok(written)
    }
}

/// `($first, $first+1), …` for `n` clients, typed for PostgreSQL: a join on the primary
/// key (`UPDATE … FROM`: SQLite 3.33+, PostgreSQL), so each client is one index lookup.
fn values(n: usize, first: usize) -> String {
    let mut sql = String::with_capacity(n * 16);
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        let p = first + 2 * i;
        sql.push_str(&format!("(CAST(${p} AS TEXT), CAST(${} AS BIGINT))", p + 1));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::values;

    #[test]
    fn two_values_per_client_after_the_time() {
        assert_eq!(
            values(2, 2),
            "(CAST($2 AS TEXT), CAST($3 AS BIGINT)), (CAST($4 AS TEXT), CAST($5 AS BIGINT))"
        );
    }
}
