//! A memo of verified statement bytes, shared by every resolution of one resolver: keyed by
//! the SHA-256 of the compact JWS and the verifying key's thumbprint, bounded, each entry
//! dropped at the statement's `exp`. A statement fetched anew (a forced refresh, a sweep)
//! whose bytes are unchanged costs no signature check; changed bytes are verified.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Clock;

/// SHA-256 of a statement's compact serialization.
pub(crate) type Digest = [u8; 32];

/// Verified (statement bytes, key) pairs; see the module documentation.
pub(crate) struct VerifiedMemo {
    entries: Mutex<HashMap<(Digest, String), i64>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
    checks: AtomicU64,
}

impl VerifiedMemo {
    pub(crate) fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::default(),
            capacity: capacity.max(1),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// The digest of `raw`.
    pub(crate) fn digest(raw: &str) -> Digest {
        let mut out = [0u8; 32];
        let d = openssl::sha::sha256(raw.as_bytes());
        out.copy_from_slice(&d);
        out
    }

    /// Whether these bytes verified with the key of `thumbprint` and have not expired.
    pub(crate) fn contains(&self, digest: &Digest, thumbprint: &str) -> bool {
        let now = self.clock.now();
        let Ok(map) = self.entries.lock() else {
            return false;
        };
        map.get(&(*digest, thumbprint.to_string()))
            .is_some_and(|exp| now < *exp)
    }

    /// Remembers a successful verification until `exp`. When full, expired entries go
    /// first, and if none has expired the memo starts over (bounded memory; the only cost
    /// is signature checks again).
    pub(crate) fn insert(&self, digest: Digest, thumbprint: String, exp: i64) {
        let now = self.clock.now();
        if exp <= now {
            return;
        }
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= self.capacity {
            map.retain(|_, e| now < *e);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert((digest, thumbprint), exp);
    }

    /// Counts one signature actually checked.
    pub(crate) fn count_check(&self) {
        self.checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Signature checks of fetched statements so far.
    pub(crate) fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}
