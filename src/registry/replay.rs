//! The replay guard in the registry's database, shared by every handle and replica: a
//! `jti` is accepted once per client until it expires, even when two replicas see it at
//! the same moment (one `INSERT … ON CONFLICT` decides).

use std::sync::atomic::{AtomicU64, Ordering};

use super::Registry;
use crate::error::Error;

pub use crate::server::BoxFuture;

/// Calls between purges of expired replay entries.
const PURGE_EVERY: u64 = 256;

static CALLS: AtomicU64 = AtomicU64::new(0);

impl Registry {
    /// Records `jti` of `client_id`, keeping it until `keep_until` (the token's `exp` plus
    /// the clock skew). `Ok(true)` the first time, `Ok(false)` for a replay — on any handle
    /// of the same database.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let registry = oidfed::registry::Registry::open("sqlite::memory:").await.unwrap();
    /// assert!(registry.first_use("https://rp.example", "j1", 200, 100).await.unwrap());
    /// assert!(!registry.first_use("https://rp.example", "j1", 200, 150).await.unwrap());
    /// # });
    /// ```
    pub async fn first_use(
        &self,
        client_id: &str,
        jti: &str,
        keep_until: i64,
        now: i64,
    ) -> Result<bool, Error> {
        if CALLS.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            if let Err(e) = self.store.purge_replay(now).await {
                tracing::warn!(target: "oidfed::registry", error = %e, "replay purge failed");
            }
        }
        Ok(self
            .store
            .first_use(client_id, jti, keep_until, now)
            .await?)
    }
}

/// Every handle on one database is one replay guard: a `jti` used through any replica is
/// refused by all of them until it is no longer kept.
impl crate::server::ReplayGuard for Registry {
    fn first_use<'a>(
        &'a self,
        client_id: &'a str,
        jti: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(Registry::first_use(self, client_id, jti, keep_until, now))
    }
}
