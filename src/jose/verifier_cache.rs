//! Verifier cells shared, process-wide, by keys with the same public material.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde_json::{Map, Value};

use super::{Verifier, VerifierError};

pub(super) type VerifierCells = [OnceLock<Result<Arc<Verifier>, VerifierError>>; 10];

/// Verifier cells shared by every live [`Key`] with the same public material (and the same
/// `use`/`key_ops`, which are checked when building): the subject's own `jwks`, its
/// superior's assertion of it and a pinned anchor key then build one verifier, not three.
/// Entries are weak: a verifier lives as long as some statement holds its key. Only parsing
/// (the cold path) takes this lock; verifying never does.
pub(super) fn shared_cells(
    json: &Map<String, Value>,
    thumbprint: Option<&str>,
) -> Arc<VerifierCells> {
    let Some(t) = thumbprint else {
        return Arc::new(Default::default());
    };
    let key = format!(
        "{t}|{}|{}",
        json.get("use").map(Value::to_string).unwrap_or_default(),
        json.get("key_ops")
            .map(Value::to_string)
            .unwrap_or_default()
    );
    let Ok(mut table) = shared_table().lock() else {
        return Arc::new(Default::default());
    };
    if let Some(cells) = table.get(&key).and_then(Weak::upgrade) {
        return cells;
    }
    if table.len() >= 4096 {
        table.retain(|_, w| w.strong_count() > 0);
    }
    let cells: Arc<VerifierCells> = Arc::new(Default::default());
    table.insert(key, Arc::downgrade(&cells));
    cells
}

type SharedTable = Mutex<HashMap<String, Weak<VerifierCells>>>;

/// The process-wide table of [`shared_cells`].
fn shared_table() -> &'static SharedTable {
    static TABLE: OnceLock<SharedTable> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// How many key materials have verifier cells alive in the process-wide table that lets
/// keys with the same material share one verifier (a cell lives as long as some [`Key`](super::Key)
/// holds it). For benchmarks and tests that must start cold: 0 means no verifier built by
/// an earlier resolution can be reused. (The three NIST curve groups are built once per
/// process and kept: they are constants, not state of any key.)
///
/// ```
/// use oidfed::jose::{Key, shared_verifiers_alive};
/// let jwk = serde_json::json!({"kty": "EC", "kid": "k", "crv": "P-256",
///     "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
///     "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"});
/// let before = shared_verifiers_alive();
/// let key = Key::from_json(&jwk).unwrap();
/// assert!(shared_verifiers_alive() >= 1);
/// drop(key);
/// # let _ = before;
/// ```
pub fn shared_verifiers_alive() -> usize {
    shared_table()
        .lock()
        .map(|t| t.values().filter(|w| w.strong_count() > 0).count())
        .unwrap_or(0)
}
