//! `oidfed demo`: serves the demo federation (`fixtures/demo-federation.json`, fresh keys)
//! on loopback over HTTP and prints its entity identifiers and how to resolve against it.
//! Runs until interrupted (Ctrl-C), or for `--for` seconds.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use oidfed::testing::demo::{DEMO_FIXTURE, builder};
use serde_json::{Value, json};

use crate::Exit;

/// `oidfed demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long = "for", value_name = "SECS")]
    pub for_secs: Option<u64>,
    /// The host name in the entity identifiers; it must resolve to 127.0.0.1 (e.g.
    /// `localhost`, to try --allow-host). Default: the address itself.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Also write the trust anchor's public keys (a JWK Set) to this file, to pin them.
    #[arg(long, value_name = "FILE")]
    pub jwks_out: Option<PathBuf>,
    /// Print the federation as one JSON line instead of the guide.
    #[arg(long)]
    pub json: bool,
}

/// (name, role) of each entity of the fixture.
fn roles() -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(DEMO_FIXTURE).unwrap_or(Value::Null);
    v.get("entities")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e.get("name")?.as_str()?.to_string(),
                        e.get("role")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn run(args: DemoArgs) -> Exit {
    let served = match &args.host {
        Some(h) => builder().serve_as(h).await,
        None => builder().serve().await,
    };
    let (fed, _server) = match served {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: serving the demo federation on loopback: {e}");
            return Exit::Usage;
        }
    };
    let ta = fed.id("ta");
    let ta_config = ta.well_known_url().to_string();
    if let Some(path) = &args.jwks_out {
        let jwks = serde_json::to_string_pretty(&fed.public_jwks("ta")).unwrap_or_default();
        if let Err(e) = std::fs::write(path, jwks) {
            eprintln!("error: writing {}: {e}", path.display());
            return Exit::Usage;
        }
    }
    let network = match &args.host {
        Some(h) => format!("--allow-host {h}"),
        None => "--allow-network 127.0.0.0/8".to_string(),
    };
    let keys = args
        .jwks_out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ta_config.clone());
    let command = format!(
        "oidfed resolve {} --trust-anchor {ta} --trust-anchor-jwks {keys} --allow-http {network}",
        fed.id("rp")
    );
    if args.json {
        let entities: serde_json::Map<String, Value> = roles()
            .into_iter()
            .map(|(n, role)| (n.clone(), json!({"entity_id": fed.id(&n), "role": role})))
            .collect();
        let doc = json!({
            "base": fed.base(),
            "trust_anchor": ta,
            "trust_anchor_configuration": ta_config,
            "trust_anchor_jwks_file": args.jwks_out.as_ref().map(|p| p.display().to_string()),
            "entities": entities,
            "resolve": command,
        });
        // One line, so a script can read it before the server stops.
        out!("{doc}");
    } else {
        out!("oidfed demo federation on {} (fresh keys)", fed.base());
        for (name, role) in roles() {
            out!("  {role:<13} {}", fed.id(&name));
        }
        out!("\ntrust anchor {ta}");
        out!("  its configuration: {ta_config}");
        if let Some(p) = &args.jwks_out {
            out!("  its keys, to pin:  {}", p.display());
        }
        out!("\nTry (from another terminal):\n  {command}");
        out!(
            "  add --json, --dot or --mermaid; `oidfed statement {ta_config} --allow-http {network}`"
        );
        match args.for_secs {
            Some(s) => out!("\nServing for {s} s."),
            None => out!("\nServing until Ctrl-C."),
        }
    }
    match args.for_secs {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => std::future::pending::<()>().await,
    }
    Exit::Ok
}
