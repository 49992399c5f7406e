//! Persisting the pinned Trust Anchor configuration ([`AnchorStore`]), so a key learnt by a
//! rollover (§11.2) survives a restart.
//!
//! **The seam.** A [`crate::anchors::TrustAnchorsHandle`] with a store calls
//! [`AnchorStore::save`] with the complete new set *before* the set takes effect; if `save`
//! fails, the change is refused ([`crate::anchors::AnchorError::Store`]) and the old set stays.
//! At start-up, [`AnchorStore::load`] gives the anchors to hand to
//! [`crate::ResolverBuilder::anchor`]. Two implementations are here ([`MemoryAnchorStore`],
//! [`FileAnchorStore`]); a registry keeping its state in a database implements the same trait
//! (its `save` runs in the same transaction as its audit entry).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use oidfed::anchor_store::{AnchorStore, FileAnchorStore};
//! use oidfed::testing::FederationBuilder;
//! use oidfed::{Resolver, TrustAnchor};
//!
//! let fed = FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
//! let dir = std::env::temp_dir().join(format!("oidfed-doc-anchors-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let store = Arc::new(FileAnchorStore::new(dir.join("anchors.json")));
//! let resolver = Resolver::builder()
//!     .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
//!     .fetcher(fed.fetcher())
//!     .build()
//!     .unwrap();
//! resolver.trust_anchors_handle().set_store(Some(store.clone()));
//! let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
//! assert!(resolver.trust_anchors_handle().add(ta2).await.unwrap().persisted);
//!
//! // After a restart:
//! let mut builder = Resolver::builder().fetcher(fed.fetcher());
//! for anchor in store.load().await.unwrap().unwrap() {
//!     builder = builder.anchor(anchor);
//! }
//! assert_eq!(builder.build().unwrap().trust_anchors().anchors().len(), 2);
//! # std::fs::remove_dir_all(&dir).ok();
//! # });
//! ```

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde_json::{Value, json};

use crate::anchors::AnchorSet;
use crate::chain::TrustAnchor;
use crate::fetch::BoxFuture;
use crate::json::parse_object;

/// Largest anchor file [`FileAnchorStore::load`] reads.
pub const MAX_ANCHOR_FILE_BYTES: u64 = 1024 * 1024;

/// Why the anchor configuration could not be stored or loaded.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use oidfed::anchor_store::{AnchorStore, AnchorStoreError, FileAnchorStore};
/// let path = std::env::temp_dir().join(format!("oidfed-doc-{}-bad-anchors.json", std::process::id()));
/// std::fs::write(&path, b"{\"generation\": 1}").unwrap(); // no trust_anchors
/// let e = FileAnchorStore::new(&path).load().await.unwrap_err();
/// assert!(matches!(e, AnchorStoreError::Format { .. }));
/// # std::fs::remove_file(&path).ok();
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorStoreError {
    /// Reading or writing the file failed.
    #[error("anchor store {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// The stored document is not a valid anchor configuration.
    #[error("anchor store {path}: malformed: {detail}")]
    Format {
        /// Where it was read.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Another backend (e.g. a registry database) failed.
    #[error("anchor store: {0}")]
    Backend(String),
}

/// Where the pinned anchors are kept (see the module documentation for the contract).
///
/// A store that refuses every write makes every anchor change fail, and the old set stay:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
///
/// use oidfed::anchor_store::{AnchorStore, AnchorStoreError};
/// use oidfed::anchors::{AnchorError, AnchorSet};
/// use oidfed::fetch::BoxFuture;
/// use oidfed::TrustAnchor;
/// struct ReadOnly;
/// impl AnchorStore for ReadOnly {
///     fn save<'a>(&'a self, _set: &'a AnchorSet) -> BoxFuture<'a, Result<(), AnchorStoreError>> {
///         Box::pin(async { Err(AnchorStoreError::Backend("read-only".into())) })
///     }
///     fn load(&self) -> BoxFuture<'_, Result<Option<Vec<TrustAnchor>>, AnchorStoreError>> {
///         Box::pin(async { Ok(None) })
///     }
/// }
/// let anchors = resolver.trust_anchors_handle();
/// anchors.set_store(Some(std::sync::Arc::new(ReadOnly)));
/// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
/// assert!(matches!(anchors.add(ta2).await, Err(AnchorError::Store(_))));
/// assert_eq!(anchors.generation(), 0);
/// # });
/// ```
pub trait AnchorStore: Send + Sync + 'static {
    /// Stores `set` as the complete configuration. Called before the set takes effect.
    fn save<'a>(&'a self, set: &'a AnchorSet) -> BoxFuture<'a, Result<(), AnchorStoreError>>;
    /// The stored configuration (`None` when nothing was stored yet).
    fn load(&self) -> BoxFuture<'_, Result<Option<Vec<TrustAnchor>>, AnchorStoreError>>;
}

/// The document both stores use: `{"generation": n, "trust_anchors": [{"entity_id", "jwks"}]}`.
fn to_document(set: &AnchorSet) -> Value {
    let anchors: Vec<Value> = set
        .anchors()
        .iter()
        .map(|a| json!({"entity_id": a.id().as_str(), "jwks": a.keys().to_json()}))
        .collect();
    json!({"generation": set.generation(), "trust_anchors": anchors})
}

fn from_document(doc: &[u8], path: &str) -> Result<Vec<TrustAnchor>, AnchorStoreError> {
    let format = |detail: String| AnchorStoreError::Format {
        path: path.to_string(),
        detail,
    };
    let obj = parse_object(doc).map_err(|e| format(e.to_string()))?;
    let list = obj
        .get("trust_anchors")
        .and_then(Value::as_array)
        .ok_or_else(|| format("trust_anchors is missing or not an array".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let id = a
                .get("entity_id")
                .and_then(Value::as_str)
                .ok_or_else(|| format(format!("anchor {i}: entity_id missing")))?;
            let jwks = a
                .get("jwks")
                .ok_or_else(|| format(format!("anchor {i}: jwks missing")))?;
            // The scheme is judged by the resolver the anchors are handed to.
            TrustAnchor::new_with(id, jwks, true).map_err(|e| format(format!("anchor {i}: {e}")))
        })
        .collect()
}

/// Keeps the configuration in memory (tests, or a process that persists it elsewhere).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
///
/// use std::sync::Arc;
/// use oidfed::anchor_store::{AnchorStore, MemoryAnchorStore};
/// use oidfed::TrustAnchor;
/// let store = Arc::new(MemoryAnchorStore::new());
/// assert!(store.load().await.unwrap().is_none());
/// resolver.trust_anchors_handle().set_store(Some(store.clone()));
/// let ta2 = TrustAnchor::new(fed.id("ta2").as_str(), &fed.public_jwks("ta2")).unwrap();
/// resolver.trust_anchors_handle().add(ta2).await.unwrap();
/// assert_eq!((store.saves(), store.saved_generation()), (1, Some(1)));
/// assert_eq!(store.load().await.unwrap().unwrap().len(), 2);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryAnchorStore {
    saved: Mutex<Option<(u64, Vec<u8>)>>,
    saves: Mutex<usize>,
}

impl MemoryAnchorStore {
    /// An empty store. See the [`MemoryAnchorStore`] example.
    pub fn new() -> Self {
        Self::default()
    }

    /// The generation last saved, if any. See the [`MemoryAnchorStore`] example.
    pub fn saved_generation(&self) -> Option<u64> {
        self.saved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(g, _)| *g)
    }

    /// How many times `save` was called. See the [`MemoryAnchorStore`] example.
    pub fn saves(&self) -> usize {
        *self.saves.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AnchorStore for MemoryAnchorStore {
    fn save<'a>(&'a self, set: &'a AnchorSet) -> BoxFuture<'a, Result<(), AnchorStoreError>> {
        Box::pin(async move {
            let doc = to_document(set).to_string().into_bytes();
            *self.saved.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((set.generation(), doc));
            *self.saves.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            Ok(())
        })
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<Vec<TrustAnchor>>, AnchorStoreError>> {
        Box::pin(async move {
            let saved = self
                .saved
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            saved
                .map(|(_, doc)| from_document(&doc, "memory"))
                .transpose()
        })
    }
}

/// Keeps the configuration in a JSON file, replaced atomically (written to `<file>.tmp`,
/// then renamed).
///
/// See also the module example (a restart).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example").anchor("ta").anchor("ta2").build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
///
/// use std::sync::Arc;
/// use oidfed::anchor_store::{AnchorStore, FileAnchorStore};
/// let path = std::env::temp_dir().join(format!("oidfed-doc-{}-file-anchors.json", std::process::id()));
/// # std::fs::remove_file(&path).ok();
/// let store = Arc::new(FileAnchorStore::new(&path));
/// assert!(store.load().await.unwrap().is_none()); // no file yet
/// resolver.trust_anchors_handle().set_store(Some(store.clone()));
/// resolver.trust_anchors_handle().replace_keys(&fed.id("ta"), &fed.public_jwks("ta2")).await.unwrap();
/// let loaded = FileAnchorStore::new(&path).load().await.unwrap().unwrap();
/// assert_eq!(loaded[0].keys().keys()[0].kid(), fed.key("ta2").kid());
/// # std::fs::remove_file(&path).ok();
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct FileAnchorStore {
    path: PathBuf,
}

impl FileAnchorStore {
    /// A store at `path`; see the [`FileAnchorStore`] example.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn io(&self, e: std::io::Error) -> AnchorStoreError {
        AnchorStoreError::Io {
            path: self.path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

impl AnchorStore for FileAnchorStore {
    fn save<'a>(&'a self, set: &'a AnchorSet) -> BoxFuture<'a, Result<(), AnchorStoreError>> {
        Box::pin(async move {
            let doc = to_document(set).to_string();
            let path = self.path.clone();
            let mut tmp = path.clone().into_os_string();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            let written = tokio::task::spawn_blocking(move || {
                std::fs::write(&tmp, doc)?;
                std::fs::rename(&tmp, &path)
            })
            .await
            .map_err(|e| AnchorStoreError::Backend(format!("the writer task failed: {e}")))?;
            written.map_err(|e| self.io(e))
        })
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<Vec<TrustAnchor>>, AnchorStoreError>> {
        Box::pin(async move {
            let path = self.path.clone();
            let read = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<u8>>> {
                let meta = match std::fs::metadata(&path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                if meta.len() > MAX_ANCHOR_FILE_BYTES {
                    return Ok(Some(Vec::new()));
                }
                std::fs::read(&path).map(Some)
            })
            .await
            .map_err(|e| AnchorStoreError::Backend(format!("the reader task failed: {e}")))?
            .map_err(|e| self.io(e))?;
            match read {
                None => Ok(None),
                Some(doc) if doc.is_empty() => Err(AnchorStoreError::Format {
                    path: self.path.display().to_string(),
                    detail: format!("empty or larger than {MAX_ANCHOR_FILE_BYTES} bytes"),
                }),
                Some(doc) => from_document(&doc, &self.path.display().to_string()).map(Some),
            }
        })
    }
}
