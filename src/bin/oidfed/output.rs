//! Errors as the command prints them: one line on stderr, or (with `--json`) one JSON
//! document on stdout with `error`, `spec_code`, `transient` and the paths tried.

use oidfed::{Error, PathAttempt, Rule};
use serde_json::{Value, json};

use crate::Exit;

/// The exit code of a failed resolution or validation.
pub fn exit_for(e: &Error) -> Exit {
    if e.is_transient() {
        Exit::Transient
    } else {
        Exit::NotTrusted
    }
}

/// A short, stable name of the error's kind.
pub fn kind(e: &Error) -> &'static str {
    match e {
        Error::EntityId { .. } => "entity_id",
        Error::Statement(_) => "statement",
        Error::Fetch { .. } => "fetch",
        Error::Policy { .. } => "policy",
        Error::NoTrustChain { .. } => "no_trust_chain",
        Error::UntrustedAnchor { .. } => "untrusted_anchor",
        Error::EntityTypeNotFound { .. } => "entity_type_not_found",
        Error::LimitExceeded { .. } => "limit_exceeded",
        Error::OrganizationNotBound { .. } => "organization_not_bound",
        Error::TrustMarkRequired { .. } => "trust_mark_required",
        Error::InvalidRequest { .. } => "invalid_request",
        Error::InvalidClient { .. } => "invalid_client",
        Error::Config(_) => "config",
        _ => "other",
    }
}

fn rule_json(rule: Option<Rule>) -> (Value, Value) {
    match rule {
        Some(r) => (json!(format!("{r:?}")), json!(r.section())),
        None => (Value::Null, Value::Null),
    }
}

/// One failed path: entities, error, code, transience, rule.
pub fn attempt_json(a: &PathAttempt) -> Value {
    let (rule, section) = rule_json(a.error.rule());
    json!({
        "path": a.path,
        "valid": false,
        "error": a.error.to_string(),
        "kind": kind(&a.error),
        "spec_code": a.error.spec_code(),
        "transient": a.error.is_transient(),
        "rule": rule,
        "section": section,
    })
}

/// The paths an error carries (a failed search's attempts).
pub fn attempts_of(e: &Error) -> &[PathAttempt] {
    match e {
        Error::NoTrustChain { attempts, .. } => attempts,
        _ => &[],
    }
}

/// The JSON document of a failure of `command`.
pub fn error_json(command: &str, subject: Option<&str>, e: &Error) -> Value {
    let (rule, section) = rule_json(e.rule());
    json!({
        "oidfed": format!("{command}/1"),
        "trusted": false,
        "entity_id": subject,
        "error": e.to_string(),
        "kind": kind(e),
        "spec_code": e.spec_code(),
        "transient": e.is_transient(),
        "rule": rule,
        "section": section,
        "paths_tried": attempts_of(e).iter().map(attempt_json).collect::<Vec<_>>(),
        "exit_code": exit_for(e) as u8,
    })
}

/// Prints a usage-level failure (bad input, unusable configuration) and returns its exit.
pub fn usage_failure(command: &str, json: bool, exit: Exit, message: &str) -> Exit {
    if json {
        let doc = json!({
            "oidfed": format!("{command}/1"),
            "trusted": false,
            "error": message,
            "kind": if exit == Exit::Transient { "fetch" } else { "usage" },
            "spec_code": if exit == Exit::Transient { "temporarily_unavailable" } else { "invalid_request" },
            "transient": exit == Exit::Transient,
            "paths_tried": [],
            "exit_code": exit as u8,
        });
        print_json(&doc);
    } else {
        eprintln!("error: {message}");
    }
    exit
}

/// Prints a JSON document on stdout.
pub fn print_json(v: &Value) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => out!("{s}"),
        Err(e) => eprintln!("error: rendering JSON: {e}"),
    }
}
