//! What a trusted entity looks like on the terminal (a tree of who vouches for whom) and as
//! one stable JSON document: the chain, the organization binding with its evidence, trust
//! marks valid and rejected, the resolved metadata, every path tried.

use oidfed::statement::EntityStatement;
use oidfed::{BindingEvidence, ClientRecord, ResolvedEntity, TrustChain};
use serde_json::{Value, json};

use crate::net::rfc3339;
use crate::output::attempt_json;

/// What was tolerated beyond the strict rules, as configured.
pub fn deviations(allow_http: bool, lenient_typ: bool) -> Vec<&'static str> {
    let mut d = Vec::new();
    if allow_http {
        d.push("http entity identifiers and endpoints (--allow-http)");
    }
    if lenient_typ {
        d.push("typ application/entity-statement+jwt and case variants (--lenient-typ)");
    }
    d
}

fn statement_json(s: &EntityStatement) -> Value {
    json!({
        "issuer": s.issuer(),
        "subject": s.subject(),
        "kind": if s.is_configuration() { "entity_configuration" } else { "subordinate_statement" },
        "alg": s.alg().name(),
        "kid": s.kid(),
        "issued_at": s.issued_at(),
        "expires_at": s.expires_at(),
        "expires_at_rfc3339": rfc3339(s.expires_at()),
    })
}

fn chain_summary(c: &TrustChain) -> Value {
    json!({
        "trust_anchor": c.anchor(),
        "path": c.path(),
        "expires_at": c.expires_at(),
    })
}

/// Every path tried: the chosen chain, the other valid ones, the failed ones.
pub fn paths_json(r: &ResolvedEntity) -> Vec<Value> {
    let mut out = vec![
        json!({"path": r.chain().path(), "valid": true, "chosen": true,
        "trust_anchor": r.trust_anchor()}),
    ];
    for alt in r.alternatives() {
        out.push(json!({"path": alt.path(), "valid": true, "chosen": false,
            "trust_anchor": alt.anchor()}));
    }
    out.extend(r.failed_paths().iter().map(attempt_json));
    out
}

/// The JSON document of a trusted entity.
pub fn trusted_json(
    command: &str,
    r: &ResolvedEntity,
    record: &ClientRecord,
    deviations: &[&str],
) -> Value {
    json!({
        "oidfed": format!("{command}/1"),
        "trusted": true,
        "entity_id": r.entity_id(),
        "entity_type": r.entity_type(),
        "trust_anchor": r.trust_anchor(),
        "expires_at": r.expires_at(),
        "expires_at_rfc3339": rfc3339(r.expires_at()),
        "path": r.chain().path(),
        "chain": r.chain().statements().iter().map(|s| statement_json(s)).collect::<Vec<_>>(),
        "chain_fingerprint": record.chain_fingerprint,
        "trust_chain": record.trust_chain,
        "organization": record.organization,
        "trust_marks": {
            "valid": r.trust_marks().iter().map(|m| json!({
                "trust_mark_type": m.trust_mark_type,
                "issuer": m.issuer,
                "expires_at": m.expires_at,
                "validation": m.validation,
                "status_checked": m.status_checked,
            })).collect::<Vec<_>>(),
            "rejected": r.rejected_trust_marks(),
        },
        "metadata": r.metadata(),
        "keys": {"source": record.key_source, "kids": record.key_ids()},
        "alternatives": r.alternatives().iter().map(chain_summary).collect::<Vec<_>>(),
        "paths_tried": paths_json(r),
        "deviations_tolerated": deviations,
    })
}

fn evidence_text(e: &BindingEvidence) -> String {
    match e {
        BindingEvidence::SuperiorPolicy { by } => {
            format!("asserted: a `value` policy on organization_name in a statement by {by}")
        }
        BindingEvidence::SuperiorMetadata { by } => {
            format!("asserted: {by} sets organization_name in its statement about the client")
        }
        BindingEvidence::SelfDeclared => {
            "self-declared: only the client names its organization".into()
        }
        BindingEvidence::ChainOnly => {
            "chain only: nobody names the organization; the chain's structure is the binding".into()
        }
        _ => format!("{e:?}"),
    }
}

/// The human report of a trusted entity.
pub fn print_trusted(r: &ResolvedEntity, record: &ClientRecord, deviations: &[&str]) {
    out!(
        "✔ TRUSTED  {} as {}",
        r.entity_id(),
        r.entity_type().as_str()
    );
    out!("  trust anchor  {}", r.trust_anchor());
    out!(
        "  valid until   {} (the earliest exp of the chain and the accepted trust marks)",
        rfc3339(r.expires_at())
    );

    out!("\nChain: who vouches for whom");
    let statements = r.chain().statements();
    let mut depth = 0;
    if let Some(top) = statements
        .last()
        .filter(|s| s.is_configuration() && statements.len() > 1)
    {
        out!(
            "  {}  trust anchor: own configuration signed with kid {:?} (pinned key), until {}",
            top.subject(),
            top.kid(),
            rfc3339(top.expires_at())
        );
    } else if let Some(top) = statements.iter().rev().find(|s| !s.is_configuration()) {
        out!("  {}  trust anchor (pinned keys)", top.issuer());
    }
    for s in statements.iter().rev().filter(|s| !s.is_configuration()) {
        let pad = "   ".repeat(depth);
        out!(
            "  {pad}└─ vouches for {}  until {}  signed with kid {:?} of {}",
            s.subject(),
            rfc3339(s.expires_at()),
            s.kid(),
            s.issuer()
        );
        depth += 1;
    }
    if let Some(ec) = statements.first().filter(|_| statements.len() > 1) {
        let pad = "   ".repeat(depth);
        out!(
            "  {pad}└─ {}  own configuration signed with kid {:?}, until {}",
            ec.subject(),
            ec.kid(),
            rfc3339(ec.expires_at())
        );
    }

    out!("\nOrganization");
    match &record.organization {
        Some(o) => {
            out!(
                "  {}  {}{}",
                o.name.as_deref().unwrap_or("(unnamed)"),
                o.entity_id,
                o.uri
                    .as_deref()
                    .map(|u| format!("  <{u}>"))
                    .unwrap_or_default()
            );
            out!("  evidence: {}", evidence_text(&o.evidence));
            let path: Vec<&str> = o.authority_path.iter().map(|e| e.as_str()).collect();
            out!("  authority path: {}", path.join(" → "));
        }
        None => out!("  none: the chain names no accountable organization"),
    }

    out!("\nTrust marks");
    if r.trust_marks().is_empty() && r.rejected_trust_marks().is_empty() {
        out!("  none");
    }
    for m in r.trust_marks() {
        out!(
            "  ✔ {}  issued by {}, {}, checked: {}{}",
            m.trust_mark_type,
            m.issuer,
            m.expires_at
                .map(|t| format!("until {}", rfc3339(t)))
                .unwrap_or_else(|| "no expiry".into()),
            format!("{:?}", m.validation).to_lowercase(),
            if m.status_checked {
                ", status confirmed active"
            } else {
                ""
            }
        );
    }
    for m in r.rejected_trust_marks() {
        out!(
            "  ✘ {}  issued by {}: {}",
            m.trust_mark_type,
            m.issuer.as_deref().unwrap_or("?"),
            m.reason
        );
    }

    let kids: Vec<String> = record.key_ids().into_iter().collect();
    out!(
        "\nProtocol keys: {} ({:?})",
        if kids.is_empty() {
            "none".to_string()
        } else {
            kids.join(", ")
        },
        record.key_source
    );
    out!("\nResolved {} metadata", r.entity_type().as_str());
    let md = serde_json::to_string_pretty(&Value::Object(r.metadata().clone())).unwrap_or_default();
    for line in md.lines() {
        out!("  {line}");
    }

    if !r.alternatives().is_empty() || !r.failed_paths().is_empty() {
        out!("\nOther paths tried");
        for alt in r.alternatives() {
            let path = alt.path();
            let p: Vec<&str> = path.iter().map(|e| e.as_str()).collect();
            out!("  ✔ {} (valid, not chosen)", p.join(" → "));
        }
        for a in r.failed_paths() {
            let p: Vec<&str> = a.path.iter().map(|e| e.as_str()).collect();
            out!("  ✘ {}: {}", p.join(" → "), a.error);
        }
    }
    out!(
        "\nDeviations tolerated: {}",
        if deviations.is_empty() {
            "none (strict)".to_string()
        } else {
            deviations.join("; ")
        }
    );
}
