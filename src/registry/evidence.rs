//! Evidence from a failed re-validation: which statement (issuer → subject), which rule,
//! which specification error code. A failed search names the path that failed.

use super::model::{Evidence, StatementRef};
use crate::error::{Error, PathAttempt};

/// The evidence an error gives, on the chain `fingerprint` the client's record rested on.
pub(crate) fn evidence_of(error: &Error, fingerprint: Option<&str>) -> Evidence {
    let mut e = from_error(error, None);
    e.code = Some(error.spec_code().to_string());
    e.chain_fingerprint = fingerprint.map(str::to_string);
    e
}

fn from_error(error: &Error, attempt: Option<&PathAttempt>) -> Evidence {
    match error {
        Error::Statement(se) => Evidence {
            statement: match (&se.issuer, &se.subject) {
                (Some(i), Some(s)) => Some(StatementRef {
                    issuer: i.clone(),
                    subject: s.clone(),
                }),
                (Some(i), None) | (None, Some(i)) => Some(StatementRef {
                    issuer: i.clone(),
                    subject: i.clone(),
                }),
                (None, None) => None,
            },
            rule: Some(se.rule.to_string()),
            detail: se.to_string(),
            ..Evidence::default()
        },
        Error::Fetch {
            entity,
            what,
            source,
        } => {
            // On a path [.., subject, superior], a failed Subordinate Statement is the
            // superior's statement about the subject; a failed configuration is the
            // entity's own.
            let statement = if *what == "subordinate statement" {
                attempt
                    .and_then(|a| a.path.last())
                    .map(|issuer| StatementRef {
                        issuer: issuer.to_string(),
                        subject: entity.to_string(),
                    })
            } else {
                Some(StatementRef {
                    issuer: entity.to_string(),
                    subject: entity.to_string(),
                })
            };
            let rule = if source.is_not_found() {
                "not_found"
            } else if source.is_transient() {
                "unreachable"
            } else {
                "fetch"
            };
            Evidence {
                statement,
                rule: Some(rule.to_string()),
                detail: error.to_string(),
                ..Evidence::default()
            }
        }
        Error::NoTrustChain { attempts, .. } => {
            // The most telling attempt: a permanent failure over a transient one.
            let best = attempts
                .iter()
                .find(|a| !a.error.is_transient())
                .or_else(|| attempts.first());
            match best {
                Some(a) => {
                    let mut e = from_error(&a.error, Some(a));
                    e.detail = format!("{a}");
                    e
                }
                None => Evidence::detail(error.to_string()),
            }
        }
        Error::Policy { via, .. } => Evidence {
            statement: via.split_once(" → ").map(|(i, s)| StatementRef {
                issuer: i.to_string(),
                subject: s.to_string(),
            }),
            rule: Some("metadata_policy".into()),
            detail: error.to_string(),
            ..Evidence::default()
        },
        Error::UntrustedAnchor { anchor } => Evidence {
            statement: Some(StatementRef {
                issuer: anchor.clone(),
                subject: anchor.clone(),
            }),
            rule: Some("trust_anchor".into()),
            detail: error.to_string(),
            ..Evidence::default()
        },
        other => Evidence {
            rule: other.rule().map(|r| r.to_string()),
            detail: other.to_string(),
            ..Evidence::default()
        },
    }
}
