//! Trust chain validation (§4, §10.2), a pure function of the statements, the configured
//! Trust Anchors and a clock. It validates chains the walk assembled and chains handed over
//! whole (a `trust_chain` header, an Explicit Registration body) alike.
//!
//! Order: structure, times, `iss`/`sub` links, `authority_hints`, the anchor's identity and
//! constraints first (cheap), then signatures, then metadata and policy.

use std::collections::HashMap;
use std::sync::Arc;

use crate::chain::{TrustAnchor, TrustChain, metadata};
use crate::constraints::Constraints;
use crate::entity_id::EntityId;
use crate::error::Error;
use crate::policy::OperatorRegistry;
use crate::resolver::Limits;
use crate::statement::{EntityStatement, Rule, StatementError};

/// What a chain is validated against.
#[derive(Clone)]
pub(crate) struct ValidationContext<'a> {
    /// The configured Trust Anchors.
    pub anchors: &'a [TrustAnchor],
    /// The current time (Unix seconds).
    pub now: i64,
    /// Leeway for `iat` and `exp`, in seconds.
    pub skew: i64,
    /// Entity Configurations of the chain's issuers, when they were fetched (bottom-up
    /// resolution). With them, each Subordinate Statement is also verified with its issuer's
    /// own keys (§3.2), besides the keys its superior asserts (§10.2), and its issuer is checked against the subject's `authority_hints`.
    pub issuer_configurations: Option<&'a HashMap<EntityId, Arc<EntityStatement>>>,
    /// Policy operators understood (standard ones plus any registered custom operators).
    pub operators: &'a OperatorRegistry,
    /// The resolver's limits: the sizes of `metadata` and `metadata_policy` values, and the
    /// `resolution_timeout` reported when [`ValidationContext::deadline`] passes.
    pub limits: &'a Limits,
    /// When the resolution must end. Validation stops with
    /// `Error::LimitExceeded { limit: Limit::ResolutionTime, .. }` once it has passed: it is
    /// checked between the validation steps and inside the policy's loops.
    pub deadline: Option<tokio::time::Instant>,
}

impl ValidationContext<'_> {
    pub(crate) fn policy_deadline(&self) -> crate::policy::deadline::Deadline {
        crate::policy::deadline::Deadline::new(self.deadline, self.timeout_ms())
    }

    fn timeout_ms(&self) -> u64 {
        u64::try_from(self.limits.resolution_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    /// `Err(LimitExceeded { ResolutionTime })` once the deadline has passed.
    pub(crate) fn check_deadline(&self, during: &str) -> Result<(), Error> {
        match self.deadline {
            Some(at) if tokio::time::Instant::now() >= at => Err(Error::LimitExceeded {
                limit: crate::error::Limit::ResolutionTime,
                value: self.timeout_ms(),
                context: Some(format!("ran out of time while {during}")),
            }),
            _ => Ok(()),
        }
    }
}

fn link_error(s: &EntityStatement, detail: impl Into<String>) -> Error {
    s.error(Rule::ChainLink, detail).into()
}

/// Validates `statements` as a trust chain: `[subject EC, SS…, (anchor EC)]`.
///
/// Every element's time window; `ES[j].iss == ES[j+1].sub`; `ES[1].iss` listed in the
/// subject's `authority_hints`; the subject's EC verified with its own keys **and** with the
/// keys its superior asserts; each Subordinate Statement verified with the keys the next
/// element asserts; the anchor's EC verified with the **configured** keys (or, without it,
/// the last Subordinate Statement); every constraint; then the resolved metadata. The
/// chain's expiry is the smallest `exp`.
pub(crate) fn validate_chain(
    statements: Vec<Arc<EntityStatement>>,
    ctx: &ValidationContext<'_>,
) -> Result<TrustChain, Error> {
    let n = statements.len();
    let es0 = statements.first().ok_or_else(|| {
        Error::from(StatementError::new(
            None,
            None,
            Rule::ChainLink,
            "the chain is empty",
        ))
    })?;
    if !es0.is_configuration() {
        return Err(link_error(
            es0,
            "the first element must be the subject's Entity Configuration",
        ));
    }
    let has_anchor_ec = n >= 2 && statements[n - 1].is_configuration();
    // Index of the last Subordinate Statement (0 when the chain is the anchor alone).
    let top = if has_anchor_ec { n - 2 } else { n - 1 };
    for s in statements.iter().take(top + 1).skip(1) {
        if s.is_configuration() {
            return Err(link_error(
                s,
                "only the first and the last element may be Entity Configurations",
            ));
        }
    }

    for s in &statements {
        s.check_time(ctx.now, ctx.skew)?;
    }
    for pair in statements.windows(2) {
        let (below, above) = (&pair[0], &pair[1]);
        if below.issuer() != above.subject() {
            return Err(link_error(
                above,
                format!(
                    "its subject {} is not the issuer {} of the statement below it",
                    above.subject(),
                    below.issuer()
                ),
            ));
        }
    }
    check_authority_hints(&statements, top, ctx)?;
    ctx.check_deadline("validating a chain's structure")?;

    // The chain must end at a configured anchor.
    let anchor_id = statements[n - 1].issuer();
    let anchor = ctx
        .anchors
        .iter()
        .find(|a| a.id() == anchor_id)
        .ok_or_else(|| Error::UntrustedAnchor {
            anchor: anchor_id.to_string(),
        })?;

    check_constraints(&statements, top)?;
    verify_signatures(&statements, top, has_anchor_ec, anchor, ctx)?;
    ctx.check_deadline("verifying a chain's signatures")?;

    let expires_at = statements
        .iter()
        .map(|s| s.expires_at())
        .min()
        .unwrap_or(ctx.now);
    let (metadata, removed) = metadata::resolve(&statements, top, ctx)?;
    Ok(TrustChain {
        anchor: anchor.id().clone(),
        statements,
        expires_at,
        metadata,
        removed_entity_types: removed,
    })
}

/// §3.2 step 6: the issuer of a Subordinate Statement is one of its subject's
/// `authority_hints`. The subject's EC is `ES[0]` for the first link; for higher links it is
/// checked when the issuers' configurations are at hand.
fn check_authority_hints(
    statements: &[Arc<EntityStatement>],
    top: usize,
    ctx: &ValidationContext<'_>,
) -> Result<(), Error> {
    for k in 1..=top {
        let ss = &statements[k];
        let subject_ec = if k == 1 {
            Some(&statements[0])
        } else {
            ctx.issuer_configurations.and_then(|m| m.get(ss.subject()))
        };
        if let Some(ec) = subject_ec {
            if !ec.authority_hints().contains(ss.issuer()) {
                return Err(ss
                    .error(
                        Rule::AuthorityHints,
                        format!(
                            "the issuer is not among the authority_hints of {}",
                            ss.subject()
                        ),
                    )
                    .into());
            }
        }
    }
    Ok(())
}

/// §6.2: the constraints of `ES[k]` (issued by `E_k`) apply to `E_0 … E_(k-1)`. Constraints
/// a Trust Anchor put in its own configuration (`ES[top+1]`, accepted only under
/// [`crate::Tolerance::ConstraintsInConfiguration`]) apply as if `ES[top]` also carried them.
pub(crate) fn check_constraints(
    statements: &[Arc<EntityStatement>],
    top: usize,
) -> Result<(), Error> {
    for (k, ss, raw) in constraint_sources(statements, top) {
        let c =
            Constraints::from_json(raw).map_err(|d| ss.error(Rule::Constraints, d.to_string()))?;
        c.check_path_length(k - 1)
            .map_err(|d| ss.error(Rule::Constraint, format!("max_path_length: {d}")))?;
        for below in &statements[..k] {
            c.check_name(below.issuer())
                .map_err(|d| ss.error(Rule::Constraint, format!("naming_constraints: {d}")))?;
        }
    }
    Ok(())
}

/// Every `constraints` value of the chain with the index `k` of the level it constrains from
/// and the statement carrying it: each Subordinate Statement's, then the anchor
/// configuration's (at the level of the anchor's own statement, `top`).
pub(crate) fn constraint_sources(
    statements: &[Arc<EntityStatement>],
    top: usize,
) -> impl Iterator<Item = (usize, &Arc<EntityStatement>, &serde_json::Value)> {
    let own = (1..=top).filter_map(move |k| {
        let ss = statements.get(k)?;
        ss.constraints().map(|c| (k, ss, c))
    });
    let anchor = statements
        .get(top + 1)
        .filter(|ec| top >= 1 && ec.is_configuration())
        .and_then(|ec| ec.configuration_constraints().map(|c| (top, ec, c)));
    own.chain(anchor)
}

fn verify_signatures(
    statements: &[Arc<EntityStatement>],
    top: usize,
    has_anchor_ec: bool,
    anchor: &TrustAnchor,
    ctx: &ValidationContext<'_>,
) -> Result<(), Error> {
    let n = statements.len();
    let es0 = &statements[0];
    let anchor_whose = format!("configured keys of trust anchor {}", anchor.id());
    if n == 1 {
        // The subject is the anchor itself (a chain of one: the anchor's EC alone, no policy
        // and no constraints): its EC must verify with the pinned keys
        // and be signed by a key it publishes itself.
        es0.verify_with(anchor.keys(), &anchor_whose)?;
        require_own_key(es0)?;
        return Ok(());
    }

    // ES[0] is self-signed and must also verify with its superior's assertion of its keys.
    let superior = &statements[1];
    if let (Some(own), Some(asserted)) = (es0.jwks().get(es0.kid()), superior.jwks().get(es0.kid()))
    {
        if !own.same_material(asserted) {
            return Err(link_error(
                es0,
                format!(
                    "key {:?} differs between the subject's jwks and its superior's statement",
                    es0.kid()
                ),
            ));
        }
    }
    es0.verify_with(es0.jwks(), &format!("{}'s own jwks", es0.issuer()))?;
    es0.verify_with(
        superior.jwks(),
        &format!("keys {} asserts for {}", superior.issuer(), es0.subject()),
    )?;

    // Each Subordinate Statement is verified with the keys the next element asserts for
    // its issuer: a superior's statement, or the anchor's own EC.
    for j in 1..=top {
        ctx.check_deadline("verifying a chain's signatures")?;
        let ss = &statements[j];
        match statements.get(j + 1) {
            Some(next) => ss.verify_with(
                next.jwks(),
                &format!("keys {} asserts for {}", next.issuer(), ss.issuer()),
            )?,
            None => ss.verify_with(anchor.keys(), &anchor_whose)?,
        }
        if let Some(issuer_ec) = ctx.issuer_configurations.and_then(|m| m.get(ss.issuer())) {
            // §3.2: the issuer's own configuration, itself authentic, also vouches
            // for the key that signed its statement.
            require_own_key(issuer_ec)?;
            ss.verify_with(issuer_ec.jwks(), &format!("{}'s own jwks", ss.issuer()))?;
        }
    }
    if has_anchor_ec {
        let ta_ec = &statements[n - 1];
        ta_ec.verify_with(anchor.keys(), &anchor_whose)?;
        require_own_key(ta_ec)?;
    }
    Ok(())
}

/// An Entity Configuration is self-signed: the signing key must be in its own `jwks` with
/// the same material as the key that verified it.
fn require_own_key(ec: &EntityStatement) -> Result<(), Error> {
    ec.verify_with(ec.jwks(), &format!("{}'s own jwks", ec.issuer()))
        .map_err(Error::from)
}
