//! `oidfed policy combine|apply`: the metadata policy engine (§6.1) on files. A policy file
//! is a `metadata_policy` value (Entity Type → parameter → operators) or an object holding
//! one under `metadata_policy` (e.g. a decoded subordinate statement); a metadata file is a
//! `metadata` value or an object holding one under `metadata`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use oidfed::policy::MetadataPolicy;
use serde_json::{Map, Value};

use crate::Exit;
use crate::output::print_json;

/// `oidfed policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Combine policies from the trust anchor's down to the immediate superior's and print
    /// the chain's policy.
    Combine {
        /// Policy files, the trust anchor's first.
        #[arg(required = true)]
        policies: Vec<PathBuf>,
    },
    /// Combine the policies and apply the result to a metadata file; print the resolved
    /// metadata.
    Apply {
        /// The metadata (Entity Type → parameters).
        metadata: PathBuf,
        /// Policy files, the trust anchor's first.
        #[arg(required = true)]
        policies: Vec<PathBuf>,
    },
}

enum Fail {
    Usage(String),
    Policy(String, &'static str),
}

fn read_json(path: &Path, wrapper: &str) -> Result<Value, Fail> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::Usage(format!("reading {}: {e}", path.display())))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Fail::Usage(format!("{} is not JSON: {e}", path.display())))?;
    Ok(match v.get(wrapper) {
        Some(inner) => inner.clone(),
        None => v,
    })
}

fn combined(policies: &[PathBuf]) -> Result<MetadataPolicy, Fail> {
    let mut current: Option<MetadataPolicy> = None;
    for p in policies {
        let raw = read_json(p, "metadata_policy")?;
        let parsed = MetadataPolicy::from_json(&raw)
            .map_err(|e| Fail::Policy(format!("{}: {e}", p.display()), e.code()))?;
        current = Some(match current {
            None => parsed,
            Some(c) => c.combine(&parsed).map_err(|e| {
                Fail::Policy(
                    format!("combining {} with the policies above it: {e}", p.display()),
                    e.code(),
                )
            })?,
        });
    }
    current.ok_or_else(|| Fail::Usage("no policy file given".into()))
}

fn apply(metadata: &Path, policies: &[PathBuf]) -> Result<Value, Fail> {
    let policy = combined(policies)?;
    let md = read_json(metadata, "metadata")?;
    let md: &Map<String, Value> = md.as_object().ok_or_else(|| {
        Fail::Usage(format!(
            "{} must hold an object of Entity Types",
            metadata.display()
        ))
    })?;
    policy
        .apply(md)
        .map(Value::Object)
        .map_err(|e| Fail::Policy(format!("applying to {}: {e}", metadata.display()), e.code()))
}

pub fn run(cmd: PolicyCommand) -> Exit {
    let result = match &cmd {
        PolicyCommand::Combine { policies } => combined(policies).map(|p| p.to_json()),
        PolicyCommand::Apply { metadata, policies } => apply(metadata, policies),
    };
    match result {
        Ok(v) => {
            print_json(&v);
            Exit::Ok
        }
        Err(Fail::Usage(m)) => {
            eprintln!("error: {m}");
            Exit::Usage
        }
        Err(Fail::Policy(m, code)) => {
            eprintln!("error ({code}): {m}");
            Exit::NotTrusted
        }
    }
}
