//! Two replicas of the authorization server on one registry (a SQLite file), the trust
//! monitor sweeping on replica A, replica B only following the changes. The partner
//! organization leaves the federation (its anchor drops its Subordinate Statement); both
//! replicas refuse its client within seconds. Prints the events each replica saw, the
//! client's audit trail, and the measured latency from the exit to the refusal on B.

use std::time::{Duration, Instant};

use oidfed::fetch::{DestinationGuard, HttpFetcher};
use oidfed::registry::Registry;
use oidfed::registry::events::MonitorEvent;
use oidfed::registry::monitor::LeaseSettings;
use oidfed::server::{MemoryReplayGuard, RequestPolicy};
use oidfed::testing::Federation;
use oidfed::{EntityType, Resolver};
use serde_json::json;
use tokio::sync::broadcast;

type Failure = Box<dyn std::error::Error>;

fn replica_resolver(fed: &Federation) -> Result<Resolver, Failure> {
    let guard = DestinationGuard::new()
        .allow_http(true)
        .allow_network("127.0.0.0/8".parse()?);
    Ok(Resolver::builder()
        .allow_http(true)
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(HttpFetcher::builder().guard(guard).build()?)
        .build()?)
}

fn describe(e: &MonitorEvent) -> Option<String> {
    Some(match e {
        MonitorEvent::Client(c) => format!(
            "{:?} {} (audit #{}, actor {}, evidence: {})",
            c.kind,
            c.client_id,
            c.audit.seq,
            c.actor.as_str(),
            c.evidence
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into())
        ),
        MonitorEvent::LeaseAcquired { holder, epoch } => {
            format!("lease acquired by {holder} (epoch {epoch})")
        }
        MonitorEvent::PassCompleted(r) if r.revalidated > 0 => format!(
            "pass: {} re-validated, {} revoked, {} fetches, {} signature checks",
            r.revalidated, r.revoked, r.fetches, r.signature_checks
        ),
        MonitorEvent::Failed(f) => format!("failure: {f}"),
        _ => return None,
    })
}

fn drain(name: &str, rx: &mut broadcast::Receiver<MonitorEvent>) {
    while let Ok(e) = rx.try_recv() {
        if let Some(line) = describe(&e) {
            println!("  [{name}] {line}");
        }
    }
}

/// The two-replica part of the example.
pub async fn two_replicas(fed: &Federation) -> Result<(), Failure> {
    println!("\n--- Two replicas on one registry; the trust monitor sweeps on replica A ---");
    let path = std::env::temp_dir().join(format!("oidfed-as-replicas-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let (registry_a, registry_b) = (Registry::open(&url).await?, Registry::open(&url).await?);
    let (resolver_a, resolver_b) = (replica_resolver(fed)?, replica_resolver(fed)?);
    let rp = fed.id("rp");
    let client = registry_a
        .admit(&resolver_a, &rp, &EntityType::OPENID_RELYING_PARTY)
        .await?;
    println!(
        "replica A admitted {rp}, organization {}",
        client.organization_id().unwrap_or("-")
    );

    // Short settings so the example runs in seconds (production: minutes, or the
    // superiors' subordinate events endpoints).
    let monitor_a = registry_a
        .monitor(&resolver_a)
        .max_staleness(Duration::from_secs(3))
        .jitter(Duration::from_secs(1))
        .idle(Duration::from_millis(100))
        .watch_poll(Duration::from_millis(100), Duration::from_millis(500))
        .lease(LeaseSettings::new(
            "replica-a",
            Duration::from_secs(10),
            Duration::from_secs(2),
        ))
        .build();
    let monitor_b = registry_b
        .monitor(&resolver_b)
        .sweeper(false)
        .watch_poll(Duration::from_millis(100), Duration::from_millis(500))
        .build();
    let (mut events_a, mut events_b) = (monitor_a.subscribe(), monitor_b.subscribe());
    let (handle_a, handle_b) = (monitor_a.start().await?, monitor_b.start().await?);

    let policy = RequestPolicy::new("https://as.example");
    let replay = MemoryReplayGuard::default();
    let key = oidfed::testing::demo::rp_protocol_key(fed);
    let mut n = 0;
    let mut assertion = || {
        n += 1;
        let now = resolver_b.now();
        key.sign_jwt(
            "JWT",
            &json!({"iss": rp.as_str(), "sub": rp.as_str(), "aud": "https://as.example",
                    "jti": format!("replicas-{n}"), "exp": now + 60}),
        )
    };
    for (name, registry, resolver) in [
        ("A", &registry_a, &resolver_a),
        ("B", &registry_b, &resolver_b),
    ] {
        registry
            .verify_client_assertion(resolver, &assertion(), &policy, &replay)
            .await?;
        println!("replica {name} accepts {rp}'s client assertion");
    }

    fed.remove_ss("ta", "org");
    let exit = Instant::now();
    println!(
        "the trust anchor drops the partner organization {}",
        fed.id("org")
    );
    let refused = loop {
        match registry_b
            .verify_client_assertion(&resolver_b, &assertion(), &policy, &replay)
            .await
        {
            Err(e) => break e,
            Ok(_) if exit.elapsed() > Duration::from_secs(30) => {
                return Err("replica B still accepts the client after 30 s".into());
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let latency = exit.elapsed();
    let on_a = registry_a
        .verify_client_assertion(&resolver_a, &assertion(), &policy, &replay)
        .await;
    println!("replica B refuses it: {refused}");
    println!(
        "replica A refuses it: {}",
        on_a.err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "NO".into())
    );
    println!(
        "revocation latency, partner exit to refusal on replica B: {} ms",
        latency.as_millis()
    );
    // Give B's watcher a moment to publish what the trail now holds.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), events_b.recv()).await {
            Ok(Ok(e)) => {
                let revoked = matches!(&e, MonitorEvent::Client(c)
                    if matches!(c.kind, oidfed::registry::events::ClientEventKind::Revoked));
                seen.push(e);
                if revoked {
                    println!(
                        "replica B's watcher published the revocation {} ms after the exit",
                        exit.elapsed().as_millis()
                    );
                    break;
                }
            }
            _ => continue,
        }
    }
    println!("events on replica A:");
    drain("A", &mut events_a);
    println!("events on replica B:");
    for e in &seen {
        if let Some(line) = describe(e) {
            println!("  [B] {line}");
        }
    }
    drain("B", &mut events_b);
    println!("audit trail of {rp}:");
    for entry in registry_b.audit_of_client(&rp).await? {
        println!(
            "  #{} {} by {}: {}",
            entry.seq,
            entry.event.as_str(),
            entry.actor.as_str(),
            entry.detail
        );
    }
    handle_a.stop().await;
    handle_b.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
