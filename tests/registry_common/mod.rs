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
