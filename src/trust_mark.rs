//! Trust Marks (OpenID Federation 1.0 §7, §8.4): validating a mark, its delegation, and a
//! status response. These are pure functions of the JWTs, the keys already established for
//! the issuer (through the issuer's own trust chain) and the anchor, and a clock; the
//! resolver does the discovery and decides recognition.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod error;
pub use error::TrustMarkError;

use crate::entity_id::EntityId;
use crate::jose::{self, Alg, CompactJws, HeaderRules, JoseError, KeySet};
use crate::json::parse_object;
use crate::profile::{Deviation, Tolerance, Tolerances, trust_mark_type_claim};
use crate::statement::{Rounding, check_validity, numeric_date, optional_numeric_date};

/// The `typ` of a Trust Mark (§7.1).
pub const TRUST_MARK_TYP: &str = "trust-mark+jwt";
/// The `typ` of a Trust Mark delegation (§7.2.1).
pub const DELEGATION_TYP: &str = "trust-mark-delegation+jwt";
/// The `typ` of a Trust Mark Status response (§8.4.2).
pub const STATUS_TYP: &str = "trust-mark-status-response+jwt";

/// When to ask the issuer's status endpoint whether a mark is still active (§8.4).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # const CERTIFIED: &str = "https://tm.example/certified";
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
/// #     .trust_mark("ta", "rp", CERTIFIED)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
///
/// use oidfed::trust_mark::StatusCheck;
/// assert_eq!(StatusCheck::default(), StatusCheck::Never); // no status calls unless asked
/// let mark = &rp.trust_marks()[0];
/// assert!(!mark.status_checked);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StatusCheck {
    /// Never: signature, time and delegation only (the default; no privacy leak, §19.2).
    #[default]
    Never,
    /// Only for marks without `exp`, which otherwise never expire.
    WhenNoExpiry,
    /// For every mark.
    Always,
}

/// How a valid mark was established.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # const CERTIFIED: &str = "https://tm.example/certified";
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
/// #     .trust_mark("ta", "rp", CERTIFIED)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
///
/// use oidfed::trust_mark::MarkValidation;
/// let mark = &rp.trust_marks()[0];
/// assert_eq!(mark.validation, MarkValidation::Signature); // no delegation involved
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MarkValidation {
    /// Signature by the issuer, whose chain to the anchor validated (§7.3).
    Signature,
    /// Signature, plus a valid delegation from the type's owner (§7.2.2).
    Delegated,
}

/// A Trust Mark that passed every check.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # const CERTIFIED: &str = "https://tm.example/certified";
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
/// #     .trust_mark("ta", "rp", CERTIFIED)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
///
/// let mark = &rp.trust_marks()[0];
/// assert_eq!((mark.trust_mark_type.as_str(), &mark.issuer), (CERTIFIED, &fed.id("ta")));
/// assert!(mark.expires_at.unwrap() > now);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidTrustMark {
    /// `trust_mark_type`.
    pub trust_mark_type: String,
    /// `iss`.
    pub issuer: EntityId,
    /// `exp`, if any.
    pub expires_at: Option<i64>,
    /// How it was validated.
    pub validation: MarkValidation,
    /// Whether the issuer's status endpoint confirmed it active.
    pub status_checked: bool,
    /// The JWT.
    pub jwt: String,
}

/// A Trust Mark that was refused, and why.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// // `org` issues a mark the anchor does not recognise: the mark is refused, the entity is not.
/// let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
///     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
///     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
///     .trust_mark("org", "rp", "https://tm.example/self-declared")
///     .build();
/// let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// assert!(rp.trust_marks().is_empty());
/// let rejected = &rp.rejected_trust_marks()[0];
/// assert_eq!(rejected.trust_mark_type, "https://tm.example/self-declared");
/// assert!(!rejected.reason.is_empty());
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RejectedTrustMark {
    /// The type declared for it.
    pub trust_mark_type: String,
    /// Its issuer, when it could be read.
    pub issuer: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

/// A Trust Mark read and checked for everything that needs no keys: header, `iss`, `sub`,
/// `trust_mark_type`, `iat`, `exp`, and that `ref`/`logo_uri` are URLs (§7.1, §7.3 steps 1–6).
///
/// One example serves the accessors:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # const CERTIFIED: &str = "https://tm.example/certified";
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
/// #     .trust_mark("ta", "rp", CERTIFIED)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::jose::{Alg, KeySet};
/// use oidfed::trust_mark::TrustMark;
/// let jwt = &rp.trust_marks()[0].jwt;
/// let mark = TrustMark::parse(jwt, CERTIFIED, &fed.id("rp"), &Alg::ALL, now, 60, false).unwrap();
///
/// assert_eq!((mark.issuer(), mark.trust_mark_type(), mark.jwt()), (&fed.id("ta"), CERTIFIED, jwt.as_str()));
/// assert!(mark.expires_at().is_some() && mark.delegation().is_none());
/// mark.verify(&KeySet::from_json(&fed.public_jwks("ta")).unwrap()).unwrap();
/// // Keys of another entity do not verify it.
/// assert!(mark.verify(&KeySet::from_json(&fed.public_jwks("rp")).unwrap()).is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TrustMark {
    jws: CompactJws,
    alg: Alg,
    kid: String,
    claims: Map<String, Value>,
    issuer: EntityId,
    trust_mark_type: String,
    expires_at: Option<i64>,
}

/// What a Trust Mark is read with, besides its JWT (see [`TrustMark::parse_with`]).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use serde_json::json;
/// # const CERTIFIED: &str = "https://tm.example/certified";
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").leaf("rp", &["ta"])
/// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
/// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
/// #     .trust_mark("ta", "rp", CERTIFIED)
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let now = oidfed::Clock::now(&fed.clock());
/// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
///
/// use oidfed::Tolerances;
/// use oidfed::jose::Alg;
/// use oidfed::trust_mark::{MarkRules, TrustMark};
/// let rules = MarkRules { algs: &Alg::ALL, now, skew: 60, allow_http: false, tolerances: Tolerances::none() };
/// let (mark, deviations) = TrustMark::parse_with(&rp.trust_marks()[0].jwt, CERTIFIED, &fed.id("rp"), &rules).unwrap();
/// assert_eq!(mark.trust_mark_type(), CERTIFIED);
/// assert!(deviations.is_empty());
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MarkRules<'a> {
    /// Accepted algorithms.
    pub algs: &'a [Alg],
    /// The current time (Unix seconds).
    pub now: i64,
    /// Leeway for `iat`/`exp`, in seconds.
    pub skew: i64,
    /// Accept an `http` issuer (loopback test federations).
    pub allow_http: bool,
    /// Deviations tolerated ([`Tolerance::PreFinalTrustMarkType`],
    /// [`Tolerance::EmptyTrustMarkUrl`]).
    pub tolerances: Tolerances,
}

/// Trust Mark claims whose value is a URL (§7.1).
const URL_CLAIMS: [&str; 2] = ["ref", "logo_uri"];

impl TrustMark {
    /// Reads `jwt` as a mark of type `declared_type` about `subject`, strictly.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # use serde_json::json;
    /// # const CERTIFIED: &str = "https://tm.example/certified";
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").leaf("rp", &["ta"])
    /// #     .metadata("rp", "openid_relying_party", json!({"client_name": "RP"}))
    /// #     .ec_claim("ta", "trust_mark_issuers", json!({CERTIFIED: []})) // anyone may issue it
    /// #     .trust_mark("ta", "rp", CERTIFIED)
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let now = oidfed::Clock::now(&fed.clock());
    /// let rp = resolver.resolve(&fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::jose::{Alg, KeySet};
    /// use oidfed::trust_mark::TrustMark;
    /// let jwt = &rp.trust_marks()[0].jwt;
    /// let mark = TrustMark::parse(jwt, CERTIFIED, &fed.id("rp"), &Alg::ALL, now, 60, false).unwrap();
    ///
    /// assert_eq!(mark.issuer(), &fed.id("ta"));
    /// // The same mark read as being about someone else is refused.
    /// assert!(TrustMark::parse(jwt, CERTIFIED, &fed.id("ta"), &Alg::ALL, now, 60, false).is_err());
    /// // ...and so is it once it has expired.
    /// assert!(TrustMark::parse(jwt, CERTIFIED, &fed.id("rp"), &Alg::ALL, now + 10 * 86_400, 60, false).is_err());
    /// # });
    /// ```
    pub fn parse(
        jwt: &str,
        declared_type: &str,
        subject: &EntityId,
        algs: &[Alg],
        now: i64,
        skew: i64,
        allow_http: bool,
    ) -> Result<TrustMark, TrustMarkError> {
        let rules = MarkRules {
            algs,
            now,
            skew,
            allow_http,
            tolerances: Tolerances::none(),
        };
        Self::parse_with(jwt, declared_type, subject, &rules).map(|(m, _)| m)
    }

    /// Reads `jwt` as a mark of type `declared_type` about `subject` under `rules`, and
    /// returns the deviations its tolerances accepted. The signature is verified later, on
    /// the JWT as received ([`TrustMark::verify`]). See the [`MarkRules`] example.
    pub fn parse_with(
        jwt: &str,
        declared_type: &str,
        subject: &EntityId,
        rules: &MarkRules<'_>,
    ) -> Result<(TrustMark, Vec<Deviation>), TrustMarkError> {
        let MarkRules {
            algs,
            now,
            skew,
            allow_http,
            tolerances,
        } = *rules;
        let jws = CompactJws::parse(jwt).map_err(TrustMarkError::Jws)?;
        let rules = HeaderRules {
            typ: TRUST_MARK_TYP,
            lenient_typ: false,
            algs,
        };
        let (alg, kid) = jose::check_header(&jws, &rules).map_err(TrustMarkError::Jws)?;
        let kid = kid.to_string();
        let mut claims = object(jws.payload())?;
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|s| EntityId::parse_with(s, allow_http).ok())
            .ok_or(TrustMarkError::Issuer)?;
        if claims.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(TrustMarkError::WrongSubject {
                expected: subject.to_string(),
            });
        }
        let mut deviations = Vec::new();
        let deviation =
            |t: Tolerance, what: String| Deviation::new(issuer.as_str(), subject.as_str(), t, what);
        let found = trust_mark_type_claim(
            &claims,
            tolerances.contains(Tolerance::PreFinalTrustMarkType),
        )?;
        match found {
            Some((t, old)) if t == declared_type => {
                if let Some(old) = old {
                    deviations.push(deviation(
                        Tolerance::PreFinalTrustMarkType,
                        format!("trust mark claim {old} {t:?} read as trust_mark_type"),
                    ));
                }
            }
            _ => {
                return Err(TrustMarkError::WrongType {
                    declared: declared_type.to_string(),
                });
            }
        }
        for c in URL_CLAIMS {
            match claims.get(c) {
                None => {}
                Some(Value::String(s))
                    if s.is_empty() && tolerances.contains(Tolerance::EmptyTrustMarkUrl) =>
                {
                    claims.remove(c);
                    deviations.push(deviation(
                        Tolerance::EmptyTrustMarkUrl,
                        format!("empty {c} read as absent"),
                    ));
                }
                Some(Value::String(s)) if url::Url::parse(s).is_ok() => {}
                Some(v) => {
                    return Err(TrustMarkError::NotAUrl {
                        claim: c,
                        value: v.to_string().chars().take(200).collect(),
                    });
                }
            }
        }
        let expires_at = check_times(&claims, now, skew)?;
        Ok((
            TrustMark {
                jws,
                alg,
                kid,
                claims,
                issuer,
                trust_mark_type: declared_type.to_string(),
                expires_at,
            },
            deviations,
        ))
    }

    /// `iss`.
    ///
    /// See the [`TrustMark`] example.
    pub fn issuer(&self) -> &EntityId {
        &self.issuer
    }

    /// `exp`, if any.
    ///
    /// See the [`TrustMark`] example.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// `delegation`, if any.
    ///
    /// See the [`TrustMark`] example.
    pub fn delegation(&self) -> Option<&str> {
        self.claims.get("delegation").and_then(Value::as_str)
    }

    /// `trust_mark_type`.
    ///
    /// See the [`TrustMark`] example.
    pub fn trust_mark_type(&self) -> &str {
        &self.trust_mark_type
    }

    /// The JWT.
    ///
    /// See the [`TrustMark`] example.
    pub fn jwt(&self) -> &str {
        self.jws.raw()
    }

    /// §7.3 step 7: the signature verifies with the issuer's Federation Entity Keys.
    /// A key of the issuer refused for its material gives [`JoseError::InvalidKey`]. See the
    /// [`TrustMark`] example.
    pub fn verify(&self, issuer_keys: &KeySet) -> Result<(), JoseError> {
        issuer_keys.verify(
            &self.jws,
            self.alg,
            &self.kid,
            &format!("issuer {}", self.issuer),
        )
    }

    /// §7.2.2: the delegation names this mark's issuer and type, is issued by `owner`, and
    /// verifies with the owner's keys from the anchor's `trust_mark_owners`.
    pub fn verify_delegation(
        &self,
        owner: &str,
        owner_keys: &KeySet,
        algs: &[Alg],
        now: i64,
        skew: i64,
    ) -> Result<(), TrustMarkError> {
        let jwt = self.delegation().ok_or(TrustMarkError::DelegationMissing)?;
        let of = |e: TrustMarkError| TrustMarkError::Delegation(Box::new(e));
        let jws = CompactJws::parse(jwt).map_err(|e| of(TrustMarkError::Jws(e)))?;
        let rules = HeaderRules {
            typ: DELEGATION_TYP,
            lenient_typ: false,
            algs,
        };
        let (alg, kid) =
            jose::check_header(&jws, &rules).map_err(|e| of(TrustMarkError::Jws(e)))?;
        let claims = object(jws.payload()).map_err(of)?;
        if claims.get("sub").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(of(TrustMarkError::WrongSubject {
                expected: self.issuer.to_string(),
            }));
        }
        if claims.get("iss").and_then(Value::as_str) != Some(owner) {
            return Err(TrustMarkError::NotByOwner {
                owner: owner.to_string(),
            });
        }
        if claims.get("trust_mark_type").and_then(Value::as_str) != Some(self.trust_mark_type()) {
            return Err(TrustMarkError::DelegatedTypeDiffers);
        }
        check_times(&claims, now, skew).map_err(of)?;
        owner_keys
            .verify(&jws, alg, kid, &format!("owner {owner}"))
            .map_err(|e| of(TrustMarkError::Jws(e)))
    }

    /// §8.4.2: a status response for this mark, verified with the issuer's keys. Returns the
    /// `status` value.
    pub fn check_status_response(
        &self,
        response: &str,
        issuer_keys: &KeySet,
        algs: &[Alg],
    ) -> Result<String, TrustMarkError> {
        let of = |e: TrustMarkError| TrustMarkError::Status(Box::new(e));
        let jws = CompactJws::parse(response).map_err(|e| of(TrustMarkError::Jws(e)))?;
        let rules = HeaderRules {
            typ: STATUS_TYP,
            lenient_typ: false,
            algs,
        };
        let (alg, kid) =
            jose::check_header(&jws, &rules).map_err(|e| of(TrustMarkError::Jws(e)))?;
        issuer_keys
            .verify(&jws, alg, kid, &format!("issuer {}", self.issuer))
            .map_err(|e| of(TrustMarkError::Jws(e)))?;
        let claims = object(jws.payload()).map_err(of)?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(of(TrustMarkError::Issuer));
        }
        if claims.get("trust_mark").and_then(Value::as_str) != Some(self.jwt()) {
            return Err(of(TrustMarkError::OtherMark));
        }
        claims
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| of(TrustMarkError::NoStatus))
    }
}

fn object(payload: &[u8]) -> Result<Map<String, Value>, TrustMarkError> {
    parse_object(payload).map_err(|e| TrustMarkError::Payload { detail: e.0 })
}

/// `iat` must be present and not in the future; `exp`, when present, must be in the
/// future: NumericDates read and judged as in a statement (the same functions, §3.2 steps
/// 7–8 leeway). Returns `exp`.
fn check_times(
    claims: &Map<String, Value>,
    now: i64,
    skew: i64,
) -> Result<Option<i64>, TrustMarkError> {
    let malformed = |detail: String| TrustMarkError::MalformedDate { detail };
    let iat = numeric_date(claims, "iat", Rounding::Up).map_err(malformed)?;
    let exp = optional_numeric_date(claims, "exp", Rounding::Down).map_err(malformed)?;
    check_validity(Some(iat), exp, now, skew)
        .map_err(|(rule, detail)| TrustMarkError::NotValidNow { rule, detail })?;
    Ok(exp)
}

/// The anchor's recognition of a mark type (§3.1.2, §7.3): `Ok` when the type is listed in
/// its `trust_mark_issuers` and the issuer is in that list (an empty list means anyone).
///
/// ```
/// use oidfed::trust_mark::recognised;
/// let ta = serde_json::json!({"trust_mark_issuers": {
///     "https://tm.example/certified": ["https://issuer.example"],
///     "https://tm.example/open": []
/// }});
/// let ta = ta.as_object().unwrap();
/// let issuer = oidfed::EntityId::parse("https://issuer.example").unwrap();
/// let other = oidfed::EntityId::parse("https://other.example").unwrap();
/// assert!(recognised(ta, "https://tm.example/certified", &issuer).is_ok());
/// assert!(recognised(ta, "https://tm.example/certified", &other).is_err());
/// assert!(recognised(ta, "https://tm.example/open", &other).is_ok());
/// assert!(recognised(ta, "https://tm.example/unknown", &issuer).is_err());
/// ```
pub fn recognised(
    anchor_configuration: &Map<String, Value>,
    trust_mark_type: &str,
    issuer: &EntityId,
) -> Result<(), TrustMarkError> {
    let issuers = anchor_configuration
        .get("trust_mark_issuers")
        .and_then(|m| m.get(trust_mark_type))
        .and_then(Value::as_array)
        .ok_or_else(|| TrustMarkError::TypeNotRecognised {
            trust_mark_type: trust_mark_type.to_string(),
        })?;
    if issuers.is_empty() || issuers.iter().any(|i| i.as_str() == Some(issuer.as_str())) {
        Ok(())
    } else {
        Err(TrustMarkError::IssuerNotAccepted {
            issuer: issuer.to_string(),
            trust_mark_type: trust_mark_type.to_string(),
        })
    }
}

/// The owner of a mark type in the anchor's `trust_mark_owners`: its `sub` and keys.
///
/// ```
/// use oidfed::signer::{JwkSigner, Signer};
/// use oidfed::trust_mark::owner;
/// let key = JwkSigner::generate_es256("owner-1").unwrap();
/// let ta = serde_json::json!({"trust_mark_owners": {"https://tm.example/certified": {
///     "sub": "https://owner.example", "jwks": {"keys": [key.public_jwk()]}}}});
/// let (sub, keys) = owner(ta.as_object().unwrap(), "https://tm.example/certified").unwrap().unwrap();
/// assert_eq!((sub.as_str(), keys.len()), ("https://owner.example", 1));
/// assert!(owner(ta.as_object().unwrap(), "https://tm.example/other").is_none());
/// ```
pub fn owner(
    anchor_configuration: &Map<String, Value>,
    trust_mark_type: &str,
) -> Option<Result<(String, KeySet), TrustMarkError>> {
    let o = anchor_configuration
        .get("trust_mark_owners")?
        .get(trust_mark_type)?;
    let entry = |detail: String| TrustMarkError::OwnerEntry { detail };
    let sub = match o.get("sub").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None => return Some(Err(entry("no sub".into()))),
    };
    Some(
        o.get("jwks")
            .ok_or_else(|| entry("no jwks".into()))
            .and_then(|j| KeySet::from_json(j).map_err(|e| entry(e.to_string())))
            .map(|keys| (sub, keys)),
    )
}
