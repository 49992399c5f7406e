//! What every oidfed benchmark shares: the three-level federation, the work counters
//! (fetches and signature checks per operation) and the closing report of criterion's
//! **median** estimate with its 95 % confidence interval, read back from
//! `target/criterion/<id>/new/estimates.json` (never the slope).
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use criterion::Criterion;
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use oidfed::testing::{Federation, FederationBuilder};
use oidfed::{EntityType, FixedClock, Resolver};
use serde_json::{Value, json};

pub const NOW: i64 = 1_800_000_000;
pub const RP: EntityType = EntityType::OPENID_RELYING_PARTY;

/// anchor `ta` → intermediate `org` → leaf `rp`, ES256 throughout, one metadata policy.
pub fn federation() -> Federation {
    federation_with(|b| b)
}

/// [`federation`], with extra builder steps (e.g. a protocol key for the leaf).
pub fn federation_with(extra: impl FnOnce(FederationBuilder) -> FederationBuilder) -> Federation {
    let b = FederationBuilder::new("https://fed.example")
        .now(NOW)
        .anchor("ta")
        .intermediate("org", &["ta"])
        .leaf("rp", &["org"])
        .metadata(
            "rp",
            "openid_relying_party",
            json!({
                "client_name": "Bench RP",
                "redirect_uris": ["https://rp.example/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "private_key_jwt",
                "contacts": ["ops@rp.example"],
            }),
        )
        .metadata_policy(
            "ta",
            "org",
            json!({"openid_relying_party": {
                "grant_types": {"subset_of": ["authorization_code", "refresh_token"]},
                "token_endpoint_auth_method": {"one_of": ["private_key_jwt", "self_signed_tls_client_auth"]},
                "contacts": {"add": ["helpdesk@fed.example"]}
            }}),
        );
    extra(b).build()
}

/// A fresh resolver over `fed` (its own statement and record caches).
pub fn resolver(fed: &Federation) -> Resolver {
    Resolver::builder()
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(fed.fetcher())
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

/// Short runs for CI (`OIDFED_BENCH_QUICK=1`): figures printed, never asserted.
pub fn config() -> Criterion {
    let c = Criterion::default();
    if std::env::var("OIDFED_BENCH_QUICK").is_ok() {
        c.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(10)
    } else {
        c
    }
}

// ---- signature checks, counted through the `oidfed::metrics` facade ----

#[derive(Default)]
struct Count(AtomicU64);

impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// A recorder that keeps only counters, summed by name (labels ignored).
#[derive(Default)]
struct Counters {
    by_name: Mutex<HashMap<String, Arc<Count>>>,
}

impl Counters {
    fn get(&self, name: &str) -> Option<u64> {
        let m = self.by_name.lock().ok()?;
        m.get(name).map(|c| c.0.load(Ordering::Relaxed))
    }
}

impl metrics::Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let Ok(mut m) = self.by_name.lock() else {
            return Counter::noop();
        };
        if let Some(c) = m.get(key.name()) {
            return Counter::from_arc(c.clone());
        }
        let c = m.entry(key.name().to_string()).or_default().clone();
        Counter::from_arc(c)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

static RECORDER: OnceLock<&'static Counters> = OnceLock::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

fn recorder() -> &'static Counters {
    RECORDER.get_or_init(|| {
        let r: &'static Counters = Box::leak(Box::default());
        INSTALLED.store(metrics::set_global_recorder(r).is_ok(), Ordering::SeqCst);
        r
    })
}

/// The name of oidfed's signature-check counter (`oidfed::metrics::SIGNATURE_CHECKS_TOTAL`).
const SIGNATURE_CHECKS: &str = "oidfed_signature_checks_total";

/// Signature verifications the library has computed so far in this process; `None` when
/// the library never reported one (a build without the metrics facade).
pub fn signature_checks() -> Option<u64> {
    let r = recorder();
    INSTALLED.load(Ordering::SeqCst).then_some(())?;
    r.get(SIGNATURE_CHECKS)
}

/// The work one operation did: signature checks and fetches.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub signature_checks: Option<u64>,
    pub fetches: usize,
}

impl std::fmt::Display for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.signature_checks {
            Some(n) => write!(f, "{n} signature checks, {} fetches", self.fetches),
            None => write!(f, "signature checks not counted, {} fetches", self.fetches),
        }
    }
}

/// Counts the work of `op` (run once, outside any measurement).
pub fn work_of<T>(fetches: impl Fn() -> usize, op: impl FnOnce() -> T) -> (Work, T) {
    let (s0, f0) = (signature_checks(), fetches());
    let out = op();
    let (s1, f1) = (signature_checks(), fetches());
    let signature_checks = match (s0, s1) {
        (Some(a), Some(b)) => Some(b - a),
        (None, Some(b)) => Some(b),
        _ => None,
    };
    (
        Work {
            signature_checks,
            fetches: f1 - f0,
        },
        out,
    )
}

// ---- the closing report: criterion's median estimate and its confidence interval ----

/// Where criterion writes its estimates (`CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `target/criterion`).
fn criterion_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return h.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion")
}

/// criterion's median estimate of benchmark `id` (nanoseconds) with its 95 % confidence
/// bounds, when this process measured it (an estimates file older than `since` is an
/// earlier run's and is not reported).
pub fn median(id: &str, since: SystemTime) -> Option<(f64, f64, f64)> {
    let path = criterion_home().join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let m = &v["median"];
    let ci = &m["confidence_interval"];
    Some((
        m["point_estimate"].as_f64()?,
        ci["lower_bound"].as_f64()?,
        ci["upper_bound"].as_f64()?,
    ))
}

pub fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// One row of the closing report.
pub struct Row {
    pub id: String,
    pub work: Option<Work>,
}

impl Row {
    pub fn new(id: &str, work: Option<Work>) -> Self {
        Self {
            id: id.to_string(),
            work,
        }
    }
}

/// Prints each benchmark this run measured: median [95 % CI of the median], and its work.
/// Returns the medians by id, for ratios.
pub fn report(rows: &[Row], since: SystemTime) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let mut header = false;
    for row in rows {
        let Some((m, lo, hi)) = median(&row.id, since) else {
            continue;
        };
        if !header {
            println!(
                "\n== medians (criterion's median estimate [95 % CI]; load average {load} at the end)"
            );
            header = true;
        }
        let work = row
            .work
            .map(|w| format!("  per op: {w}"))
            .unwrap_or_default();
        println!(
            "{:<44} {:>10} [{} – {}]{work}",
            row.id,
            human(m),
            human(lo),
            human(hi)
        );
        out.insert(row.id.clone(), m);
    }
    out
}
