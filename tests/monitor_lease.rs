//! One sweeper per registry, on SQLite (a file shared by processes) and PostgreSQL: the
//! lease holder is a real child process, killed (SIGKILL) or frozen (SIGSTOP), and the
//! other replica takes over within a bounded time; a holder killed in the middle of a pass
//! leaves no client half-updated and the new holder finishes the work, once; clocks apart
//! by less than the leeway never give two holders.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod registry_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oidfed::fetch::{
    BoxFuture, DestinationGuard, FetchError, FetchRequest, FetchResponse, Fetcher, HttpFetcher,
};
use oidfed::registry::events::MonitorEvent;
use oidfed::registry::monitor::{LeaseSettings, MonitorError, MonitorHandle};
use oidfed::registry::{AuditEvent, Registry};
use oidfed::testing::{Federation, FederationBuilder, LoopbackServer};
use oidfed::{Clock, EntityType, FixedClock, Resolver, SystemClock};
use registry_common::{Db, on_both};
use serde_json::json;

const RP: EntityType = EntityType::OPENID_RELYING_PARTY;
const TTL: Duration = Duration::from_secs(4);
const LEEWAY: Duration = Duration::from_secs(1);
/// The takeover bound these settings promise (ttl + leeway + a second of clock granularity
/// + the taker's renewal interval), with room for a loaded machine.
const TAKEOVER: Duration = Duration::from_secs(20);

async fn served(n: usize) -> (Federation, LoopbackServer) {
    let mut b = FederationBuilder::new("http://replaced")
        .anchor("ta")
        .intermediate("org", &["ta"]);
    for i in 0..n {
        let name = format!("rp{i:03}");
        b = b
            .leaf(&name, &["org"])
            .metadata(&name, RP.as_str(), json!({"client_name": "v1"}));
    }
    b.serve().await.expect("serve")
}

fn resolver_over(fed: &Federation, fetcher: impl Fetcher, clock: impl Clock) -> Resolver {
    Resolver::builder()
        .allow_http(true)
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(fetcher)
        .clock(clock)
        .build()
        .expect("resolver")
}

fn lease(holder: &str) -> LeaseSettings {
    LeaseSettings::new(holder, TTL, LEEWAY)
}

/// A fetcher that waits before each request (a child's pass then lasts long enough to be
/// killed in its middle).
struct Slow(HttpFetcher, Duration);

impl Fetcher for Slow {
    fn fetch(&self, r: FetchRequest) -> BoxFuture<'_, Result<FetchResponse, FetchError>> {
        Box::pin(async move {
            tokio::time::sleep(self.1).await;
            self.0.fetch(r).await
        })
    }
}

/// The child replica: opens the registry, runs the monitor, prints its events, and ends
/// when its parent closes its stdin (or after two minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child replica of the lease tests; they start it"]
async fn child_replica() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let url = var("OIDFED_CHILD_URL");
    let ta = var("OIDFED_CHILD_TA");
    let jwks: serde_json::Value = serde_json::from_str(&var("OIDFED_CHILD_TA_JWKS")).unwrap();
    let delay = Duration::from_millis(var("OIDFED_CHILD_DELAY_MS").parse().unwrap());
    let http = HttpFetcher::builder()
        .guard(
            DestinationGuard::new()
                .allow_http(true)
                .allow_network("127.0.0.1/32".parse().unwrap()),
        )
        .build()
        .unwrap();
    let resolver = Resolver::builder()
        .allow_http(true)
        .trust_anchor(&ta, &jwks)
        .fetcher(Slow(http, delay))
        .build()
        .unwrap();
    let registry = Registry::open(&url).await.unwrap();
    let handle = registry
        .monitor(&resolver)
        .lease(lease(&var("OIDFED_CHILD_HOLDER")))
        .max_staleness(Duration::from_secs(2))
        .jitter(Duration::ZERO)
        .concurrency(1)
        .idle(Duration::from_millis(200))
        .subordinate_events(None)
        .build();
    let mut rx = handle.subscribe();
    let handle = handle.start().await.unwrap();
    let (eof_tx, mut eof) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            line.clear();
        }
        let _ = eof_tx.send(());
    });
    let deadline = tokio::time::sleep(Duration::from_secs(120));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut eof => break,
            _ = &mut deadline => break,
            ev = rx.recv() => match ev {
                Ok(MonitorEvent::LeaseAcquired { epoch, .. }) => println!("EVENT lease_acquired {epoch}"),
                Ok(MonitorEvent::LeaseLost { reason, .. }) => println!("EVENT lease_lost {reason}"),
                Ok(MonitorEvent::PassCompleted(r)) => println!("EVENT pass {}", r.revalidated),
                Ok(_) => {}
                Err(_) => {}
            }
        }
    }
    handle.stop().await;
}

/// A child replica process and the lines it printed.
struct ChildReplica {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl ChildReplica {
    fn start(db: &Db, fed: &Federation, holder: &str, delay_ms: u64) -> ChildReplica {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_replica",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("OIDFED_CHILD_URL", &db.url)
            .env("OIDFED_CHILD_TA", fed.id("ta").as_str())
            .env("OIDFED_CHILD_TA_JWKS", fed.public_jwks("ta").to_string())
            .env("OIDFED_CHILD_HOLDER", holder)
            .env("OIDFED_CHILD_DELAY_MS", delay_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child replica");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // The test harness prints "test child_replica ... " before the first line.
                if let Some(at) = line.find("EVENT ") {
                    let _ = tx.send(line[at + 6..].to_string());
                }
            }
        });
        ChildReplica { child, lines }
    }

    /// Waits (without blocking the runtime) for a line starting with `prefix`.
    async fn wait_for(&self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.lines.try_recv() {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => continue,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("the child did not print {prefix:?} within {within:?}");
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig}");
    }
}

impl Drop for ChildReplica {
    fn drop(&mut self) {
        self.signal_quietly();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildReplica {
    fn signal_quietly(&self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
    }
}

async fn in_process_replica(
    registry: &Registry,
    resolver: &Resolver,
    holder: &str,
) -> MonitorHandle {
    registry
        .monitor(resolver)
        .lease(lease(holder))
        .max_staleness(Duration::from_secs(2))
        .jitter(Duration::ZERO)
        .idle(Duration::from_millis(200))
        .subordinate_events(None)
        .start()
        .await
        .expect("start")
}

async fn wait_lease_acquired(
    rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(MonitorEvent::LeaseAcquired { .. })) => return started.elapsed(),
            Ok(Ok(_)) | Ok(Err(_)) => continue,
            Err(_) => panic!("no takeover within {within:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_killed_the_other_replica_takes_over() {
    on_both(|db| async move {
        let (fed, _server) = served(2).await;
        let registry = Registry::open(&db.url).await.unwrap();
        let child = ChildReplica::start(&db, &fed, "child", 0);
        child.wait_for("lease_acquired", TAKEOVER).await;
        let r = resolver_over(&fed, fed.fetcher(), SystemClock);
        let b = in_process_replica(&registry, &r, "parent").await;
        let mut rx = b.subscribe();
        // While the child lives and renews, the parent does not sweep.
        tokio::time::sleep(TTL + LEEWAY + Duration::from_secs(1)).await;
        assert!(!b.monitor().holds_lease());
        assert_eq!(
            b.monitor().lease_holder().await.unwrap().unwrap().holder,
            "child"
        );
        drop(child); // SIGKILL
        let took = wait_lease_acquired(&mut rx, TAKEOVER).await;
        eprintln!("takeover after the kill: {took:?}");
        let info = b.monitor().lease_holder().await.unwrap().unwrap();
        assert_eq!((info.holder.as_str(), info.epoch), ("parent", 2));
        let monitor = b.monitor().clone();
        b.stop().await;
        // A clean stop gives the lease up.
        assert!(monitor.lease_holder().await.unwrap().is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_frozen_is_replaced_and_steps_down_when_it_wakes() {
    on_both(|db| async move {
        let (fed, _server) = served(2).await;
        let registry = Registry::open(&db.url).await.unwrap();
        let child = ChildReplica::start(&db, &fed, "child", 0);
        child.wait_for("lease_acquired", TAKEOVER).await;
        let r = resolver_over(&fed, fed.fetcher(), SystemClock);
        let b = in_process_replica(&registry, &r, "parent").await;
        let mut rx = b.subscribe();
        child.signal("-STOP");
        wait_lease_acquired(&mut rx, TAKEOVER).await;
        child.signal("-CONT");
        child.wait_for("lease_lost", TAKEOVER).await;
        // It does not take the lease back while the parent renews it.
        tokio::time::sleep(TTL).await;
        assert!(b.monitor().holds_lease());
        assert_eq!(
            b.monitor().lease_holder().await.unwrap().unwrap().holder,
            "parent"
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_mid_pass_leaves_every_client_whole_and_the_work_is_done_once() {
    on_both(|db| async move {
        const N: usize = 60;
        let (fed, _server) = served(N).await;
        let r = resolver_over(&fed, fed.fetcher(), SystemClock);
        let registry = Registry::open(&db.url).await.unwrap();
        let names: Vec<String> = (0..N).map(|i| format!("rp{i:03}")).collect();
        for n in &names {
            registry.admit(&r, &fed.id(n), &RP).await.unwrap();
        }
        // Every client's metadata changes; the child's pass applies it slowly.
        for n in &names {
            fed.republish_ec(n, |c| {
                c.insert(
                    "metadata".into(),
                    json!({"openid_relying_party": {"client_name": "v2"}}),
                );
            });
        }
        let changed = |registry: Registry| async move {
            registry
                .audit_after(0, 100_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.event == AuditEvent::Changed)
                .count()
        };
        let child = ChildReplica::start(&db, &fed, "child", 25);
        let deadline = Instant::now() + TAKEOVER;
        while changed(registry.clone()).await < 3 {
            assert!(Instant::now() < deadline, "the child never got going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(child); // SIGKILL in the middle of its pass
        let at_kill = changed(registry.clone()).await;
        assert!(at_kill < N, "the pass was over before the kill ({at_kill})");
        let b = in_process_replica(&registry, &r, "parent").await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while changed(registry.clone()).await < N {
            assert!(
                Instant::now() < deadline,
                "the takeover did not finish the work"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        b.stop().await;
        let trail = registry.audit_after(0, 100_000).await.unwrap();
        for n in &names {
            let id = fed.id(n);
            let c = registry.client(&id).await.unwrap().unwrap();
            assert!(c.status().is_active(), "{n}");
            assert_eq!(c.record().unwrap().metadata["client_name"], "v2", "{n}");
            let entries = trail
                .iter()
                .filter(|e| {
                    e.event == AuditEvent::Changed && e.client_id.as_deref() == Some(id.as_str())
                })
                .count();
            assert_eq!(entries, 1, "{n}: applied exactly once");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_apart_by_less_than_the_leeway_never_give_two_holders() {
    on_both(|db| async move {
        let fed = FederationBuilder::new("https://fed.example")
            .anchor("ta")
            .build();
        let registry = Registry::open(&db.url).await.unwrap();
        let t0 = 1_800_000_000;
        let (ca, cb) = (FixedClock::new(t0), FixedClock::new(t0 + 3));
        let settings =
            |h: &str| LeaseSettings::new(h, Duration::from_secs(30), Duration::from_secs(5));
        let a = registry
            .monitor(&resolver_over(&fed, fed.fetcher(), ca.clone()))
            .lease(settings("a"))
            .build();
        let b = registry
            .monitor(&resolver_over(&fed, fed.fetcher(), cb.clone()))
            .lease(settings("b"))
            .build();
        a.acquire_lease().await.expect("a acquires");
        assert!(a.holds_lease());
        assert!(matches!(
            b.acquire_lease().await,
            Err(MonitorError::NotLeader { .. })
        ));
        // A (dead) stops trusting its lease 5 s before the expiry it wrote ...
        ca.set(t0 + 25);
        assert!(!a.holds_lease());
        // ... and B, 3 s ahead, waits until 5 s after it by its own clock.
        cb.set(t0 + 30 + 5);
        assert!(matches!(
            b.acquire_lease().await,
            Err(MonitorError::NotLeader { .. })
        ));
        cb.set(t0 + 30 + 6);
        b.acquire_lease().await.expect("b takes over");
        assert_eq!(b.lease_holder().await.unwrap().unwrap().epoch, 2);
        // A waking up cannot renew what it lost.
        assert!(matches!(
            a.acquire_lease().await,
            Err(MonitorError::NotLeader { .. })
        ));
        assert!(!a.holds_lease() && b.holds_lease());
    })
    .await;
}
