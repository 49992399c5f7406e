//! The metrics a resolution emits, counted by a recorder installed in the test: exact
//! numbers of fetches (by status), signature checks, cache hits and misses and outcomes.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use oidfed::EntityType;
use oidfed::metrics as m;

/// (name, sorted labels) → value: counters count, histograms count their observations,
/// gauges hold their last value (as f64 bits).
type Series = BTreeMap<(String, Vec<(String, String)>), Arc<AtomicU64>>;

#[derive(Default)]
struct TestRecorder {
    series: Mutex<Series>,
}

struct Cell(Arc<AtomicU64>);

impl CounterFn for Cell {
    fn increment(&self, n: u64) {
        self.0.fetch_add(n, Ordering::SeqCst);
    }
    fn absolute(&self, n: u64) {
        self.0.store(n, Ordering::SeqCst);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, v: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) + v);
    }
    fn decrement(&self, v: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::SeqCst)) - v);
    }
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::SeqCst);
    }
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<AtomicU64> {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_string(), l.value().to_string()))
            .collect();
        labels.sort();
        let mut s = self.series.lock().unwrap();
        s.entry((key.name().to_string(), labels))
            .or_default()
            .clone()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Cell(self.cell(key))))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Cell(self.cell(key))))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Cell(self.cell(key))))
    }
}

/// The process-wide recorder, installed once.
fn recorder() -> &'static TestRecorder {
    static REC: OnceLock<&'static TestRecorder> = OnceLock::new();
    REC.get_or_init(|| {
        let r: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(r).expect("no other recorder in this test binary");
        r
    })
}

/// Tests run one at a time, so each reads only its own deltas.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

type Snapshot = BTreeMap<(String, Vec<(String, String)>), u64>;

fn snapshot(rec: &TestRecorder) -> Snapshot {
    rec.series
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.load(Ordering::SeqCst)))
        .collect()
}

/// What changed between two snapshots (counters and histogram observation counts).
fn delta(before: &Snapshot, after: &Snapshot) -> Snapshot {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

fn get(d: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    let mut l: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    l.sort();
    d.get(&(name.to_string(), l)).copied().unwrap_or(0)
}

/// Sum over every series of `name`.
fn total(d: &Snapshot, name: &str) -> u64 {
    d.iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn a_cold_then_warm_three_level_resolution_is_counted_exactly() {
    let _serial = SERIAL.lock().await;
    let rec = recorder();
    let fed = common::three_level().build();
    let resolver = common::resolver(&fed);
    let rp = fed.id("rp");

    let before = snapshot(rec);
    resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap();
    let cold = delta(&before, &snapshot(rec));
    // Three configurations (rp, org, ta) and two subordinate statements, all answered 200.
    let ec = [("kind", "entity_configuration"), ("status", "200")];
    let ss = [("kind", "subordinate_statement"), ("status", "200")];
    assert_eq!(get(&cold, m::FETCHES_TOTAL, &ec), 3, "{cold:#?}");
    assert_eq!(get(&cold, m::FETCHES_TOTAL, &ss), 2, "{cold:#?}");
    assert_eq!(total(&cold, m::FETCHES_TOTAL), 5);
    assert_eq!(total(&cold, m::FETCH_DURATION_SECONDS), 5);
    // One signature per statement: rp's EC, org → rp, org's EC, ta → org, ta's EC. Every
    // further check (the superior's assertion of rp's key, the pinned anchor key, the
    // issuers' own keys) is the same key material and is remembered, not recomputed.
    let valid = [("alg", "ES256"), ("result", "valid")];
    assert_eq!(
        get(&cold, m::SIGNATURE_CHECKS_TOTAL, &valid),
        5,
        "{cold:#?}"
    );
    assert_eq!(total(&cold, m::SIGNATURE_CHECKS_TOTAL), 5);
    let statement = [("cache", "statement")];
    assert_eq!(get(&cold, m::CACHE_MISSES_TOTAL, &statement), 5);
    assert_eq!(get(&cold, m::CACHE_HITS_TOTAL, &statement), 0);
    assert_eq!(
        get(&cold, m::RESOLUTIONS_TOTAL, &[("outcome", "trusted")]),
        1
    );
    assert_eq!(total(&cold, m::RESOLUTIONS_TOTAL), 1);
    assert_eq!(
        get(
            &cold,
            m::RESOLUTION_DURATION_SECONDS,
            &[("outcome", "trusted")]
        ),
        1
    );

    // Warm: every statement from the cache, no fetch, no signature computed.
    let before = snapshot(rec);
    resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap();
    let warm = delta(&before, &snapshot(rec));
    assert_eq!(get(&warm, m::CACHE_HITS_TOTAL, &statement), 5, "{warm:#?}");
    assert_eq!(total(&warm, m::CACHE_MISSES_TOTAL), 0);
    assert_eq!(total(&warm, m::FETCHES_TOTAL), 0);
    assert_eq!(total(&warm, m::SIGNATURE_CHECKS_TOTAL), 0);
    assert_eq!(
        get(&warm, m::RESOLUTIONS_TOTAL, &[("outcome", "trusted")]),
        1
    );

    // Client records: a miss resolves (counted), a hit does not.
    let before = snapshot(rec);
    resolver
        .record(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap();
    resolver
        .record(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap();
    let records = delta(&before, &snapshot(rec));
    assert_eq!(
        get(&records, m::CACHE_MISSES_TOTAL, &[("cache", "record")]),
        1
    );
    assert_eq!(
        get(&records, m::CACHE_HITS_TOTAL, &[("cache", "record")]),
        1
    );
    assert_eq!(total(&records, m::RESOLUTIONS_TOTAL), 1);
}

#[tokio::test]
async fn failures_are_counted_by_outcome_and_fetch_status() {
    let _serial = SERIAL.lock().await;
    let rec = recorder();
    let fed = common::three_level().build();
    let resolver = common::resolver(&fed);
    let rp = fed.id("rp");

    // The organization's server is down: could not check (transient).
    fed.set_unavailable("org", 503);
    let before = snapshot(rec);
    let err = resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap_err();
    assert!(err.is_transient());
    let down = delta(&before, &snapshot(rec));
    assert_eq!(
        get(&down, m::RESOLUTIONS_TOTAL, &[("outcome", "transient")]),
        1
    );
    assert_eq!(
        get(
            &down,
            m::FETCHES_TOTAL,
            &[("kind", "entity_configuration"), ("status", "503")]
        ),
        1,
        "{down:#?}"
    );

    // A definitive failure: a tampered subordinate statement does not verify.
    let fed = common::three_level().build();
    let resolver = common::resolver(&fed);
    let good = fed.subordinate_statement("org", "rp");
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let sig = &mut parts[2];
    let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(flipped);
    fed.publish_raw_ss("org", "rp", &parts.join("."));
    let before = snapshot(rec);
    let err = resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    let bad = delta(&before, &snapshot(rec));
    assert_eq!(
        get(&bad, m::RESOLUTIONS_TOTAL, &[("outcome", "not_trusted")]),
        1
    );
    assert_eq!(
        get(
            &bad,
            m::SIGNATURE_CHECKS_TOTAL,
            &[("alg", "ES256"), ("result", "invalid")]
        ),
        1,
        "{bad:#?}"
    );
}

#[test]
fn the_registry_helpers_emit_the_reserved_names() {
    let _serial = SERIAL.blocking_lock();
    let rec = recorder();
    let before = snapshot(rec);
    let span = m::registry_span("offboard", Some("https://org.example"));
    let started = std::time::Instant::now();
    let ok: Result<(), oidfed::Error> = Ok(());
    m::registry_operation_finished(&span, "offboard", &ok, started);
    let failed: Result<(), String> = Err("store unavailable".into());
    m::registry_operation_finished(&span, "offboard", &failed, started);
    m::sweep_finished(std::time::Duration::from_millis(5));
    m::revoked("offboarded");
    m::clients_by_status("active", 7);
    let d = delta(&before, &snapshot(rec));
    let op = |outcome| [("operation", "offboard"), ("outcome", outcome)];
    assert_eq!(get(&d, m::REGISTRY_OPERATIONS_TOTAL, &op("ok")), 1);
    assert_eq!(get(&d, m::REGISTRY_OPERATIONS_TOTAL, &op("error")), 1);
    assert_eq!(
        get(
            &d,
            m::REGISTRY_OPERATION_DURATION_SECONDS,
            &[("operation", "offboard")]
        ),
        2
    );
    assert_eq!(get(&d, m::SWEEP_DURATION_SECONDS, &[]), 1);
    assert_eq!(
        get(&d, m::REVOCATIONS_TOTAL, &[("reason", "offboarded")]),
        1
    );
    let gauge = snapshot(rec)
        .get(&(
            m::REGISTRY_CLIENTS.to_string(),
            vec![("status".to_string(), "active".to_string())],
        ))
        .copied()
        .map(f64::from_bits);
    assert_eq!(gauge, Some(7.0));
}
