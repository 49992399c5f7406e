//! What an operator needs to judge a refused statement: whether a profile would have
//! accepted it, and, for a statement received from elsewhere, whether its signature verifies
//! and whether it is expired ("old-draft statement" vs "expired" vs "forged").

use super::claims::{Rounding, numeric_date};
use super::{
    ENTITY_STATEMENT_TYP, EntityStatement, SignatureCheck, StatementError, StatementRules,
};
use crate::jose::{self, CompactJws, HeaderRules, KeySet};
use crate::profile::{Profile, Tolerance};

/// Completes the error of a refused statement with what an operator needs to judge it:
/// whether a profile would have accepted it, and for a fetched one whether its signature
/// verifies and whether it is expired.
pub(super) fn explain(
    mut e: StatementError,
    token: &str,
    rules: &StatementRules,
    fetched: Option<(Option<&KeySet>, i64, i64)>,
) -> StatementError {
    let interop = Profile::Interop.tolerances();
    if rules.tolerances.union(interop) != rules.tolerances {
        let wider = StatementRules {
            tolerances: rules.tolerances.union(interop),
            ..rules.clone()
        };
        if let Ok(s) = EntityStatement::parse_inner(token, &wider) {
            let mut used: Vec<Tolerance> = s.deviations.iter().map(|d| d.tolerance).collect();
            used.sort();
            used.dedup();
            e.would_accept_under = Some(Profile::Interop);
            e.tolerances = used;
        }
    }
    let Some((issuer_keys, now, skew)) = fetched else {
        return e;
    };
    let Ok(jws) = CompactJws::parse_with_limit(token, rules.max_len) else {
        return e;
    };
    let Ok(claims) = crate::json::parse_object(jws.payload()) else {
        return e;
    };
    if let Ok(exp) = numeric_date(&claims, "exp", Rounding::Down) {
        e.expired = Some(now >= exp.saturating_add(skew));
    }
    let header_rules = HeaderRules {
        typ: ENTITY_STATEMENT_TYP,
        lenient_typ: rules.lenient_typ,
        algs: &rules.algs,
    };
    // Only an accepted algorithm and a present kid are tried.
    let Ok((alg, kid)) = jose::check_header(&jws, &header_rules) else {
        return e;
    };
    let is_ec = claims.get("iss").is_some() && claims.get("iss") == claims.get("sub");
    let own;
    let keys = if is_ec {
        match claims.get("jwks").map(KeySet::from_json) {
            Some(Ok(k)) => {
                own = k;
                Some(&own)
            }
            _ => None,
        }
    } else {
        issuer_keys
    };
    if let Some(keys) = keys {
        e.signature = match keys.verify(&jws, alg, kid, "diagnosis") {
            Ok(()) => SignatureCheck::Verified,
            Err(_) => SignatureCheck::Failed,
        };
    }
    e
}
