//! Resolve an entity through OpenID Federation and print who vouches for it.
//!
//! ```text
//! cargo run --example resolve -- --demo [--json]
//! cargo run --example resolve -- <entity-id> --trust-anchor <id> --trust-anchor-jwks <file> \
//!     [--entity-type openid_relying_party] [--json]
//! ```
//!
//! `--demo` starts the demo federation of `fixtures/demo-federation.json` on loopback (a
//! trust anchor, an organization's intermediate, a relying party and an OpenID provider,
//! with freshly generated ES256 and RS256 keys) and resolves the relying party over real
//! HTTP; then it stores the relying party in a client registry (a temporary SQLite file)
//! and prints what the registry holds: its organization binding, the evidence of that
//! binding, its status and its audit trail.

use std::process::ExitCode;

use oidfed::fetch::{DestinationGuard, HttpFetcher};
use oidfed::registry::Registry;
use oidfed::{EntityType, ResolvedEntity, Resolver};
use serde_json::{Value, json};

struct Args {
    demo: bool,
    json: bool,
    entity: Option<String>,
    anchor: Option<String>,
    anchor_jwks: Option<String>,
    entity_type: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        demo: false,
        json: false,
        entity: None,
        anchor: None,
        anchor_jwks: None,
        entity_type: "openid_relying_party".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--demo" => a.demo = true,
            "--json" => a.json = true,
            "--trust-anchor" => a.anchor = Some(value("--trust-anchor")?),
            "--trust-anchor-jwks" => a.anchor_jwks = Some(value("--trust-anchor-jwks")?),
            "--entity-type" => a.entity_type = value("--entity-type")?,
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other => a.entity = Some(other.to_string()),
        }
    }
    if !a.demo && (a.entity.is_none() || a.anchor.is_none() || a.anchor_jwks.is_none()) {
        return Err(
            "give --demo, or <entity-id> --trust-anchor <id> --trust-anchor-jwks <file>".into(),
        );
    }
    Ok(a)
}

const USAGE: &str = "usage: resolve --demo [--json]\n       resolve <entity-id> --trust-anchor <id> --trust-anchor-jwks <file> [--entity-type T] [--json]";

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let entity_type = EntityType::new(args.entity_type.clone());
    // Keep the demo server alive for the whole resolution.
    let mut _server = None;
    let (resolver, subject) = if args.demo {
        let (fed, server) = oidfed::testing::demo::builder().serve().await?;
        // Loopback http is opened explicitly, for the demo only.
        let fetcher = HttpFetcher::builder()
            .guard(
                DestinationGuard::new()
                    .allow_http(true)
                    .allow_network("127.0.0.0/8".parse()?),
            )
            .build()?;
        let resolver = Resolver::builder()
            .allow_http(true)
            .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
            .fetcher(fetcher)
            .build()?;
        _server = Some(server);
        (resolver, fed.id("rp"))
    } else {
        let jwks: Value = serde_json::from_str(&std::fs::read_to_string(
            args.anchor_jwks.as_deref().unwrap_or_default(),
        )?)?;
        let resolver = Resolver::builder()
            .trust_anchor(args.anchor.as_deref().unwrap_or_default(), &jwks)
            .build()?;
        let subject = resolver.entity_id(args.entity.as_deref().unwrap_or_default())?;
        (resolver, subject)
    };

    let resolved = resolver.resolve(&subject, &entity_type).await?;
    // The demo also stores the client in a client registry (a temporary SQLite file).
    let stored = if args.demo {
        Some(store_in_registry(&resolver, &subject, &entity_type).await?)
    } else {
        None
    };
    if args.json {
        let mut out = as_json(&resolved);
        if let Some(s) = stored {
            out["registry"] = s;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_human(&resolved);
        if let Some(s) = stored {
            print_registry(&s);
        }
    }
    Ok(())
}

/// Admits the client into a registry in a temporary SQLite file and reads back what the
/// registry holds: organization binding, its evidence, status. The file is removed after.
async fn store_in_registry(
    resolver: &Resolver,
    subject: &oidfed::EntityId,
    entity_type: &EntityType,
) -> Result<Value, Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("oidfed-demo-registry-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let result = async {
        let registry = Registry::open(&url).await?;
        registry.admit(resolver, subject, entity_type).await?;
        // Read back from the database, as another replica would.
        let client = registry
            .client(subject)
            .await?
            .ok_or("the registry lost the client")?;
        let status = client.status();
        let out = json!({
            "database": url,
            "client_id": client.client_id(),
            "organization": client.organization(),
            "registration_model": client.registration_model(),
            "status": status,
            "audit": registry.audit_of_client(subject).await?,
        });
        registry.close().await;
        Ok::<_, Box<dyn std::error::Error>>(out)
    }
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    result
}

fn print_registry(s: &Value) {
    println!(
        "\nStored in the client registry ({}, a temporary file):",
        s["database"].as_str().unwrap_or("")
    );
    let org = &s["organization"];
    if org.is_null() {
        println!("  organization: none named by the chain");
    } else {
        println!(
            "  organization: {} ({})",
            org["entity_id"].as_str().unwrap_or(""),
            org["name"].as_str().unwrap_or("no organization_name")
        );
        let ev = &org["evidence"];
        match ev["by"].as_str() {
            Some(by) => println!(
                "  evidence of the binding: {} by {by}",
                ev["kind"].as_str().unwrap_or("")
            ),
            None => println!(
                "  evidence of the binding: {}",
                ev["kind"].as_str().unwrap_or("")
            ),
        }
    }
    let st = &s["status"];
    println!(
        "  status: {} since {} ({})",
        st["kind"].as_str().unwrap_or(""),
        when(st["since"].as_i64().unwrap_or(0)),
        st["reason"].as_str().unwrap_or("")
    );
    println!(
        "  registration model: {}",
        s["registration_model"].as_str().unwrap_or("")
    );
    if let Some(entries) = s["audit"].as_array() {
        for e in entries {
            println!(
                "  audit #{}: {} by {} on chain {}",
                e["seq"],
                e["event"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
                e["chain_fingerprint"].as_str().unwrap_or("-")
            );
        }
    }
}

fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn print_human(r: &ResolvedEntity) {
    let chain = r.chain();
    println!(
        "✔ {} is trusted as {} via trust anchor {}",
        r.entity_id(),
        r.entity_type(),
        r.trust_anchor()
    );
    println!(
        "  chain valid until {} ({} statements)",
        when(r.expires_at()),
        chain.statements().len()
    );
    println!("\nWho vouches for whom:");
    for s in chain.statements() {
        if s.is_configuration() {
            println!(
                "  {} describes itself (until {})",
                s.subject(),
                when(s.expires_at())
            );
        } else {
            println!(
                "  {} vouches for {} (until {})",
                s.issuer(),
                s.subject(),
                when(s.expires_at())
            );
        }
    }
    println!("\nResolved {} metadata:", r.entity_type());
    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(r.metadata().clone())).unwrap_or_default()
    );
}

fn as_json(r: &ResolvedEntity) -> Value {
    json!({
        "entity_id": r.entity_id(),
        "entity_type": r.entity_type(),
        "trust_anchor": r.trust_anchor(),
        "expires_at": r.expires_at(),
        "path": r.chain().path(),
        "trust_chain": r.chain().to_jwts(),
        "metadata": r.metadata(),
    })
}
