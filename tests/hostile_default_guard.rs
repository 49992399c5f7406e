//! The default destination guard over the real `HttpFetcher`: literal hosts in every
//! spelling of a loopback, private or link-local address are refused.

mod common;
#[path = "common/hostile.rs"]
mod hostile_support;

use std::time::Duration;

use common::NOW;
use hostile_support::*;
use oidfed::fetch::{FetchError, FetchRequest, Fetcher, HttpFetcher};
use oidfed::{EntityId, Error, FixedClock, Resolver};

// ---------------------------------------------------------------------------------------
// 19. The default guard over the real HttpFetcher
// ---------------------------------------------------------------------------------------

/// Host names that /etc/hosts maps to loopback, other than `localhost` (refused by name):
/// these are refused only once resolved.
fn loopback_names_from_hosts_file() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        if !addr.starts_with("127.") {
            continue;
        }
        for name in fields {
            let lower = name.to_ascii_lowercase();
            if lower != "localhost"
                && !lower.ends_with(".localhost")
                && lower
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !names.contains(&lower)
            {
                names.push(lower);
            }
        }
    }
    names
}

#[tokio::test]
async fn literal_hosts_in_every_spelling_are_refused_by_the_default_guard() {
    // Something listens on 127.0.0.1: nothing may reach it.
    let listening = RawServer::start("127.0.0.1", |mut s, _| async move {
        respond(
            &mut s,
            "200 OK",
            "application/entity-statement+jwt",
            b"a.b.c",
        )
        .await;
    })
    .await;
    let p = listening.addr.port();
    let mut ids: Vec<String> = [
        "127.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
        "localhost",
        "LOCALHOST.",
        "a.localhost",
        "127.0.0.1.",
        "127.000.000.001",
        "0x7f.0x0.0x0.0x1",
        "%31%32%37.0.0.1",
        "\u{ff11}\u{ff12}\u{ff17}.0.0.1",
    ]
    .iter()
    .map(|h| format!("https://{h}:{p}"))
    .collect();
    ids.extend(
        [
            "[::1]",
            "[::]",
            "[fe80::1]",
            "[fc00::1]",
            "0.0.0.0",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.0.1",
            "255.255.255.255",
        ]
        .iter()
        .map(|h| format!("https://{h}/")),
    );
    let names = loopback_names_from_hosts_file();
    ids.extend(names.iter().map(|n| format!("https://{n}:{p}/")));

    // The in-memory federation only provides the anchor and a chain handed over whole.
    let fed = common::three_level().build();
    let r = Resolver::builder()
        .clock(FixedClock::new(NOW))
        .resolution_timeout(Duration::from_secs(3))
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .build()
        .expect("a resolver with the default HttpFetcher and guard");
    let raw = HttpFetcher::new().unwrap();
    for s in &ids {
        let Ok(id) = EntityId::parse(s) else {
            // Not even an Entity Identifier: refused before any traffic, typed.
            let e = r.entity_id(s).unwrap_err();
            assert!(matches!(e, Error::EntityId { .. }), "{s}: {e}");
            continue;
        };
        let e = resolve_err(&r, &id).await;
        assert!(
            matches!(
                &e,
                Error::Fetch {
                    what: "entity configuration",
                    source: FetchError::Refused { .. },
                    ..
                }
            ),
            "{s}: {e}"
        );
        assert!(!e.is_transient(), "{s}: {e}");
        // The fetcher itself, asked directly.
        let direct = within(raw.fetch(FetchRequest::entity_configuration(&id))).await;
        assert!(
            matches!(direct, Err(FetchError::Refused { .. })),
            "{s}: {direct:?}"
        );
        // The same host over plain http: refused for the scheme already.
        let plain = url::Url::parse(&s.replacen("https://", "http://", 1)).unwrap();
        let direct =
            within(raw.fetch(FetchRequest::get(plain, oidfed::fetch::FetchKind::Other))).await;
        assert!(
            matches!(direct, Err(FetchError::Refused { .. })),
            "{s}: {direct:?}"
        );
    }
    assert_eq!(
        listening.connections(),
        0,
        "a refused destination was reached"
    );
    // Still usable: a chain handed over whole validates.
    let ok = within(r.resolve_received_chain(&fed.chain(&["rp", "org", "ta"], true), &RP))
        .await
        .expect("chain handed over");
    assert_eq!(ok.trust_anchor(), &fed.id("ta"));
}
