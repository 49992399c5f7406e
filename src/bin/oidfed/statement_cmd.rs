//! `oidfed statement`: decode one entity statement and check it on its own — syntax and
//! claim placement (§3), time, and its signature (an entity configuration with its own keys;
//! a subordinate statement with its issuer's keys when given) — naming each rule it breaks.

use clap::Args;
use oidfed::jose::CompactJws;
use oidfed::statement::{EntityStatement, StatementError, StatementRules};
use serde_json::{Value, json};

use crate::Exit;
use crate::anchors::{fetch_text, load_keys, now};
use crate::net::{NetworkArgs, parse_time, rfc3339};
use crate::output::{print_json, usage_failure};

/// `oidfed statement`.
#[derive(Debug, Args)]
pub struct StatementArgs {
    /// A URL to GET (for an entity's configuration: `<entity-id>/.well-known/openid-federation`)
    /// or a file holding the compact JWS (`-` reads stdin).
    pub source: String,
    /// The issuer's keys, to check a subordinate statement's signature: a JWK Set file, a
    /// file holding the issuer's configuration, or its URL.
    #[arg(long, value_name = "FILE|URL")]
    pub issuer_jwks: Option<String>,
    /// Judge times as of this instant (Unix seconds or RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<i64>,
    /// Leeway for iat/exp, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub clock_skew: i64,
    /// Accept `application/entity-statement+jwt` and case variants as `typ` (interop).
    #[arg(long)]
    pub lenient_typ: bool,
    /// One JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub net: NetworkArgs,
}

struct Check {
    name: &'static str,
    /// `None`: not checked (and why); `Some(Ok)`: passed; `Some(Err)`: the rule broken.
    result: Result<Option<String>, StatementError>,
}

impl Check {
    fn json(&self) -> Value {
        match &self.result {
            Ok(None) => json!({"check": self.name, "ok": true}),
            Ok(Some(why)) => json!({"check": self.name, "ok": null, "skipped": why}),
            Err(e) => json!({
                "check": self.name, "ok": false,
                "rule": format!("{:?}", e.rule), "section": e.rule.section(),
                "detail": e.detail, "error": e.to_string(),
            }),
        }
    }
}

pub async fn run(args: StatementArgs) -> Exit {
    let command = "statement";
    let json = args.json;
    args.net.warn();
    let fetcher = match args.net.fetcher() {
        Ok(f) => f,
        Err(e) => return usage_failure(command, json, Exit::Usage, &e.to_string()),
    };
    let token = if args.source.starts_with("https://") || args.source.starts_with("http://") {
        match fetch_text(&fetcher, &args.source, &args.source).await {
            Ok(t) => t,
            Err(e) => return usage_failure(command, json, e.exit, &e.message),
        }
    } else {
        let read = if args.source == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(&args.source)
        };
        match read {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("reading {}: {e}", args.source);
                return usage_failure(command, json, Exit::Usage, &msg);
            }
        }
    };
    let token = token.trim();
    let (header, claims) = match CompactJws::parse(token) {
        Ok(jws) => (
            Value::Object(jws.header().clone()),
            serde_json::from_slice::<Value>(jws.payload()).unwrap_or(Value::Null),
        ),
        Err(_) => (Value::Null, Value::Null),
    };
    let rules = StatementRules {
        allow_http: args.net.allow_http,
        lenient_typ: args.lenient_typ,
        ..StatementRules::default()
    };
    let now = now(args.at);
    let mut checks = Vec::new();
    let parsed = EntityStatement::parse(token, &rules);
    checks.push(Check {
        name: "syntax and claims (§3)",
        result: parsed.as_ref().map(|_| None).map_err(Clone::clone),
    });
    if let Ok(s) = &parsed {
        checks.push(Check {
            name: "time (iat, exp)",
            result: s.check_time(now, args.clock_skew.max(0)).map(|_| None),
        });
        let signature = if s.is_configuration() {
            s.verify_with(s.jwks(), "its own jwks").map(|_| None)
        } else if let Some(src) = &args.issuer_jwks {
            match load_keys(s.issuer().as_str(), src, &fetcher, args.net.allow_http).await {
                Ok(v) => match oidfed::jose::KeySet::from_json(&v) {
                    Ok(keys) => s.verify_with(&keys, "the issuer's keys").map(|_| None),
                    Err(e) => {
                        let msg = format!("the issuer's keys: {e}");
                        return usage_failure(command, json, Exit::Usage, &msg);
                    }
                },
                Err(e) => return usage_failure(command, json, e.exit, &e.message),
            }
        } else {
            Ok(Some(
                "a subordinate statement: give --issuer-jwks to check its signature".into(),
            ))
        };
        checks.push(Check {
            name: "signature",
            result: signature,
        });
    }
    let broken: Vec<String> = checks
        .iter()
        .filter_map(|c| c.result.as_ref().err().map(|e| format!("{:?}", e.rule)))
        .collect();
    let kind = parsed.as_ref().ok().map(|s| {
        if s.is_configuration() {
            "entity_configuration"
        } else {
            "subordinate_statement"
        }
    });
    if json {
        print_json(&json!({
            "oidfed": "statement/1",
            "source": args.source,
            "kind": kind,
            "issuer": claims.get("iss"),
            "subject": claims.get("sub"),
            "header": header,
            "claims": claims,
            "checks": checks.iter().map(Check::json).collect::<Vec<_>>(),
            "broken_rules": broken,
            "valid": broken.is_empty(),
        }));
    } else {
        print_human(&args.source, kind, &header, &claims, &checks, &broken);
    }
    if broken.is_empty() {
        Exit::Ok
    } else {
        Exit::NotTrusted
    }
}

fn print_human(
    source: &str,
    kind: Option<&str>,
    header: &Value,
    claims: &Value,
    checks: &[Check],
    broken: &[String],
) {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("?").to_string();
    let kind = match kind {
        Some("entity_configuration") => "Entity configuration",
        Some(_) => "Subordinate statement",
        None => "Statement",
    };
    out!(
        "{kind}  {} → {}",
        s(claims.get("iss")),
        s(claims.get("sub"))
    );
    out!("  from {source}");
    out!(
        "  alg {}, kid {:?}, typ {}",
        s(header.get("alg")),
        s(header.get("kid")),
        s(header.get("typ"))
    );
    let time = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_i64)
            .map(rfc3339)
            .unwrap_or_else(|| "?".into())
    };
    out!("  issued {}, expires {}", time("iat"), time("exp"));
    if let Some(h) = claims.get("authority_hints").and_then(Value::as_array) {
        let hints: Vec<&str> = h.iter().filter_map(Value::as_str).collect();
        out!("  authority_hints: {}", hints.join(", "));
    }
    if let Some(keys) = claims.pointer("/jwks/keys").and_then(Value::as_array) {
        let kids: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.get("kid").and_then(Value::as_str))
            .collect();
        out!("  jwks: {}", kids.join(", "));
    }
    for claim in ["metadata", "metadata_policy"] {
        if let Some(m) = claims.get(claim).and_then(Value::as_object) {
            let types: Vec<&str> = m.keys().map(String::as_str).collect();
            out!("  {claim}: {}", types.join(", "));
        }
    }
    if let Some(marks) = claims.get("trust_marks").and_then(Value::as_array) {
        let types: Vec<&str> = marks
            .iter()
            .filter_map(|m| m.get("trust_mark_type").and_then(Value::as_str))
            .collect();
        out!("  trust_marks: {}", types.join(", "));
    }
    for claim in ["constraints", "crit", "metadata_policy_crit"] {
        if let Some(v) = claims.get(claim) {
            out!("  {claim}: {v}");
        }
    }
    out!("\nChecks");
    for c in checks {
        match &c.result {
            Ok(None) => out!("  ✔ {}", c.name),
            Ok(Some(why)) => out!("  - {}: not checked ({why})", c.name),
            Err(e) => out!("  ✘ {}: {} — {}", c.name, e.rule, e.detail),
        }
    }
    if broken.is_empty() {
        out!("\nNo rule broken.");
    } else {
        out!("\nRules broken: {}", broken.join(", "));
    }
}
