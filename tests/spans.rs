//! The spans a resolution opens, seen by a subscriber installed in the test: one
//! `oidfed.resolve` with the fields operators filter on, one `oidfed.fetch` per fetch, each
//! inside the resolution's span (also for the fetches of concurrently walked superiors).

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use oidfed::EntityType;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

#[derive(Debug, Clone, Default)]
struct SpanRec {
    name: &'static str,
    meta: Option<&'static Metadata<'static>>,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Spans {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanRec>>,
}

thread_local! {
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl Subscriber for &'static Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let parent = if let Some(p) = attrs.parent() {
            Some(p.into_u64())
        } else if attrs.is_contextual() {
            ENTERED.with(|s| s.borrow().last().copied())
        } else {
            None
        };
        let mut rec = SpanRec {
            name: attrs.metadata().name(),
            meta: Some(attrs.metadata()),
            parent,
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut rec.fields));
        self.spans.lock().unwrap().insert(id, rec);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(rec) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    /// What `Span::current()` sees: `in_current_span` hands it to spawned walk steps.
    fn current_span(&self) -> Current {
        let Some(id) = ENTERED.with(|s| s.borrow().last().copied()) else {
            return Current::none();
        };
        match self.spans.lock().unwrap().get(&id).and_then(|r| r.meta) {
            Some(meta) => Current::new(Id::from_u64(id), meta),
            None => Current::none(),
        }
    }
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, span: &Id) {
        ENTERED.with(|s| s.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        ENTERED.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(pos) = s.iter().rposition(|x| *x == span.into_u64()) {
                s.remove(pos);
            }
        });
    }
}

fn spans() -> &'static Spans {
    static S: OnceLock<&'static Spans> = OnceLock::new();
    S.get_or_init(|| {
        let s: &'static Spans = Box::leak(Box::default());
        tracing::subscriber::set_global_default(s).expect("the only subscriber");
        s
    })
}

/// Whether `id` lies (transitively) inside `ancestor`.
fn inside(all: &HashMap<u64, SpanRec>, mut id: u64, ancestor: u64) -> bool {
    while let Some(p) = all.get(&id).and_then(|r| r.parent) {
        if p == ancestor {
            return true;
        }
        id = p;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_has_its_span_and_its_fetches_inside_it() {
    let s = spans();
    let fed = common::three_level().build();
    let resolver = common::resolver(&fed);
    let rp = fed.id("rp");
    resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap();
    fed.set_unavailable("org", 503);
    resolver.clear_caches();
    resolver
        .resolve(&rp, &EntityType::OPENID_RELYING_PARTY)
        .await
        .unwrap_err();

    let all = s.spans.lock().unwrap().clone();
    let mut resolutions: Vec<(u64, &SpanRec)> = all
        .iter()
        .filter(|(_, r)| r.name == "oidfed.resolve")
        .map(|(id, r)| (*id, r))
        .collect();
    resolutions.sort_by_key(|(id, _)| *id);
    assert_eq!(resolutions.len(), 2, "{all:#?}");
    let (ok_id, ok) = resolutions[0];
    assert_eq!(ok.fields["entity"], rp.as_str());
    assert_eq!(ok.fields["entity_type"], "openid_relying_party");
    assert_eq!(ok.fields["anchor"], fed.id("ta").as_str());
    assert_eq!(ok.fields["outcome"], "trusted");
    assert!(ok.fields.contains_key("duration_ms"));
    let (failed_id, failed) = resolutions[1];
    assert_eq!(failed.fields["outcome"], "transient");
    assert_eq!(failed.fields["code"], "temporarily_unavailable");
    assert!(!failed.fields.contains_key("anchor"));

    let fetches_in = |parent: u64| -> Vec<&SpanRec> {
        all.iter()
            .filter(|(id, r)| r.name == "oidfed.fetch" && inside(&all, **id, parent))
            .map(|(_, r)| r)
            .collect()
    };
    // rp's configuration, then (in spawned walk steps) org's, org → rp, ta's, ta → org.
    let ok_fetches = fetches_in(ok_id);
    assert_eq!(ok_fetches.len(), 5, "{all:#?}");
    assert!(ok_fetches.iter().all(|f| f.fields["status"] == "200"));
    let kinds: Vec<&str> = ok_fetches
        .iter()
        .map(|f| f.fields["kind"].as_str())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "subordinate_statement")
            .count(),
        2
    );
    assert!(
        ok_fetches
            .iter()
            .all(|f| f.fields["url"].starts_with("https://fed.example/"))
    );
    let failed_fetches = fetches_in(failed_id);
    assert!(
        failed_fetches.iter().any(|f| f.fields["status"] == "503"),
        "{failed_fetches:#?}"
    );

    // The registry's span carries its operation, entity and outcome.
    let span = oidfed::metrics::registry_span("offboard", Some("https://org.example"));
    let result: Result<(), String> = Err("store down".into());
    oidfed::metrics::registry_operation_finished(
        &span,
        "offboard",
        &result,
        std::time::Instant::now(),
    );
    let id = span.id().expect("enabled").into_u64();
    let rec = s.spans.lock().unwrap()[&id].clone();
    assert_eq!(rec.name, "oidfed.registry");
    assert_eq!(rec.fields["operation"], "offboard");
    assert_eq!(rec.fields["entity"], "https://org.example");
    assert_eq!(rec.fields["outcome"], "error");
}
