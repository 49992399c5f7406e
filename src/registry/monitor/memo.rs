//! The per-pass fetch memo and counter. Statements are fetched once per pass by the pass's
//! memo of statements ([`crate::resolver::SweepMemo`]: a thousand clients under one
//! intermediate fetch its configuration once); every other request of the pass (signed JWK
//! Sets, `jwks_uri`, trust mark status, subordinate events) reaches the network once per
//! distinct (method, URL, form) here. Every request that reaches the network is counted.
//!
//! Failures are remembered too: an unreachable superior is asked once per pass, not once per
//! client below it. The memo lives only as long as its pass, and holds at most
//! `max_entries` answers (each already bounded by the wrapped fetcher's size cap); past
//! that, requests go to the network unmemoised rather than growing memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::fetch::{
    BoxFuture, FetchError, FetchKind, FetchRequest, FetchResponse, Fetcher, Method,
};

type Key = (bool, String, Vec<(String, String)>);
type Cell = Arc<OnceCell<Result<FetchResponse, FetchError>>>;

/// A [`Fetcher`] that answers repeated requests of one pass from memory and counts what
/// reached the network.
pub(crate) struct PassFetcher {
    inner: Arc<dyn Fetcher>,
    memo: Mutex<HashMap<Key, Cell>>,
    max_entries: usize,
    fetches: AtomicU64,
    requests: AtomicU64,
}

impl PassFetcher {
    pub(crate) fn new(inner: Arc<dyn Fetcher>, max_entries: usize) -> Self {
        Self {
            inner,
            memo: Mutex::new(HashMap::new()),
            max_entries,
            fetches: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Requests that reached the wrapped fetcher.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Requests asked of this fetcher, answered from memory or not.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn cell(&self, key: Key) -> Option<Cell> {
        let mut memo = match self.memo.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(c) = memo.get(&key) {
            return Some(c.clone());
        }
        if memo.len() >= self.max_entries {
            return None;
        }
        let c = Cell::default();
        memo.insert(key, c.clone());
        Some(c)
    }

    async fn network(&self, request: FetchRequest) -> Result<FetchResponse, FetchError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        self.inner.fetch(request).await
    }
}

impl Fetcher for PassFetcher {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            // Statements are shared by the pass's memo of statements already (parsed, one
            // fetch each); memoising their bodies again would only double the memory.
            if matches!(
                request.kind,
                FetchKind::EntityConfiguration | FetchKind::SubordinateStatement
            ) {
                return self.network(request).await;
            }
            let key = (
                request.method == Method::Post,
                request.url.to_string(),
                request.form.clone(),
            );
            match self.cell(key) {
                Some(cell) => cell.get_or_init(|| self.network(request)).await.clone(),
                None => self.network(request).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::MemoryFetcher;

    #[tokio::test]
    async fn one_network_fetch_per_distinct_request() {
        let mem = MemoryFetcher::new();
        mem.insert(
            "https://a.example/x",
            FetchResponse::entity_statement("a.b.c"),
        );
        let f = PassFetcher::new(Arc::new(mem.clone()), 10);
        let url = url::Url::parse("https://a.example/x").unwrap();
        let missing = url::Url::parse("https://a.example/missing").unwrap();
        for _ in 0..5 {
            let r = f
                .fetch(FetchRequest::get(url.clone(), FetchKind::Other))
                .await;
            assert_eq!(r.unwrap().body, b"a.b.c");
            let e = f
                .fetch(FetchRequest::get(missing.clone(), FetchKind::Other))
                .await;
            assert!(matches!(e, Err(FetchError::NotFound { .. })));
        }
        assert_eq!(f.requests(), 10);
        assert_eq!(f.fetches(), 2);
        assert_eq!(mem.total_fetches(), 2);
    }

    #[tokio::test]
    async fn past_the_cap_requests_are_not_memoised() {
        let mem = MemoryFetcher::new();
        let f = PassFetcher::new(Arc::new(mem.clone()), 1);
        for u in [
            "https://a.example/1",
            "https://a.example/2",
            "https://a.example/2",
        ] {
            let url = url::Url::parse(u).unwrap();
            let _ = f.fetch(FetchRequest::get(url, FetchKind::Other)).await;
        }
        assert_eq!(f.fetches(), 3);
    }
}
