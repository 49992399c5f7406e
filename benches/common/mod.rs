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
    // Installed, and the library has not checked a signature yet: none so far.
    Some(r.get(SIGNATURE_CHECKS).unwrap_or(0))
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
    // `group/function` is a directory per group; a function named with slashes outside a
    // group is one directory with the slashes turned into underscores.
    let home = criterion_home();
    let path = [id.to_string(), id.replace('/', "_")]
        .iter()
        .map(|d| home.join(d).join("new").join("estimates.json"))
        .find(|p| p.exists())?;
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
    /// Reported as a multiple of `n` × the median of benchmark `.0` from the same run,
    /// against the target multiple `.2` when the issue sets one.
    pub ratio: Option<(String, f64, Option<f64>)>,
}

impl Row {
    pub fn new(id: &str, work: Option<Work>) -> Self {
        Self {
            id: id.to_string(),
            work,
            ratio: None,
        }
    }

    /// Also report this median as a multiple of `n` × `yardstick`'s (same run), with the
    /// target multiple when there is one.
    pub fn ratio_to(mut self, yardstick: &str, n: f64, target: Option<f64>) -> Self {
        self.ratio = Some((yardstick.to_string(), n, target));
        self
    }
}

/// The load average (1 minute) now.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Appends one line to the run's table (`OIDFED_BENCH_TABLE`, a tab-separated file that
/// `benches/run-all.sh` prints at the end): bench, what, median, range, work, ratio.
pub fn table_line(what: &str, median: &str, range: &str, work: &str, ratio: &str) {
    let Some(path) = std::env::var_os("OIDFED_BENCH_TABLE") else {
        return;
    };
    use std::io::Write;
    // A second build of the same bench (e.g. `--features aws-lc`) names itself.
    let bench = match std::env::var("OIDFED_BENCH_VARIANT") {
        Ok(v) => format!("{} [{v}]", env!("CARGO_CRATE_NAME")),
        Err(_) => env!("CARGO_CRATE_NAME").to_string(),
    };
    let line = format!(
        "{bench}\t{what}\t{median}\t{range}\t{work}\t{ratio}\t{}\n",
        load()
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Prints each benchmark this run measured: median [95 % CI of the median], its work and
/// its ratio to a yardstick of the same run; appends the same to the run's table.
/// Returns the medians by id.
pub fn report(rows: &[Row], since: SystemTime) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let measured: Vec<_> = rows
        .iter()
        .filter_map(|row| median(&row.id, since).map(|m| (row, m)))
        .collect();
    for (row, (m, _, _)) in &measured {
        out.insert(row.id.clone(), *m);
    }
    if measured.is_empty() {
        return out;
    }
    println!(
        "\n== medians (criterion's median estimate [95 % CI]; load average {} at the end)",
        load()
    );
    for (row, (m, lo, hi)) in &measured {
        let work = row.work.map(|w| w.to_string()).unwrap_or_default();
        let ratio = row
            .ratio
            .as_ref()
            .and_then(|(y, n, target)| {
                let v = out.get(y)?;
                let r = m / (n * v);
                let target = target
                    .map(|t| {
                        let verdict = if r <= t { "met" } else { "missed" };
                        format!(" (target ≤ {t}×: {verdict})")
                    })
                    .unwrap_or_default();
                Some(format!("{r:.2}× {n} × {y}{target}"))
            })
            .unwrap_or_default();
        let per_op = if work.is_empty() {
            String::new()
        } else {
            format!("  per op: {work}")
        };
        let rat = if ratio.is_empty() {
            String::new()
        } else {
            format!("  = {ratio}")
        };
        println!(
            "{:<44} {:>10} [{} – {}]{per_op}{rat}",
            row.id,
            human(*m),
            human(*lo),
            human(*hi)
        );
        table_line(
            &row.id,
            &human(*m),
            &format!("{} – {}", human(*lo), human(*hi)),
            &work,
            &ratio,
        );
    }
    out
}

// ---- CPU time, which the machine's load does not inflate the way it inflates wall time ----

/// CPU time (ns) the calling thread has run so far (`/proc/thread-self/schedstat`).
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time (ns) every live thread of this process has run so far (the sum of
/// `/proc/self/task/*/schedstat`).
pub fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
