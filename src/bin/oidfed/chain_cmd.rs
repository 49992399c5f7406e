//! `oidfed validate-chain`: a chain handed over whole — a `trust_chain` header value (a JSON
//! array, or one JWS per line) or an explicit-registration request body (a JSON array, or the
//! client's entity configuration carrying a `trust_chain` header) — validated against the
//! configured anchors without discovery (§4.3, §12.2).

use std::path::PathBuf;

use clap::Args;
use oidfed::EntityType;
use oidfed::jose::CompactJws;
use serde_json::Value;

use crate::Exit;
use crate::anchors::{AnchorArgs, ResolverOptions, build_resolver};
use crate::net::{NetworkArgs, parse_time};
use crate::output::{error_json, exit_for, print_json, usage_failure};
use crate::report::{deviations, print_trusted, trusted_json};
use crate::resolve::print_failure;

/// `oidfed validate-chain`.
#[derive(Debug, Args)]
pub struct ValidateChainArgs {
    /// The file: a JSON array of statements, one statement per line, or an entity
    /// configuration with a `trust_chain` header (`-` reads stdin).
    pub file: PathBuf,
    #[command(flatten)]
    pub anchors: AnchorArgs,
    /// The Entity Type whose metadata is resolved.
    #[arg(long, default_value = "openid_relying_party", value_name = "TYPE")]
    pub entity_type: String,
    /// Judge times as of this instant (Unix seconds or RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<i64>,
    /// One JSON document on stdout (errors too).
    #[arg(long)]
    pub json: bool,
    /// Accept `application/entity-statement+jwt` and case variants as `typ` (interop).
    #[arg(long)]
    pub lenient_typ: bool,
    #[command(flatten)]
    pub net: NetworkArgs,
}

/// Where the statements came from.
fn split_chain(text: &str) -> Result<(&'static str, Vec<String>), String> {
    let text = text.trim();
    if text.starts_with('[') {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON array: {e}"))?;
        let items = v.as_array().ok_or("not a JSON array")?;
        let chain = items
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("the array holds something other than strings")?;
        return Ok(("json_array", chain));
    }
    let tokens: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    if tokens.len() == 1 {
        let jws = CompactJws::parse(&tokens[0]).map_err(|e| format!("not a JWS: {e}"))?;
        let header_chain = jws
            .header()
            .get("trust_chain")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            });
        return match header_chain {
            Some(Some(chain)) => Ok(("trust_chain_header", chain)),
            Some(None) => Err("its trust_chain header holds something other than strings".into()),
            None => Err(
                "one statement without a trust_chain header: nothing to validate as a chain; resolve its issuer with `oidfed resolve`".into(),
            ),
        };
    }
    if tokens.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(("jws_lines", tokens))
}

fn read(file: &PathBuf) -> std::io::Result<String> {
    if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
}

pub async fn run(args: ValidateChainArgs) -> Exit {
    let command = "validate-chain";
    let json = args.json;
    let text = match read(&args.file) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("reading {}: {e}", args.file.display());
            return usage_failure(command, json, Exit::Usage, &msg);
        }
    };
    let (source, chain) = match split_chain(&text) {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("{}: {e}", args.file.display());
            return usage_failure(command, json, Exit::Usage, &msg);
        }
    };
    let opts = ResolverOptions {
        lenient_typ: args.lenient_typ,
        at: args.at,
        ..ResolverOptions::default()
    };
    let resolver = match build_resolver(&args.net, &args.anchors, &opts).await {
        Ok(r) => r,
        Err(e) => return usage_failure(command, json, e.exit, &e.message),
    };
    let entity_type = EntityType::new(args.entity_type.clone());
    let tolerated = deviations(args.net.allow_http, args.lenient_typ);
    let result = match resolver.resolve_received_chain(&chain, &entity_type).await {
        Ok(r) => resolver.record_from(&r).await.map(|rec| (r, rec)),
        Err(e) => Err(e),
    };
    match result {
        Ok((resolved, record)) => {
            if json {
                let mut doc = trusted_json(command, &resolved, &record, &tolerated);
                if let Some(o) = doc.as_object_mut() {
                    o.insert("source".into(), source.into());
                    o.insert("statements".into(), chain.len().into());
                }
                print_json(&doc);
            } else {
                out!("{} statements read ({source})\n", chain.len());
                print_trusted(&resolved, &record, &tolerated);
            }
            Exit::Ok
        }
        Err(e) => {
            let subject = chain.first().and_then(|j| {
                let jws = CompactJws::parse(j).ok()?;
                let v: Value = serde_json::from_slice(jws.payload()).ok()?;
                v.get("sub").and_then(Value::as_str).map(str::to_string)
            });
            if json {
                let mut doc = error_json(command, subject.as_deref(), &e);
                if let Some(o) = doc.as_object_mut() {
                    o.insert("source".into(), source.into());
                    o.insert("statements".into(), chain.len().into());
                }
                print_json(&doc);
            } else {
                print_failure(subject.as_deref().unwrap_or("?"), &e);
            }
            exit_for(&e)
        }
    }
}
