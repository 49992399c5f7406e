//! Trust marks of a resolved entity (§7.3, §8.4): trust in the issuer first (its own chain
//! to the same anchor), then the mark, its delegation when the anchor names an owner, its
//! recognition by the anchor, and optionally its status at the issuer.

use crate::discovery::Walk;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ResolvedEntity, Resolver};
use crate::chain::TrustChain;
use crate::entity_id::EntityId;
use crate::error::RequiredMarkProblem;
use crate::error::{Error, Limit};
use crate::fetch::{FetchKind, FetchRequest};
use crate::jose::KeySet;
use crate::profile::{Deviation, Profile, Tolerance};
use crate::statement::EntityStatement;
use crate::trust_mark::{
    MarkRules, MarkValidation, RejectedTrustMark, StatusCheck, TrustMark, ValidTrustMark, owner,
    recognised,
};

impl Resolver {
    /// Validates the subject's trust marks against the chosen chain's anchor and applies
    /// `require_trust_marks`. The result's expiry becomes the minimum of the chain's and
    /// every accepted mark's `exp`.
    /// [`Resolver::evaluate_trust_marks`] within the walk's deadline: running out of time
    /// is the resolution's timeout for `subject`.
    pub(crate) async fn evaluate_trust_marks_within(
        &self,
        resolved: &mut ResolvedEntity,
        walk: &Arc<Walk>,
        subject: &EntityId,
    ) -> Result<(), Error> {
        tokio::time::timeout_at(walk.deadline, self.evaluate_trust_marks(resolved, walk))
            .await
            .map_err(|_| self.out_of_time(subject))?
    }

    pub(crate) async fn evaluate_trust_marks(
        &self,
        resolved: &mut ResolvedEntity,
        walk: &Arc<Walk>,
    ) -> Result<(), Error> {
        let Some(ec) = resolved.chain.subject_configuration().cloned() else {
            return Ok(());
        };
        let entries = ec.trust_marks();
        let limit = self.inner.limits.max_trust_marks;
        if entries.len() > limit {
            resolved.rejected_marks.push(RejectedTrustMark {
                trust_mark_type: String::new(),
                issuer: None,
                reason: Error::LimitExceeded {
                    limit: Limit::TrustMarks,
                    value: limit as u64,
                    context: Some(format!(
                        "{} trust marks; the rest were not examined",
                        entries.len()
                    )),
                }
                .to_string(),
            });
        }
        if !entries.is_empty() {
            let anchor_ec = self.anchor_configuration(&resolved.chain, walk).await;
            for entry in entries.iter().take(limit) {
                match self
                    .check_mark(
                        &entry.trust_mark,
                        &entry.trust_mark_type,
                        resolved,
                        anchor_ec.as_ref(),
                        walk,
                    )
                    .await
                {
                    Ok((valid, deviations)) => {
                        resolved.marks.push(valid);
                        resolved.mark_deviations.extend(deviations);
                    }
                    Err((issuer, reason)) => resolved.rejected_marks.push(RejectedTrustMark {
                        trust_mark_type: entry.trust_mark_type.clone(),
                        issuer,
                        reason,
                    }),
                }
            }
        }
        for required in &self.inner.required_marks {
            if !resolved
                .marks
                .iter()
                .any(|m| &m.trust_mark_type == required)
            {
                let reason = resolved
                    .rejected_marks
                    .iter()
                    .find(|r| &r.trust_mark_type == required)
                    .map(|r| RequiredMarkProblem::Invalid(Box::new(r.clone())))
                    .unwrap_or(RequiredMarkProblem::Missing);
                return Err(Error::TrustMarkRequired {
                    subject: resolved.entity_id().clone(),
                    trust_mark_type: required.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The anchor's Entity Configuration, verified with the pinned keys: from the chain when
    /// it holds it, otherwise fetched.
    async fn anchor_configuration(
        &self,
        chain: &TrustChain,
        walk: &Arc<Walk>,
    ) -> Result<Arc<EntityStatement>, String> {
        if let Some(last) = chain
            .statements()
            .last()
            .filter(|s| s.is_configuration() && s.issuer() == chain.anchor())
        {
            return Ok(last.clone());
        }
        let anchor = walk
            .anchors
            .iter()
            .find(|a| a.id() == chain.anchor())
            .ok_or("the anchor is not configured")?;
        let ec = walk
            .entity_configuration(anchor.id())
            .await
            .map_err(|e| format!("the trust anchor's configuration: {e}"))?;
        ec.verify_with(anchor.keys(), "configured keys of the trust anchor")
            .map_err(|e| e.to_string())?;
        Ok(ec)
    }

    async fn check_mark(
        &self,
        jwt: &str,
        declared_type: &str,
        resolved: &ResolvedEntity,
        anchor_ec: Result<&Arc<EntityStatement>, &String>,
        walk: &Arc<Walk>,
    ) -> Result<(ValidTrustMark, Vec<Deviation>), (Option<String>, String)> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let rules = MarkRules {
            algs: &inner.rules.algs,
            now,
            skew: inner.skew,
            allow_http: inner.rules.allow_http,
            tolerances: inner.rules.tolerances,
        };
        let subject = resolved.entity_id();
        let (mark, deviations) = TrustMark::parse_with(jwt, declared_type, subject, &rules)
            .map_err(|e| {
                // Say when the interoperability profile would have read it.
                let wider = MarkRules {
                    tolerances: rules.tolerances.union(Profile::Interop.tolerances()),
                    ..rules
                };
                match TrustMark::parse_with(jwt, declared_type, subject, &wider) {
                    Ok((_, used)) if wider.tolerances != rules.tolerances => {
                        let used: Vec<&str> = used.iter().map(|d| d.tolerance.name()).collect();
                        let hint = format!(
                            "{e} (the {} profile would accept it, tolerating {})",
                            Profile::Interop,
                            used.join(", ")
                        );
                        (None, hint)
                    }
                    _ => (None, e.to_string()),
                }
            })?;
        let issuer = Some(mark.issuer().to_string());
        let fail = |reason: String| (issuer.clone(), reason);
        let anchor_ec = anchor_ec.map_err(|e| fail(e.clone()))?;
        let anchor_claims: &Map<String, Value> = anchor_ec.claims();
        recognised(anchor_claims, declared_type, mark.issuer()).map_err(|e| {
            let misspelt = anchor_claims.get("trust_marks_issuers");
            if !anchor_claims.contains_key("trust_mark_issuers")
                && misspelt.and_then(|m| m.get(declared_type)).is_some()
            {
                fail(format!(
                    "{e} (it lists the type under the misspelt trust_marks_issuers, which the {} profile reads, tolerating {})",
                    Profile::Interop,
                    Tolerance::MisspeltTrustMarksIssuers
                ))
            } else {
                fail(e.to_string())
            }
        })?;

        // Trust in the issuer comes first (§7.3): its keys from its own chain to this anchor.
        let (issuer_keys, issuer_ec) = self
            .issuer_keys(mark.issuer(), resolved, anchor_ec, walk)
            .await
            .map_err(fail)?;
        mark.verify(&issuer_keys).map_err(|e| fail(e.to_string()))?;

        let mut validation = MarkValidation::Signature;
        if let Some(o) = owner(anchor_claims, declared_type) {
            let (owner_id, owner_keys) = o.map_err(|e| fail(e.to_string()))?;
            mark.verify_delegation(&owner_id, &owner_keys, &inner.rules.algs, now, inner.skew)
                .map_err(|e| fail(e.to_string()))?;
            validation = MarkValidation::Delegated;
        }

        let ask = match inner.mark_status {
            StatusCheck::Never => false,
            StatusCheck::WhenNoExpiry => mark.expires_at().is_none(),
            StatusCheck::Always => true,
        };
        if ask {
            self.ask_status(&mark, &issuer_ec, &issuer_keys, walk)
                .await
                .map_err(fail)?;
        }
        let valid = ValidTrustMark {
            trust_mark_type: declared_type.to_string(),
            issuer: mark.issuer().clone(),
            expires_at: mark.expires_at(),
            validation,
            status_checked: ask,
            jwt: jwt.to_string(),
        };
        Ok((valid, deviations))
    }

    /// The issuer's Federation Entity Keys and configuration, established through a chain
    /// to the same anchor. The anchor and the subject itself need no further discovery.
    async fn issuer_keys(
        &self,
        issuer: &EntityId,
        resolved: &ResolvedEntity,
        anchor_ec: &Arc<EntityStatement>,
        walk: &Arc<Walk>,
    ) -> Result<(KeySet, Arc<EntityStatement>), String> {
        let anchor = resolved.trust_anchor();
        if issuer == anchor {
            return Ok((anchor_ec.jwks().clone(), anchor_ec.clone()));
        }
        if issuer == resolved.entity_id() {
            let ec = resolved
                .chain
                .subject_configuration()
                .cloned()
                .ok_or("no configuration")?;
            return Ok((resolved.federation_keys().clone(), ec));
        }
        let (chains, attempts, _) = self
            .find_chains_on(walk, issuer, None)
            .await
            .map_err(|e| format!("issuer {issuer} has no trust chain: {e}"))?;
        let chain = chains
            .into_iter()
            .find(|c| c.anchor() == anchor)
            .ok_or_else(|| {
                format!(
                    "issuer {issuer} has no valid trust chain to {anchor} ({} path(s) failed)",
                    attempts.len()
                )
            })?;
        let ec = chain
            .subject_configuration()
            .cloned()
            .ok_or("no configuration")?;
        Ok((chain.subject_keys().clone(), ec))
    }

    /// §8.4: POST the mark to the issuer's status endpoint; only `active` passes. Any failure
    /// to get a verified answer fails the mark (closed).
    async fn ask_status(
        &self,
        mark: &TrustMark,
        issuer_ec: &EntityStatement,
        keys: &KeySet,
        walk: &Arc<Walk>,
    ) -> Result<(), String> {
        let endpoint = issuer_ec
            .federation_endpoint("federation_trust_mark_status_endpoint")
            .ok_or("status check required but the issuer publishes no status endpoint")?;
        let url = url::Url::parse(endpoint)
            .ok()
            .filter(|u| {
                u.scheme() == "https" || (self.inner.rules.allow_http && u.scheme() == "http")
            })
            .ok_or("the status endpoint is not an https URL")?;
        let req = FetchRequest::post(
            url.clone(),
            vec![("trust_mark".to_string(), mark.jwt().to_string())],
            FetchKind::TrustMarkStatus,
        );
        // Counted against the resolution's fetch budget and deadline.
        let text = walk
            .fetch_text(req, issuer_ec.subject(), "trust mark status")
            .await
            .map_err(|e| format!("status endpoint {url}: {e}"))?;
        let status = mark
            .check_status_response(&text, keys, &self.inner.rules.algs)
            .map_err(|e| e.to_string())?;
        if status == "active" {
            Ok(())
        } else {
            Err(format!("the issuer reports the mark as {status:?}"))
        }
    }
}
