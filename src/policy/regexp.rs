//! `regexp`, a checking operator several production federations use (it is the example of
//! `metadata_policy_crit` in §3.3). The operator value is a pattern, or an array of patterns
//! that must all match; a string parameter must match, and so must every string of an array
//! parameter. Patterns are compiled with a size limit and matched in linear time, so a
//! hostile pattern cannot stall resolution; and one application has a work budget (bytes of
//! the parameter × patterns, [`DEFAULT_MAX_WORK`] unless [`Regexp::with_max_work`] says
//! otherwise), so many patterns over a large parameter cannot either.
//!
//! ```
//! use oidfed::policy::{regexp::Regexp, EntityTypePolicy, OperatorRegistry};
//! use serde_json::json;
//! use std::sync::Arc;
//!
//! let mut ops = OperatorRegistry::default();
//! ops.register(Arc::new(Regexp::default()))?;
//! let policy = EntityTypePolicy::from_json_for(
//!     "openid_relying_party",
//!     &json!({"redirect_uris": {"regexp": "^https://[a-z.]+\\.example/"}}),
//!     &ops,
//! )?;
//! let ok = json!({"redirect_uris": ["https://rp.example/cb"]});
//! assert!(policy.apply_with(ok.as_object().unwrap(), &ops).is_ok());
//! let bad = json!({"redirect_uris": ["https://evil.test/cb"]});
//! assert!(policy.apply_with(bad.as_object().unwrap(), &ops).is_err());
//! # Ok::<(), oidfed::policy::PolicyError>(())
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::{OperatorKind, PolicyOperator};

/// Most patterns one `regexp` value may hold after merges.
const MAX_PATTERNS: usize = 16;
/// Longest pattern accepted.
const MAX_PATTERN_LEN: usize = 1024;
/// Compiled program size limit.
const SIZE_LIMIT: usize = 1 << 20;
/// Compiled patterns kept for reuse.
const CACHE: usize = 256;

/// The default work budget of one application: bytes checked × patterns (1 MiB, enough for
/// the largest statement the resolver accepts by default against 16 patterns).
pub const DEFAULT_MAX_WORK: usize = 1 << 20;

/// The `regexp` operator. Compiled patterns are cached.
pub struct Regexp {
    compiled: Mutex<HashMap<String, Regex>>,
    max_work: usize,
}

impl Default for Regexp {
    fn default() -> Self {
        Self {
            compiled: Mutex::default(),
            max_work: DEFAULT_MAX_WORK,
        }
    }
}

impl Regexp {
    /// The operator with a work budget of `max_work` (bytes of the parameter × patterns)
    /// for one application; a parameter beyond it is refused, not matched.
    ///
    /// ```
    /// use oidfed::policy::{regexp::Regexp, PolicyOperator};
    /// use serde_json::json;
    /// let r = Regexp::with_max_work(100);
    /// let patterns = json!(["^a", "b$"]);
    /// assert!(r.apply(&patterns, Some(&json!("a".repeat(40) + "b"))).is_ok()); // 41 × 2
    /// assert!(r.apply(&patterns, Some(&json!("a".repeat(60) + "b"))).is_err()); // 61 × 2
    /// ```
    pub fn with_max_work(max_work: usize) -> Self {
        Self {
            max_work,
            ..Self::default()
        }
    }

    fn patterns(v: &Value) -> Result<Vec<&str>, String> {
        let list: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .map(|p| p.as_str().ok_or_else(|| format!("{p} is not a pattern")))
                .collect::<Result<_, _>>()?,
            other => {
                return Err(format!(
                    "regexp takes a pattern or an array of patterns, not {other}"
                ));
            }
        };
        if list.len() > MAX_PATTERNS {
            return Err(format!("more than {MAX_PATTERNS} patterns"));
        }
        Ok(list)
    }

    fn compile(&self, pattern: &str) -> Result<Regex, String> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(format!("pattern longer than {MAX_PATTERN_LEN} bytes"));
        }
        let mut cache = self
            .compiled
            .lock()
            .map_err(|_| "regexp cache poisoned".to_string())?;
        if let Some(r) = cache.get(pattern) {
            return Ok(r.clone());
        }
        let r = RegexBuilder::new(pattern)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| format!("invalid pattern {pattern:?}: {e}"))?;
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.insert(pattern.to_string(), r.clone());
        Ok(r)
    }
}

impl PolicyOperator for Regexp {
    fn name(&self) -> &str {
        "regexp"
    }

    fn kind(&self) -> OperatorKind {
        OperatorKind::Check
    }

    fn validate(&self, value: &Value) -> Result<(), String> {
        for p in Self::patterns(value)? {
            self.compile(p)?;
        }
        Ok(())
    }

    /// Both levels' patterns must match: the merged value lists them all.
    fn merge(&self, superior: &Value, subordinate: &Value) -> Result<Value, String> {
        let mut all: Vec<Value> = Vec::new();
        for p in Self::patterns(superior)?
            .into_iter()
            .chain(Self::patterns(subordinate)?)
        {
            let p = Value::String(p.to_string());
            if !all.contains(&p) {
                all.push(p);
            }
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Value::Array(all)
        })
    }

    fn apply(&self, value: &Value, parameter: Option<&Value>) -> Result<Option<Value>, String> {
        let Some(param) = parameter else {
            return Ok(None);
        };
        let strings: Vec<&str> = match param {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().ok_or_else(|| format!("regexp cannot check {x}")))
                .collect::<Result<_, _>>()?,
            other => return Err(format!("regexp cannot check {other}")),
        };
        let patterns = Self::patterns(value)?;
        let bytes: usize = strings.iter().map(|s| s.len()).sum();
        let work = bytes.saturating_mul(patterns.len());
        if work > self.max_work {
            return Err(format!(
                "matching {bytes} bytes against {} patterns exceeds the work budget of {}",
                patterns.len(),
                self.max_work
            ));
        }
        for p in patterns {
            let r = self.compile(p)?;
            if let Some(s) = strings.iter().find(|s| !r.is_match(s)) {
                return Err(format!("{s:?} does not match {p:?}"));
            }
        }
        Ok(Some(param.clone()))
    }
}
