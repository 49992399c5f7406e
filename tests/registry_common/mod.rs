//! Helpers of the registry tests: every scenario runs on both engines, SQLite on a
//! temporary file and PostgreSQL on a throwaway server of its own.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use oidfed::testing::postgres::TestPostgres;

/// A database for one scenario; dropping it removes it (file, or server and directory).
pub struct Db {
    pub url: String,
    pub engine: &'static str,
    pub pg: Option<TestPostgres>,
    file: Option<PathBuf>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
    }
}

static N: AtomicU64 = AtomicU64::new(0);

/// A fresh SQLite file in the temporary directory.
pub fn sqlite() -> Db {
    let path = std::env::temp_dir().join(format!(
        "oidfed-registry-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&path);
    Db {
        url: format!("sqlite://{}", path.display()),
        engine: "sqlite",
        pg: None,
        file: Some(path),
    }
}

/// A fresh PostgreSQL server. Fails (does not skip) when PostgreSQL is not installed.
pub fn postgres() -> Db {
    let pg = TestPostgres::launch().unwrap_or_else(|e| panic!("{e}"));
    Db {
        url: pg.url(),
        engine: "postgres",
        pg: Some(pg),
        file: None,
    }
}

/// Both engines, SQLite first.
pub fn both() -> [fn() -> Db; 2] {
    [sqlite, postgres]
}

/// Runs `scenario` on SQLite, then on PostgreSQL, each on a fresh database.
pub async fn on_both<F, Fut>(scenario: F)
where
    F: Fn(Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for make in both() {
        let db = make();
        eprintln!("-- engine {}", db.engine);
        scenario(db).await;
    }
}

use oidfed::fetch::{BoxFuture, FetchError, FetchRequest, FetchResponse, Fetcher, MemoryFetcher};

/// A fetcher that answers like `inner` after `delay`: a sweep that takes long enough to be
/// interrupted.
#[derive(Clone)]
pub struct SlowFetcher {
    pub inner: MemoryFetcher,
    pub delay: std::time::Duration,
}

impl Fetcher for SlowFetcher {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.fetch(request).await
        })
    }
}

/// Every fixed route of `f` as JSON (url → status, content type, body), for a child
/// process to serve the same federation.
pub fn dump_routes(f: &MemoryFetcher) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for url in f.urls() {
        if let Some(r) = f.get(&url) {
            out.insert(
                url,
                serde_json::json!({
                    "status": r.status,
                    "content_type": r.content_type,
                    "body": String::from_utf8(r.body).expect("UTF-8 body"),
                }),
            );
        }
    }
    serde_json::Value::Object(out)
}

/// A fetcher serving routes dumped by [`dump_routes`].
pub fn load_routes(v: &serde_json::Value) -> MemoryFetcher {
    let f = MemoryFetcher::new();
    for (url, r) in v.as_object().expect("routes") {
        f.insert(
            url,
            FetchResponse {
                status: r["status"].as_u64().expect("status") as u16,
                content_type: r["content_type"].as_str().map(str::to_string),
                body: r["body"].as_str().expect("body").as_bytes().to_vec(),
            },
        );
    }
    f
}
