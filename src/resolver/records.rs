//! Client records on the resolver: [`Resolver::record`] (cached, single flight),
//! [`Resolver::reresolve`] (typed changes, transient failures kept apart from trust loss) and
//! [`Resolver::record_from`] (for chains handed over whole).

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use serde_json::{Value, json};

use super::{EntityType, ResolvedEntity, Resolver};
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::fetch::{FetchKind, FetchRequest};
use crate::jose::{self, CompactJws, HeaderRules, JoseError, KeySet};
use crate::json::{parse_object, parse_strict};
use crate::record::{
    BindingEvidence, Change, ClientRecord, KeySource, OrganizationBinding, TrustMarkRecord,
    binding_evidence, diff, org_details,
};
use crate::statement::{Rounding, Rule, StatementError, check_validity, optional_numeric_date};

/// Client, Entity Type, and the anchor-set generation the record was looked up under: a
/// record built before an anchor change is never served after it.
type RecordKey = (EntityId, EntityType, u64);

struct RecordExpiry;

impl Expiry<RecordKey, Arc<ClientRecord>> for RecordExpiry {
    fn expire_after_create(
        &self,
        _: &RecordKey,
        r: &Arc<ClientRecord>,
        _: Instant,
    ) -> Option<Duration> {
        let secs = (r.expires_at - r.resolved_at).max(0);
        Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
    }
}

pub(crate) fn record_cache(capacity: u64) -> Cache<RecordKey, Arc<ClientRecord>> {
    Cache::builder()
        .max_capacity(capacity)
        .expire_after(RecordExpiry)
        // The monitor's watcher drops a client's records of every entity type at once.
        .support_invalidation_closures()
        .build()
}

/// Options of a re-resolution.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReresolveOptions {
    /// Fetch every statement anew instead of using cached ones (default false).
    pub force_refresh: bool,
    /// Refresh when less than this fraction of the record's lifetime is left (default 0:
    /// statements are reused until they expire).
    pub refresh_ahead: f64,
    /// After a transient failure, when to try again, in seconds (default 60; never later
    /// than the old record's expiry).
    pub retry_after: i64,
}

impl Default for ReresolveOptions {
    fn default() -> Self {
        Self {
            force_refresh: false,
            refresh_ahead: 0.0,
            retry_after: 60,
        }
    }
}

impl ReresolveOptions {
    /// Fetch everything anew.
    pub fn force() -> Self {
        Self {
            force_refresh: true,
            ..Self::default()
        }
    }

    /// Refresh when less than `fraction` (0–1) of the record's lifetime remains.
    pub fn refresh_ahead(fraction: f64) -> Self {
        Self {
            refresh_ahead: fraction.clamp(0.0, 1.0),
            ..Self::default()
        }
    }
}

/// The federation could not be reached; the previous record, still within its expiry, was
/// kept.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stale {
    /// The transient failure.
    pub error: Error,
    /// When to try again (Unix seconds), never after the kept record expires.
    pub retry_at: i64,
}

/// The outcome of [`Resolver::reresolve`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reresolution {
    /// The record to use from now on.
    pub record: Arc<ClientRecord>,
    /// What changed since the record given (empty when nothing did).
    pub changes: Vec<Change>,
    /// Set when a transient failure left the previous record in place.
    pub stale: Option<Stale>,
}

impl Resolver {
    /// The client record of `client_id` for `entity_type`: from the record cache while it
    /// is valid, otherwise resolved. Concurrent calls for the same client share one
    /// resolution.
    pub async fn record(
        &self,
        client_id: &EntityId,
        entity_type: &EntityType,
    ) -> Result<Arc<ClientRecord>, Error> {
        let key = (
            client_id.clone(),
            entity_type.clone(),
            self.inner.anchors.generation(),
        );
        let now = self.inner.clock.now();
        let mut previous = None;
        if let Some(r) = self.inner.records.get(&key).await {
            if r.is_valid_at(now) {
                crate::metrics::cache_lookup("record", true);
                tracing::debug!(
                    target: "oidfed::audit",
                    action = "record",
                    client_id = %client_id,
                    cached = true,
                    trust_anchor = %r.trust_anchor,
                    expires_at = r.expires_at.as_secs(),
                    "client trusted (cached record)"
                );
                return Ok(r);
            }
            self.inner.records.invalidate(&key).await;
            previous = Some(r);
        }
        crate::metrics::cache_lookup("record", false);
        let resolved_here = std::sync::atomic::AtomicBool::new(false);
        let result = self
            .inner
            .records
            .try_get_with(key, async {
                // Audited where the resolution runs: once, whoever else shares it.
                resolved_here.store(true, std::sync::atomic::Ordering::Relaxed);
                let started = std::time::Instant::now();
                let built = self.build_record(client_id, entity_type, false).await;
                match &built {
                    Ok(new) => {
                        // What changed since the expired record this one replaces.
                        let changes = previous.as_ref().map(|old| diff(old, new));
                        audit(
                            "record",
                            client_id,
                            &Ok((new.as_ref(), changes.as_deref().unwrap_or_default())),
                            started,
                        );
                    }
                    Err(e) => audit_err("record", client_id, Err(e), started),
                }
                built
            })
            .await
            .map_err(|e| (*e).clone());
        if !resolved_here.load(std::sync::atomic::Ordering::Relaxed) {
            tracing::debug!(
                target: "oidfed::audit",
                action = "record",
                client_id = %client_id,
                shared = true,
                ok = result.is_ok(),
                "client record from a concurrent resolution"
            );
        }
        result
    }

    /// Re-resolves `old` and says what changed. A definitive failure (statement removed by a
    /// superior, bad signature, policy now failing, expired with no valid replacement) is an
    /// error with `is_transient() == false`: revoke the client. A transient failure
    /// (network, 5xx) while `old` is still valid keeps `old`, with a retry time.
    ///
    /// While every statement of the chain is cached and unexpired, the chain costs no fetch
    /// and no signature check (a statement's signature is verified once per key). Not
    /// everything is cached: a client's `jwks_uri` or `signed_jwks_uri` is fetched again
    /// (and a signed set verified), the subject's trust marks are verified again (their
    /// issuers' configurations and the status endpoint fetched when not cached, or when
    /// `StatusCheck` asks for them). When every statement the last resolution rested on is
    /// still the same cached statement, no trust mark is involved and the record's keys came
    /// from the chain (not a `jwks_uri`), nothing is recomputed: the record built then is
    /// returned as it is (its `resolved_at` unchanged), with no changes.
    pub async fn reresolve(&self, old: &ClientRecord) -> Result<Reresolution, Error> {
        self.reresolve_with(old, &ReresolveOptions::default()).await
    }

    /// [`Resolver::reresolve`] with options.
    pub async fn reresolve_with(
        &self,
        old: &ClientRecord,
        opts: &ReresolveOptions,
    ) -> Result<Reresolution, Error> {
        let now = self.inner.clock.now();
        let started = std::time::Instant::now();
        let lifetime = (old.expires_at - old.resolved_at).max(0) as f64;
        let ahead = opts.refresh_ahead > 0.0
            && ((old.expires_at - now) as f64) < lifetime * opts.refresh_ahead;
        let refresh = opts.force_refresh || ahead;
        let key = (
            old.client_id.clone(),
            old.entity_type.clone(),
            self.inner.anchors.generation(),
        );
        match self
            .build_record(&old.client_id, &old.entity_type, refresh)
            .await
        {
            Ok(record) => {
                // An unchanged resolution gives back the very record it built before.
                let changes = if std::ptr::eq(old, &*record) {
                    Vec::new()
                } else {
                    diff(old, &record)
                };
                let held = self.inner.records.get(&key).await;
                if !held.is_some_and(|h| Arc::ptr_eq(&h, &record)) {
                    self.inner.records.insert(key, record.clone()).await;
                }
                audit(
                    "reresolve",
                    &old.client_id,
                    &Ok((record.as_ref(), &changes[..])),
                    started,
                );
                Ok(Reresolution {
                    record,
                    changes,
                    stale: None,
                })
            }
            Err(error) if error.is_transient() && old.is_valid_at(now) => {
                let retry_at = now
                    .saturating_add(opts.retry_after.max(1))
                    .min(old.expires_at.as_secs());
                tracing::warn!(
                    target: "oidfed::audit",
                    client_id = %old.client_id,
                    error = %error,
                    kept_until = old.expires_at.as_secs(),
                    retry_at,
                    "re-resolution failed transiently; previous record kept"
                );
                Ok(Reresolution {
                    record: Arc::new(old.clone()),
                    changes: Vec::new(),
                    stale: Some(Stale { error, retry_at }),
                })
            }
            Err(error) => {
                self.inner.records.invalidate(&key).await;
                let r: Result<(&ClientRecord, &[Change]), &Error> = Err(&error);
                audit_err("reresolve", &old.client_id, r, started);
                Err(error)
            }
        }
    }

    async fn build_record(
        &self,
        client_id: &EntityId,
        entity_type: &EntityType,
        refresh: bool,
    ) -> Result<Arc<ClientRecord>, Error> {
        // An unchanged resolution whose record came from the chain alone: the record again.
        let memo = self.memoised(client_id, entity_type, refresh, false).await;
        if let Some(record) = memo.as_ref().and_then(|m| m.record.get()) {
            return Ok(record.clone());
        }
        // One deadline and one turn for the discovery and the key fetch that follows it.
        let deadline = self.deadline();
        let _turn = self.admit(deadline).await?;
        // A remembered resolution still counts as one (as resolve() counts it).
        let mut walked_same = None;
        let resolved = crate::metrics::resolution(client_id, entity_type, async {
            match &memo {
                Some(m) => Ok(m.resolved.clone()),
                None => {
                    let (resolved, same) = Box::pin(self.discover_until_memo(
                        client_id,
                        entity_type,
                        refresh,
                        None,
                        deadline,
                    ))
                    .await?;
                    walked_same = same;
                    Ok(resolved)
                }
            }
        })
        .await?;
        // A refresh that fetched the very statements of the remembered resolution: the
        // record built from it, when its keys came from the chain (a resolution just
        // remembered has none yet).
        if let Some(record) = walked_same.as_ref().and_then(|m| m.record.get()) {
            return Ok(record.clone());
        }
        let record = Arc::new(self.record_until(&resolved, deadline).await?);
        // Keys fetched from a jwks_uri or signed_jwks_uri are fetched anew each time.
        if matches!(record.key_source, KeySource::Jwks | KeySource::None) {
            if let Some(m) = memo.or(walked_same) {
                let _ = m.record.set(record.clone());
            }
        }
        Ok(record)
    }

    /// Turns a resolution into a client record: protocol keys (inline `jwks`, or fetched
    /// `signed_jwks_uri` verified with the client's Federation Entity Keys, or `jwks_uri`),
    /// organization binding, expiry.
    /// A `jwks_uri`/`signed_jwks_uri` fetch gets one resolution timeout from now.
    pub async fn record_from(&self, resolved: &ResolvedEntity) -> Result<ClientRecord, Error> {
        self.record_until(resolved, self.deadline()).await
    }

    /// [`Resolver::record_from`] with the key fetch bounded by `deadline` (the discovery's).
    pub(crate) async fn record_until(
        &self,
        resolved: &ResolvedEntity,
        deadline: tokio::time::Instant,
    ) -> Result<ClientRecord, Error> {
        let chain = resolved.chain();
        let (keys, key_source) = self.protocol_keys(resolved, deadline).await?;
        let organization = organization_binding(
            resolved,
            &self.inner.organization_rule,
            self.inner.require_asserted_organization,
        )?;
        Ok(ClientRecord {
            client_id: resolved.entity_id().clone(),
            entity_type: resolved.entity_type().clone(),
            metadata: resolved.metadata().clone(),
            keys,
            key_source,
            federation_keys: resolved.federation_keys().to_json(),
            trust_anchor: resolved.trust_anchor().clone(),
            path: chain.path(),
            trust_chain: chain.to_jwts(),
            chain_fingerprint: chain.fingerprint(),
            expires_at: resolved.expires_at().into(),
            resolved_at: self.inner.clock.now().into(),
            trust_marks: resolved
                .trust_marks()
                .iter()
                .map(|m| TrustMarkRecord {
                    trust_mark_type: m.trust_mark_type.clone(),
                    issuer: m.issuer.clone(),
                    expires_at: m.expires_at,
                })
                .collect(),
            organization,
            deviations: resolved.deviations(),
        })
    }

    async fn protocol_keys(
        &self,
        resolved: &ResolvedEntity,
        deadline: tokio::time::Instant,
    ) -> Result<(Value, KeySource), Error> {
        let m = resolved.metadata();
        let subject = resolved.entity_id();
        let bad = |detail: String| -> Error {
            StatementError::new(
                Some(subject.as_str()),
                Some(subject.as_str()),
                Rule::Jwks,
                detail,
            )
            .into()
        };
        // The protocol keys are handed to the embedder's OAuth stack as they are: a set
        // holding a key refused for its material is refused whole, not passed on filtered.
        let strict = |set: KeySet, param: &str| -> Result<KeySet, Error> {
            match set
                .rejected()
                .iter()
                .find(|(_, e)| matches!(e, JoseError::InvalidKey { .. }))
            {
                Some((_, e)) => Err(StatementError::new(
                    Some(subject.as_str()),
                    Some(subject.as_str()),
                    Rule::Jwks,
                    format!("{param}: {e}"),
                )
                .with_key_of(e)
                .into()),
                None => Ok(set),
            }
        };
        if let Some(jwks) = m.get("jwks") {
            let set = KeySet::from_json(jwks).map_err(|e| bad(format!("metadata jwks: {e}")))?;
            let set = strict(set, "metadata jwks")?;
            return Ok((set.to_json(), KeySource::Jwks));
        }
        for (param, source) in [
            ("signed_jwks_uri", KeySource::SignedJwksUri),
            ("jwks_uri", KeySource::JwksUri),
        ] {
            let Some(uri) = m.get(param).and_then(Value::as_str) else {
                continue;
            };
            let url = url::Url::parse(uri)
                .ok()
                .filter(|u| {
                    u.scheme() == "https" || (self.inner.rules.allow_http && u.scheme() == "http")
                })
                .ok_or_else(|| bad(format!("{param} {uri:?} is not an https URL")))?;
            // One fetch budget per resolution: the key fetch is one more after the walk's.
            let max = self.inner.limits.max_fetches;
            if resolved.fetches >= max {
                return Err(Error::LimitExceeded {
                    limit: crate::error::Limit::Fetches,
                    value: max as u64,
                    context: Some(format!("{param} of {subject}")),
                });
            }
            let body = self.fetch_document(&url, subject, param, deadline).await?;
            let set = if source == KeySource::SignedJwksUri {
                self.signed_jwks(&body, resolved)?
            } else {
                let v = parse_strict(body.as_bytes()).map_err(|e| bad(format!("{param}: {e}")))?;
                KeySet::from_json(&v).map_err(|e| bad(format!("{param}: {e}")))?
            };
            let set = strict(set, param)?;
            return Ok((set.to_json(), source));
        }
        Ok((json!({"keys": []}), KeySource::None))
    }

    /// A signed JWK Set (§5.2.1): `typ` `jwk-set+jwt`, signed with the subject's Federation
    /// Entity Keys from the validated chain, `iss` = `sub` = the subject, `exp` honoured.
    fn signed_jwks(&self, jwt: &str, resolved: &ResolvedEntity) -> Result<KeySet, StatementError> {
        let subject = resolved.entity_id().as_str();
        let err = |detail: String| {
            StatementError::new(
                Some(subject),
                Some(subject),
                Rule::Jwks,
                format!("signed_jwks_uri: {detail}"),
            )
        };
        let jws = CompactJws::parse_with_limit(jwt, self.inner.limits.max_statement_bytes)
            .map_err(|e| err(e.to_string()))?;
        let rules = HeaderRules {
            typ: "jwk-set+jwt",
            lenient_typ: self.inner.rules.lenient_typ,
            algs: &self.inner.rules.algs,
        };
        let (alg, kid) = jose::check_header(&jws, &rules).map_err(|e| err(e.to_string()))?;
        resolved
            .federation_keys()
            .verify(&jws, alg, kid, "the client's federation keys")
            .map_err(|e| err(e.to_string()).with_key_of(&e))?;
        let claims = parse_object(jws.payload()).map_err(|e| err(e.0))?;
        for c in ["iss", "sub"] {
            if claims.get(c).and_then(Value::as_str) != Some(subject) {
                return Err(err(format!("{c} is not {subject}")));
            }
        }
        // `iat` and `exp` are optional here (§5.2.1), but when present they are NumericDates
        // read and judged exactly as in a statement: a malformed one is refused, not ignored.
        let iat = optional_numeric_date(&claims, "iat", Rounding::Up).map_err(err)?;
        let exp = optional_numeric_date(&claims, "exp", Rounding::Down).map_err(err)?;
        check_validity(iat, exp, self.inner.clock.now(), self.inner.skew)
            .map_err(|(_, detail)| err(detail))?;
        KeySet::from_json(&Value::Object(claims)).map_err(|e| err(e.to_string()).with_key_of(&e))
    }

    async fn fetch_document(
        &self,
        url: &url::Url,
        entity: &EntityId,
        what: &'static str,
        deadline: tokio::time::Instant,
    ) -> Result<String, Error> {
        let timeout = self.inner.limits.resolution_timeout;
        let req = FetchRequest::get(url.clone(), FetchKind::JwkSet);
        crate::fetch::fetch_text_before(&*self.inner.fetcher, req, deadline, timeout)
            .await
            .map_err(|source| Error::Fetch {
                entity: entity.clone(),
                what,
                source,
            })
    }
}

fn audit(
    action: &'static str,
    client_id: &EntityId,
    outcome: &Result<(&ClientRecord, &[Change]), &Error>,
    started: std::time::Instant,
) {
    match outcome {
        Ok((r, changes)) => tracing::info!(
            target: "oidfed::audit",
            action,
            client_id = %client_id,
            trust_anchor = %r.trust_anchor,
            organization = r.organization.as_ref().map(|o| o.entity_id.as_str()).unwrap_or("-"),
            organization_evidence = ?r.organization.as_ref().map(|o| &o.evidence),
            expires_at = r.expires_at.as_secs(),
            changes = ?changes,
            deviations = ?r.deviations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            duration_us = started.elapsed().as_micros() as u64,
            "client trusted"
        ),
        Err(e) => audit_err(action, client_id, Err(*e), started),
    }
}

fn audit_err(
    action: &'static str,
    client_id: &EntityId,
    outcome: Result<(&ClientRecord, &[Change]), &Error>,
    started: std::time::Instant,
) {
    if let Err(e) = outcome {
        tracing::warn!(
            target: "oidfed::audit",
            action,
            client_id = %client_id,
            transient = e.is_transient(),
            code = e.spec_code(),
            error = %e,
            duration_us = started.elapsed().as_micros() as u64,
            "client not trusted"
        );
    }
}

/// The organization a resolved client is bound to: a pure function of its chain, the
/// metadata its superiors assert and the configured rule (`strict`: refuse a binding that
/// no superior asserts).
fn organization_binding(
    resolved: &ResolvedEntity,
    rule: &crate::record::OrganizationRule,
    strict: bool,
) -> Result<Option<OrganizationBinding>, Error> {
    let chain = resolved.chain();
    let refuse = |reason: String| Error::OrganizationNotBound {
        client_id: resolved.entity_id().clone(),
        reason,
    };
    let Some(org) = rule.pick(chain) else {
        if strict {
            return Err(refuse(format!(
                "the organization rule {:?} finds no organization in the chain",
                rule
            )));
        }
        return Ok(None);
    };
    let evidence = binding_evidence(chain, resolved.entity_type().as_str());
    if strict && !evidence.is_asserted() {
        return Err(refuse(format!(
            "no superior asserts the organization ({evidence:?})"
        )));
    }
    let (asserted_name, asserted_uri) = org_details(
        Some(resolved.all_metadata()),
        resolved.entity_type().as_str(),
    );
    let (own_name, own_uri) = resolved
        .superior_configuration(&org)
        .map(|ec| org_details(ec.metadata(), "federation_entity"))
        .unwrap_or_default();
    let (name, uri) = match evidence {
        BindingEvidence::SuperiorPolicy { .. } | BindingEvidence::SuperiorMetadata { .. } => {
            (asserted_name.or(own_name), asserted_uri.or(own_uri))
        }
        _ => (own_name.or(asserted_name), own_uri.or(asserted_uri)),
    };
    let path = chain.path();
    let authority_path = path
        .iter()
        .position(|e| *e == org)
        .map(|i| path[i..].to_vec())
        .unwrap_or_default();
    Ok(Some(OrganizationBinding {
        entity_id: org,
        name,
        uri,
        authority_path,
        evidence,
    }))
}
