//! Metrics and spans: what an operator watches in dashboards and filters in logs.
//!
//! Every metric goes through the [`metrics`] facade crate: nothing is recorded (and nearly
//! nothing costs) until the embedding server installs a recorder, e.g.
//! `metrics-exporter-prometheus` (see `examples/authorization_server.rs`). Every metric name
//! is a constant of this module; the library's call sites call the small functions below, so
//! a name is written once. The README's "Metrics and spans" section has the table.
//!
//! Spans (through [`tracing`]) carry the fields an operator filters on:
//!
//! | span | fields |
//! |---|---|
//! | `oidfed.resolve` (one per resolution) | `entity`, `entity_type`, `anchor`, `outcome`, `code`, `duration_ms` |
//! | `oidfed.fetch` (one per HTTP exchange) | `url`, `kind`, `status`, `duration_ms` |
//! | `oidfed.registry` ([`registry_span`], one per registry operation) | `operation`, `entity`, `outcome`, `duration_ms` |
//!
//! `outcome` is one of [`TRUSTED`], [`NOT_TRUSTED`], [`TRANSIENT`] ([`outcome_of`]).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;
use tracing::field::Empty;

use crate::entity_id::EntityId;
use crate::error::Error;
use crate::fetch::{BoxFuture, FetchError, FetchKind, FetchRequest, FetchResponse, Fetcher};
use crate::resolver::{EntityType, ResolvedEntity};

/// Counter: resolutions (cache misses of [`crate::Resolver::record`], every
/// [`crate::Resolver::resolve`]), by `outcome`.
pub const RESOLUTIONS_TOTAL: &str = "oidfed_resolutions_total";
/// Histogram (seconds): time of one resolution, by `outcome`.
pub const RESOLUTION_DURATION_SECONDS: &str = "oidfed_resolution_duration_seconds";
/// Counter: fetches, by `kind` and `status` (the HTTP status, or why no answer arrived:
/// `timeout`, `transport`, `refused`, `too_large`, `redirect`, `bad_response`, `not_found`).
pub const FETCHES_TOTAL: &str = "oidfed_fetches_total";
/// Histogram (seconds): time of one fetch, by `kind`.
pub const FETCH_DURATION_SECONDS: &str = "oidfed_fetch_duration_seconds";
/// Counter: signature verifications actually computed (a signature already verified with
/// the same key is remembered and not counted), by `alg` and `result` (`valid`/`invalid`).
pub const SIGNATURE_CHECKS_TOTAL: &str = "oidfed_signature_checks_total";
/// Counter: cache hits, by `cache` (`statement`, `record`).
pub const CACHE_HITS_TOTAL: &str = "oidfed_cache_hits_total";
/// Counter: cache misses, by `cache` (`statement`, `record`).
pub const CACHE_MISSES_TOTAL: &str = "oidfed_cache_misses_total";
/// Counter (registry): registry operations, by `operation` and `outcome` (`ok`/`error`).
pub const REGISTRY_OPERATIONS_TOTAL: &str = "oidfed_registry_operations_total";
/// Histogram (registry, seconds): time of one registry operation, by `operation`.
pub const REGISTRY_OPERATION_DURATION_SECONDS: &str = "oidfed_registry_operation_duration_seconds";
/// Histogram (registry, seconds): time of one monitor sweep over the registry.
pub const SWEEP_DURATION_SECONDS: &str = "oidfed_registry_sweep_duration_seconds";
/// Gauge (registry): clients held, by `status` (e.g. `active`, `suspended`, `revoked`).
pub const REGISTRY_CLIENTS: &str = "oidfed_registry_clients";
/// Counter (registry): clients revoked, by `reason` (a short, bounded word, e.g. the
/// error's spec code or `offboarded`).
pub const REVOCATIONS_TOTAL: &str = "oidfed_registry_revocations_total";

/// `outcome` of a resolution that established trust.
pub const TRUSTED: &str = "trusted";
/// `outcome` of a resolution that definitively failed: the entity is not trusted.
pub const NOT_TRUSTED: &str = "not_trusted";
/// `outcome` of a resolution that could not be completed (network, time): retry later.
pub const TRANSIENT: &str = "transient";

/// The `outcome` label of a result: [`TRUSTED`], [`TRANSIENT`] or [`NOT_TRUSTED`].
///
/// ```
/// use oidfed::metrics::{NOT_TRUSTED, TRUSTED, outcome_of};
/// assert_eq!(outcome_of(&Ok::<(), oidfed::Error>(())), TRUSTED);
/// let refused: Result<(), oidfed::Error> = Err(oidfed::Error::Config(oidfed::ConfigError::NoTrustAnchor));
/// assert_eq!(outcome_of(&refused), NOT_TRUSTED);
/// ```
pub fn outcome_of<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => TRUSTED,
        Err(e) if e.is_transient() => TRANSIENT,
        Err(_) => NOT_TRUSTED,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs one resolution inside an `oidfed.resolve` span and records its outcome and time.
pub(crate) async fn resolution<F>(
    subject: &EntityId,
    entity_type: &EntityType,
    resolve: F,
) -> Result<ResolvedEntity, Error>
where
    F: Future<Output = Result<ResolvedEntity, Error>>,
{
    let span = tracing::info_span!(
        target: "oidfed::resolve",
        "oidfed.resolve",
        entity = %subject,
        entity_type = %entity_type,
        anchor = Empty,
        outcome = Empty,
        code = Empty,
        duration_ms = Empty,
    );
    let started = Instant::now();
    let result = resolve.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let outcome = outcome_of(&result);
    span.record("outcome", outcome);
    span.record("duration_ms", ms(elapsed));
    match &result {
        Ok(r) => span.record("anchor", r.trust_anchor().as_str()),
        Err(e) => span.record("code", e.spec_code()),
    };
    ::metrics::counter!(RESOLUTIONS_TOTAL, "outcome" => outcome).increment(1);
    ::metrics::histogram!(RESOLUTION_DURATION_SECONDS, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    result
}

/// A signature verification was computed.
pub(crate) fn signature_checked(alg: &'static str, valid: bool) {
    let result = if valid { "valid" } else { "invalid" };
    ::metrics::counter!(SIGNATURE_CHECKS_TOTAL, "alg" => alg, "result" => result).increment(1);
}

/// A lookup in one of the resolver's caches (`cache` = `statement` or `record`).
pub(crate) fn cache_lookup(cache: &'static str, hit: bool) {
    if hit {
        ::metrics::counter!(CACHE_HITS_TOTAL, "cache" => cache).increment(1);
    } else {
        ::metrics::counter!(CACHE_MISSES_TOTAL, "cache" => cache).increment(1);
    }
}

fn kind_label(kind: FetchKind) -> &'static str {
    match kind {
        FetchKind::EntityConfiguration => "entity_configuration",
        FetchKind::SubordinateStatement => "subordinate_statement",
        FetchKind::TrustMarkStatus => "trust_mark_status",
        FetchKind::JwkSet => "jwk_set",
        FetchKind::ResolveResponse => "resolve_response",
        _ => "other",
    }
}

fn status_label(result: &Result<FetchResponse, FetchError>) -> String {
    match result {
        Ok(r) if (100..=599).contains(&r.status) => r.status.to_string(),
        Ok(_) => "invalid_status".into(),
        Err(FetchError::Status { status, .. }) => status.to_string(),
        Err(FetchError::Timeout { .. }) => "timeout".into(),
        Err(FetchError::TooLarge { .. }) => "too_large".into(),
        Err(FetchError::Refused { .. }) => "refused".into(),
        Err(FetchError::Redirect { .. }) => "redirect".into(),
        Err(FetchError::Transport { .. }) => "transport".into(),
        Err(FetchError::BadResponse { .. }) => "bad_response".into(),
        Err(FetchError::NotFound { .. }) => "not_found".into(),
    }
}

/// Wraps the resolver's fetcher: an `oidfed.fetch` span and the fetch metrics per request.
pub(crate) struct InstrumentedFetcher(Arc<dyn Fetcher>);

impl InstrumentedFetcher {
    /// `fetcher`, instrumented.
    pub(crate) fn wrap(fetcher: Arc<dyn Fetcher>) -> Arc<dyn Fetcher> {
        Arc::new(Self(fetcher))
    }
}

impl Fetcher for InstrumentedFetcher {
    fn fetch(&self, request: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        let kind = kind_label(request.kind);
        let span = tracing::debug_span!(
            target: "oidfed::fetch",
            "oidfed.fetch",
            url = %request.url,
            kind,
            status = Empty,
            duration_ms = Empty,
        );
        let inner = self.0.fetch(request);
        Box::pin(async move {
            let started = Instant::now();
            let result = inner.instrument(span.clone()).await;
            let elapsed = started.elapsed();
            let status = status_label(&result);
            span.record("status", status.as_str());
            span.record("duration_ms", ms(elapsed));
            ::metrics::counter!(FETCHES_TOTAL, "kind" => kind, "status" => status).increment(1);
            ::metrics::histogram!(FETCH_DURATION_SECONDS, "kind" => kind)
                .record(elapsed.as_secs_f64());
            result
        })
    }
}

/// The span of one registry operation (`admit`, `offboard`, `sweep`, `export`…) about
/// `entity` (a client or an organization; `None` for whole-registry operations). Run the
/// operation in it and finish with [`registry_operation_finished`]:
///
/// ```
/// use std::time::Instant;
/// let span = oidfed::metrics::registry_span("offboard", Some("https://org.example"));
/// let started = Instant::now();
/// let result: Result<(), oidfed::Error> = span.in_scope(|| Ok(()));
/// oidfed::metrics::registry_operation_finished(&span, "offboard", &result, started);
/// ```
pub fn registry_span(operation: &'static str, entity: Option<&str>) -> tracing::Span {
    tracing::info_span!(
        target: "oidfed::registry",
        "oidfed.registry",
        operation,
        entity = entity.unwrap_or("-"),
        outcome = Empty,
        duration_ms = Empty,
    )
}

/// Records the end of a registry operation begun at `started`: `outcome` (`ok`/`error`) and
/// `duration_ms` on its span, [`REGISTRY_OPERATIONS_TOTAL`] and
/// [`REGISTRY_OPERATION_DURATION_SECONDS`].
///
/// ```
/// use metrics_exporter_prometheus::PrometheusBuilder;
/// let recorder = PrometheusBuilder::new().build_recorder();
/// let handle = recorder.handle();
///
/// use oidfed::metrics::{REGISTRY_OPERATIONS_TOTAL, registry_operation_finished, registry_span};
/// let span = registry_span("offboard", None);
/// let result: Result<(), oidfed::Error> = Ok(());
/// metrics::with_local_recorder(&recorder, || {
///     registry_operation_finished(&span, "offboard", &result, std::time::Instant::now())
/// });
/// assert!(handle.render().contains(REGISTRY_OPERATIONS_TOTAL));
/// ```
pub fn registry_operation_finished<T, E>(
    span: &tracing::Span,
    operation: &'static str,
    result: &Result<T, E>,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let outcome = if result.is_ok() { "ok" } else { "error" };
    span.record("outcome", outcome);
    span.record("duration_ms", ms(elapsed));
    ::metrics::counter!(REGISTRY_OPERATIONS_TOTAL, "operation" => operation, "outcome" => outcome)
        .increment(1);
    ::metrics::histogram!(REGISTRY_OPERATION_DURATION_SECONDS, "operation" => operation)
        .record(elapsed.as_secs_f64());
}

/// A monitor sweep over the registry took `duration`.
///
/// ```
/// use metrics_exporter_prometheus::PrometheusBuilder;
/// let recorder = PrometheusBuilder::new().build_recorder();
/// let handle = recorder.handle();
///
/// use oidfed::metrics::{SWEEP_DURATION_SECONDS, sweep_finished};
/// metrics::with_local_recorder(&recorder, || sweep_finished(std::time::Duration::from_millis(250)));
/// assert!(handle.render().contains(SWEEP_DURATION_SECONDS));
/// ```
pub fn sweep_finished(duration: Duration) {
    ::metrics::histogram!(SWEEP_DURATION_SECONDS).record(duration.as_secs_f64());
}

/// The registry now holds `count` clients of `status`.
///
/// ```
/// use metrics_exporter_prometheus::PrometheusBuilder;
/// let recorder = PrometheusBuilder::new().build_recorder();
/// let handle = recorder.handle();
///
/// use oidfed::metrics::{REGISTRY_CLIENTS, clients_by_status};
/// metrics::with_local_recorder(&recorder, || clients_by_status("active", 42));
/// let text = handle.render();
/// assert!(text.lines().any(|l| l.starts_with(REGISTRY_CLIENTS) && l.contains("active") && l.ends_with(" 42")));
/// ```
pub fn clients_by_status(status: &'static str, count: u64) {
    // Gauges are f64 in the facade; client counts stay far below 2^53.
    ::metrics::gauge!(REGISTRY_CLIENTS, "status" => status).set(count as f64);
}

/// A client was revoked for `reason` (a bounded word: a spec error code, `offboarded`…).
///
/// ```
/// use metrics_exporter_prometheus::PrometheusBuilder;
/// let recorder = PrometheusBuilder::new().build_recorder();
/// let handle = recorder.handle();
///
/// use oidfed::metrics::{REVOCATIONS_TOTAL, revoked};
/// metrics::with_local_recorder(&recorder, || { revoked("offboarded"); revoked("offboarded"); });
/// let text = handle.render();
/// assert!(text.lines().any(|l| l.starts_with(REVOCATIONS_TOTAL) && l.contains("offboarded") && l.ends_with(" 2")));
/// ```
pub fn revoked(reason: &'static str) {
    ::metrics::counter!(REVOCATIONS_TOTAL, "reason" => reason).increment(1);
}
