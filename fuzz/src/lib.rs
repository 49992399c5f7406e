//! Harness logic shared by the fuzz targets in `fuzz_targets/` and by `examples/replay.rs`
//! (which runs any input without libFuzzer, e.g. under a debugger).
//!
//! Input formats (see README.md for examples):
//!
//! * `jws`, `json`: the raw bytes.
//! * `statement`: a compact JWS, or — when the input starts with `{` — a *line* (below) that
//!   the harness signs with a fixed key, so mutations land in the JSON and not in base64.
//! * `policy`: up to four `\n`-separated JSON documents: superior `metadata_policy`,
//!   subordinate `metadata_policy`, `metadata`, and a `metadata_policy_crit` value.
//! * `software_statement`: like `statement` (a compact JWS, or a line signed with `typ`
//!   `JWT`), then optionally `\n` and a registration request body it is embedded in.
//! * `registration_request`: the raw bytes of a registration request body.
//! * `chain`: byte 0 = mode (`% 3`: 0 raw tokens, 1 signed lines, 2 signed lines served
//!   over an in-memory fetcher and resolved), byte 1 = entity type (`% 5`, see
//!   [`ENTITY_TYPES`]), then up to [`MAX_LINES`] `\n`-separated lines.
//!
//! A *line* is `PAYLOAD` or `HEADER\tPAYLOAD` (JSON text, used byte for byte). Before
//! signing, `$JWKS2`/`$JWKS` become the public JWK Set of key 2 (EdDSA) / key 1 (ES256),
//! `$KID2`/`$KID` their kids and `$S0`…`$S7` the blobs signed from `#` lines. A line starting
//! with `~` is signed with key 2; the default header is
//! `{"alg":…,"kid":…,"typ":"entity-statement+jwt"}` (`trust-mark+jwt` for `#` lines). In
//! mode 2, a line `%URL\tBODY` serves BODY (expanded) at URL instead of being a statement.

use std::sync::{Arc, OnceLock};

use josekit::jwk::KeyPair;
use josekit::jws::{ES256, EdDSA, JwsSigner};
use oidfed::fetch::{FetchResponse, MemoryFetcher};
use oidfed::jose::{self, Alg, CompactJws, HeaderRules, KeySet, b64url};
use oidfed::fuzzing::parse_strict;
use oidfed::policy::{
    EntityTypePolicy, MetadataPolicy, OperatorRegistry, PolicySource, regexp::Regexp,
    resolve_chain_policy,
};
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::{EntityId, EntityType, FixedClock, Resolver};
use serde_json::{Map, Value};

/// The fixed time of every run.
pub const NOW: i64 = 1_700_000_000;
/// The trust anchor pinned to key 1.
pub const TA: &str = "https://ta.example";
/// A second trust anchor, pinned to key 2.
pub const TA2: &str = "https://ta2.example";
/// Most statements per chain input.
pub const MAX_LINES: usize = 8;
/// Entity types selected by byte 1 of a chain input.
pub const ENTITY_TYPES: [EntityType; 5] = [
    EntityType::OPENID_RELYING_PARTY,
    EntityType::OPENID_PROVIDER,
    EntityType::FEDERATION_ENTITY,
    EntityType::OAUTH_CLIENT,
    EntityType::OAUTH_AUTHORIZATION_SERVER,
];

/// Throwaway keys, generated for this fuzz harness only (never used anywhere else).
const K1_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgn79j7p/VXUVWZO7R
27bpFwuBsRBgx953bdi6wWsgZg2hRANCAAQFFbv2FyMHLTOXRg0AtJ7MobHhO0og
ecV2yEgjZ3e0dMQJ/L1pGy/m/3VSXMfHpnKstaBFS6JCx7ECOLPzwc7f
-----END PRIVATE KEY-----
";
const K2_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILdAn/5T9AgWtYx7nQKk7AYbhqU1qwgtZXKWTlF1O9XI
-----END PRIVATE KEY-----
";

/// A fixed signing key.
pub struct FixedKey {
    /// JWS `alg`.
    pub alg: &'static str,
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// `{"keys":[public JWK]}`.
    pub jwks: Value,
    /// `jwks` as compact JSON text.
    pub jwks_text: String,
    signer: Box<dyn JwsSigner>,
}

impl FixedKey {
    fn new(alg: &'static str, public: Map<String, Value>, signer: Box<dyn JwsSigner>) -> Self {
        let mut public = public;
        let kid = jose::thumbprint(&public).expect("thumbprint");
        public.insert("kid".into(), Value::from(kid.clone()));
        public.insert("alg".into(), Value::from(alg));
        let jwks = serde_json::json!({ "keys": [Value::Object(public)] });
        let jwks_text = jwks.to_string();
        Self {
            alg,
            kid,
            jwks,
            jwks_text,
            signer,
        }
    }

    /// Signs `header.payload` (both used byte for byte).
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64url(header), b64url(payload));
        let sig = self.signer.sign(input.as_bytes()).expect("signing");
        format!("{input}.{}", b64url(&sig))
    }

    /// The default header for `typ`.
    pub fn header(&self, typ: &str) -> String {
        format!(
            r#"{{"alg":"{}","kid":"{}","typ":"{typ}"}}"#,
            self.alg, self.kid
        )
    }
}

/// Key 1 (ES256) and key 2 (EdDSA).
pub fn keys() -> &'static [FixedKey; 2] {
    static KEYS: OnceLock<[FixedKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let k1 = ES256.key_pair_from_pem(K1_PEM).expect("k1");
        let k2 = EdDSA.key_pair_from_pem(K2_PEM).expect("k2");
        [
            FixedKey::new(
                "ES256",
                k1.to_jwk_public_key().as_ref().clone(),
                Box::new(ES256.signer_from_pem(K1_PEM).expect("k1 signer")),
            ),
            FixedKey::new(
                "EdDSA",
                k2.to_jwk_public_key().as_ref().clone(),
                Box::new(EdDSA.signer_from_pem(K2_PEM).expect("k2 signer")),
            ),
        ]
    })
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Expands `$JWKS2`, `$JWKS`, `$KID2`, `$KID` and `$S0`…`$S7` (`signed`).
pub fn expand(text: &[u8], signed: &[String]) -> Vec<u8> {
    if !text.contains(&b'$') {
        return text.to_vec();
    }
    let [k1, k2] = keys();
    let mut t = replace_all(text, b"$JWKS2", k2.jwks_text.as_bytes());
    t = replace_all(&t, b"$JWKS", k1.jwks_text.as_bytes());
    t = replace_all(&t, b"$KID2", k2.kid.as_bytes());
    t = replace_all(&t, b"$KID", k1.kid.as_bytes());
    for (i, s) in signed.iter().enumerate() {
        t = replace_all(&t, format!("$S{i}").as_bytes(), s.as_bytes());
    }
    t
}

/// Signs one line (see the module docs) with the default `typ`.
pub fn sign_line(line: &[u8], typ: &str, signed: &[String]) -> String {
    let [k1, k2] = keys();
    let (key, line) = match line.strip_prefix(b"~") {
        Some(rest) => (k2, rest),
        None => (k1, line),
    };
    let (header, payload) = match line.iter().position(|&b| b == b'\t') {
        Some(i) => (expand(&line[..i], signed), expand(&line[i + 1..], signed)),
        None => (key.header(typ).into_bytes(), expand(line, signed)),
    };
    key.sign_raw(&header, &payload)
}

/// The one current-thread runtime.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A resolver trusting [`TA`] (key 1) and [`TA2`] (key 2), at [`NOW`], with `regexp`.
pub fn resolver(fetcher: MemoryFetcher) -> Resolver {
    let [k1, k2] = keys();
    Resolver::builder()
        .trust_anchor(TA, &k1.jwks)
        .trust_anchor(TA2, &k2.jwks)
        .fetcher(fetcher)
        .clock(FixedClock::new(NOW))
        .policy_operator(Arc::new(Regexp::default()))
        .resolution_timeout(std::time::Duration::from_secs(5))
        .statement_cache(1 << 20, 3600)
        .record_cache_capacity(16)
        .build()
        .expect("resolver")
}

// ---------------------------------------------------------------------------------------
// jws

/// `CompactJws::parse_with_limit`, `check_header`, and JWK Set / verifier construction from
/// a payload that happens to be a JWK Set.
pub fn run_jws(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let limit = data.first().map_or(0, |b| usize::from(*b) * 64);
    let _ = CompactJws::parse_with_limit(s, limit);
    let Ok(jws) = CompactJws::parse_with_limit(s, jose::DEFAULT_MAX_JWS_LEN) else {
        return;
    };
    // Invariants of a successful parse.
    let raw: &str = jws.raw();
    assert!(raw.as_bytes().starts_with(jws.signing_input()));
    let parts: Vec<&str> = raw.split('.').collect();
    assert_eq!(parts.len(), 3, "a parsed JWS has three parts");
    assert_eq!(
        jws.signing_input().len(),
        parts[0].len() + 1 + parts[1].len()
    );
    assert_eq!(
        b64url(jws.payload()),
        parts[1],
        "payload base64 is canonical"
    );
    assert_eq!(
        b64url(jws.signature()),
        parts[2],
        "signature base64 is canonical"
    );
    let _ = jws.kid();

    let typ = jws
        .header()
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut header_ok = None;
    for t in ["entity-statement+jwt", "trust-mark+jwt", typ] {
        for lenient in [false, true] {
            let rules = HeaderRules {
                typ: t,
                lenient_typ: lenient,
                algs: &Alg::ALL,
            };
            if let Ok((alg, kid)) = jose::check_header(&jws, &rules) {
                header_ok = Some((alg, kid.to_string()));
            }
        }
    }
    // A payload that is a JWK Set: build every verifier it allows and try the signature.
    if let Ok(v) = parse_strict(jws.payload()) {
        if let Ok(set) = KeySet::from_json(&v) {
            let _ = set.to_json();
            for key in set.keys() {
                let _ = (key.kid(), key.kty(), key.declared_alg(), key.thumbprint());
                for alg in Alg::ALL {
                    if let Ok(verifier) = key.verifier(alg) {
                        let _ = verifier.verify(jws.signing_input(), jws.signature());
                    }
                }
            }
            if let Some((alg, kid)) = &header_ok {
                let _ = set.verify(&jws, *alg, kid, "fuzz");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// json

/// `parse_strict` against plain `serde_json`: whatever the strict parser accepts, serde_json
/// accepts with the same value.
pub fn run_json(data: &[u8]) {
    let strict = parse_strict(data);
    if let Ok(v) = &strict {
        let plain: Value =
            serde_json::from_slice(data).expect("strict accepted, serde_json refused");
        assert_eq!(&plain, v, "strict and plain parses differ");
        // Re-serialized, it parses strictly again to the same value.
        let text = serde_json::to_vec(v).expect("serialize");
        assert_eq!(&parse_strict(&text).expect("reparse"), v);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = oidfed::fuzzing::parse_strict_str(s);
        let _ = MetadataPolicy::from_json_str(s);
    }
}

// ---------------------------------------------------------------------------------------
// statement

fn lenient_rules() -> StatementRules {
    StatementRules {
        allow_http: true,
        lenient_typ: true,
        understood_crit: vec!["ext".into(), "organization_name".into()],
        understood_policy_operators: vec!["regexp".into()],
        expected_aud: Some("https://op.example".into()),
        allow_chain_headers: true,
        ..StatementRules::default()
    }
}

fn exercise_statement(st: &EntityStatement) {
    let _ = (st.raw(), st.jws(), st.claims(), st.issuer(), st.subject());
    let _ = (st.issued_at(), st.expires_at(), st.alg(), st.kid());
    let _ = (st.is_configuration(), st.authority_hints(), st.metadata());
    let _ = (st.metadata_policy_crit(), st.trust_marks());
    assert_eq!(st.is_configuration(), st.issuer() == st.subject());
    for skew in [0, 60, i64::MAX] {
        for now in [0, NOW, st.issued_at(), st.expires_at(), i64::MAX, i64::MIN] {
            let _ = st.check_time(now, skew);
        }
    }
    for name in [
        "federation_fetch_endpoint",
        "federation_list_endpoint",
        "federation_trust_mark_status_endpoint",
    ] {
        if let Some(e) = st.federation_endpoint(name) {
            let _ = url::Url::parse(e);
        }
    }
    let _ = st.verify_with(st.jwks(), "itself");
    let _ = st.verify_with(st.jwks(), "itself again");
    for k in keys() {
        if let Ok(set) = KeySet::from_json(&k.jwks) {
            let _ = st.verify_with(&set, "fixed key");
        }
    }
    let mut registry = OperatorRegistry::default();
    let _ = registry.register(Arc::new(Regexp::default()));
    if let Some(p) = st.metadata_policy() {
        if let Ok(policy) = MetadataPolicy::from_json_with(p, &registry) {
            if let Some(md) = st.metadata() {
                let _ = policy.apply_with(md, &registry);
            }
        }
    }
    if let Some(c) = st.constraints() {
        if let Ok(c) = oidfed::fuzzing::Constraints::from_json(c) {
            let _ = c.check_path_length(3);
            let _ = c.check_name(st.subject());
            if let Some(md) = st.metadata() {
                let mut md = md.clone();
                let _ = c.filter_entity_types(&mut md);
            }
        }
    }
    for tm in st.trust_marks() {
        let _ = oidfed::trust_mark::TrustMark::parse(
            &tm.trust_mark,
            &tm.trust_mark_type,
            st.subject(),
            &Alg::ALL,
            NOW,
            60,
            true,
        );
    }
}

/// `EntityStatement::parse` with the default (strict) rules and with lenient rules.
pub fn run_statement(data: &[u8]) {
    let token = if data.first() == Some(&b'{') || data.first() == Some(&b'~') {
        sign_line(data, "entity-statement+jwt", &[])
    } else {
        match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(_) => return,
        }
    };
    let strict = EntityStatement::parse(&token, &StatementRules::default());
    if debug() {
        eprintln!("statement (strict): {strict:?}");
    }
    if let Ok(st) = strict {
        exercise_statement(&st);
        // Whatever the strict rules accept, the lenient ones accept too (unless it carries
        // an `aud`, which the strict rules reject anyway).
        assert!(
            EntityStatement::parse(&token, &lenient_rules()).is_ok(),
            "strict accepted, lenient refused"
        );
    }
    if let Ok(st) = EntityStatement::parse(&token, &lenient_rules()) {
        exercise_statement(&st);
    }
}

// ---------------------------------------------------------------------------------------
// historical keys

/// `HistoricalKeys::parse_unverified` and `parse` (§8.7) on a `jwk-set+jwt`: a compact JWS,
/// or a line (starting with `{` or `~`) the harness signs with `typ` `jwk-set+jwt`. Checks
/// that every key's status at its own boundaries is the one §8.7 gives, that `check_key_at`
/// agrees with `status_at`, and that a verified parse reads the same keys.
pub fn run_historical(data: &[u8]) {
    use oidfed::historical::{HISTORICAL_KEYS_TYP, HistoricalKeys, HistoricalVerifier, KeyStatus};
    let token = if data.first() == Some(&b'{') || data.first() == Some(&b'~') {
        sign_line(data, HISTORICAL_KEYS_TYP, &[])
    } else {
        match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(_) => return,
        }
    };
    let rules = StatementRules::default();
    let unverified = HistoricalKeys::parse_unverified(&token, &rules);
    if debug() {
        eprintln!(
            "historical (unverified): {:?}",
            unverified.as_ref().map(|u| &u.0)
        );
    }
    let Ok((set, _, _, _)) = unverified else {
        return;
    };
    for k in set.keys() {
        let exp = k.expires_at();
        if let Some(from) = k.valid_from() {
            assert!(from <= exp, "valid_from after exp was accepted");
        }
        let revoked_by = |t: i64| k.revocation().is_some_and(|r| r.revoked_at <= t);
        for t in [
            0,
            NOW,
            exp.saturating_sub(1),
            exp,
            k.valid_from().unwrap_or(0),
        ] {
            let status = k.status_at(t);
            if t >= exp || revoked_by(t) {
                assert_ne!(
                    status,
                    KeyStatus::Valid,
                    "a key valid at/after exp or revocation"
                );
            }
            let checked = set.check_key_at(k.kid(), t);
            assert_eq!(
                matches!(checked, Ok(Some(_))),
                status == KeyStatus::Valid,
                "check_key_at disagrees with status_at"
            );
        }
        if let Some(r) = k.revocation() {
            assert!(matches!(k.status_at(r.revoked_at), KeyStatus::Revoked(_)));
        }
        let _ = set.keys_valid_at(NOW);
    }
    let [k1, _] = keys();
    let current = KeySet::from_json(&k1.jwks).expect("k1 jwks");
    if let Ok(verified) = HistoricalKeys::parse(&token, set.issuer(), &current, &rules) {
        assert_eq!(verified.keys().len(), set.keys().len());
    }
    let anchor = oidfed::TrustAnchor::new(TA, &k1.jwks).expect("anchor");
    let _ = HistoricalVerifier::new(anchor)
        .history(set.clone())
        .verify_signed_at(
            &token,
            HISTORICAL_KEYS_TYP,
            set.issuer(),
            Some(&current),
            NOW,
        );
}

// ---------------------------------------------------------------------------------------
// policy

fn parse_doc(text: &[u8]) -> Option<Value> {
    parse_strict(text).ok()
}

/// `MetadataPolicy` / `EntityTypePolicy`: from_json_str, from_json(_with), combine, apply,
/// `resolve_chain_policy`.
pub fn run_policy(data: &[u8]) {
    let mut docs = data.splitn(4, |&b| b == b'\n');
    let sup_text = docs.next().unwrap_or_default();
    let sub_text = docs.next().unwrap_or_default();
    let md_text = docs.next().unwrap_or_default();
    let crit_text = docs.next().unwrap_or_default();

    let mut registry = OperatorRegistry::default();
    registry
        .register(Arc::new(Regexp::default()))
        .expect("register regexp");

    // Text entry point (duplicate-member detection).
    for t in [sup_text, sub_text] {
        if let Ok(s) = std::str::from_utf8(t) {
            let _ = MetadataPolicy::from_json_str(s);
        }
    }
    let sup_v = parse_doc(sup_text);
    let sub_v = parse_doc(sub_text);
    let md = parse_doc(md_text).and_then(|v| match v {
        Value::Object(m) => Some(m),
        _ => None,
    });
    let crit = parse_doc(crit_text);

    let parse = |v: &Option<Value>, reg: &OperatorRegistry| {
        v.as_ref()
            .and_then(|v| MetadataPolicy::from_json_with(v, reg).ok())
    };
    let empty = OperatorRegistry::default();
    for reg in [&empty, &registry] {
        let sup = parse(&sup_v, reg);
        let sub = parse(&sub_v, reg);
        for p in [&sup, &sub].into_iter().flatten() {
            // Serializing and parsing again gives the same policy.
            let again = MetadataPolicy::from_json_with(&p.to_json(), reg)
                .expect("a policy's own JSON parses again");
            assert_eq!(&again, p, "to_json/from_json round trip");
            // Merging with an empty policy changes nothing.
            let none = MetadataPolicy::default();
            assert_eq!(&p.combine_with(&none, reg).expect("combine empty"), p);
            assert_eq!(&none.combine_with(p, reg).expect("combine into empty"), p);
            // A policy merged with itself is valid.
            let _ = p.combine_with(p, reg);
            if let Some(md) = &md {
                let _ = p.apply_with(md, reg);
            }
            for t in p.entity_types() {
                if let Some(etp) = p.entity_type(t) {
                    let _ = (etp.entity_type(), etp.parameters().count(), etp.to_json());
                }
            }
        }
        if let (Some(sup), Some(sub)) = (&sup, &sub) {
            if let Ok(merged) = sup.combine_with(sub, reg) {
                let again = MetadataPolicy::from_json_with(&merged.to_json(), reg)
                    .expect("a merged policy's JSON parses again");
                assert_eq!(again, merged, "merged to_json/from_json round trip");
                if let Some(md) = &md {
                    let _ = merged.apply_with(md, reg);
                }
            }
        }
    }
    // Without a type (the `scope` rule applies to any type), per Entity Type.
    if let (Some(Value::Object(sup)), Some(Value::Object(sub))) = (&sup_v, &sub_v) {
        for (t, sp) in sup.iter().take(4) {
            let a = EntityTypePolicy::from_json(sp);
            let a_typed = EntityTypePolicy::from_json_for(t, sp, &registry);
            let b = sub.get(t).map(EntityTypePolicy::from_json);
            if let (Ok(a), Some(Ok(b))) = (&a, &b) {
                if let Ok(m) = a.combine(b) {
                    if let Some(Value::Object(tm)) = md.as_ref().and_then(|m| m.get(t)) {
                        let _ = m.apply(tm);
                    }
                }
            }
            if let Ok(a) = &a {
                let _ = EntityTypePolicy::from_json(&a.to_json()).expect("etp round trip");
                if let Some(Value::Object(tm)) = md.as_ref().and_then(|m| m.get(t)) {
                    let _ = a.apply(tm);
                }
            }
            if let Ok(a) = &a_typed {
                if let Some(Value::Object(tm)) = md.as_ref().and_then(|m| m.get(t)) {
                    let _ = a.apply_with(tm, &registry);
                }
            }
        }
    }
    // The chain entry point, with a `metadata_policy_crit`.
    let sources = [
        PolicySource {
            issuer: TA,
            subject: "https://int.example",
            metadata_policy: sup_v.as_ref(),
            metadata_policy_crit: crit.as_ref(),
        },
        PolicySource {
            issuer: "https://int.example",
            subject: "https://rp.example",
            metadata_policy: sub_v.as_ref(),
            metadata_policy_crit: None,
        },
    ];
    for reg in [&empty, &registry] {
        if let Ok(Some(p)) = resolve_chain_policy(&sources, reg) {
            if let Some(md) = &md {
                let _ = oidfed::policy::apply_policy(md, &p, reg);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// chain

/// Splits a chain input into (mode, entity type, lines).
pub fn split_chain(data: &[u8]) -> Option<(u8, EntityType, Vec<&[u8]>)> {
    let (&mode, rest) = data.split_first()?;
    let (&et, rest) = rest.split_first()?;
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(MAX_LINES).collect();
    Some((
        mode % 3,
        ENTITY_TYPES[usize::from(et) % ENTITY_TYPES.len()].clone(),
        lines,
    ))
}

/// Signs every line: `#` lines first (as blobs `$S0`…), then the others, in order.
/// `%` lines are returned apart, as (URL, body).
pub fn sign_lines(lines: &[&[u8]]) -> (Vec<String>, Vec<(String, Vec<u8>)>) {
    let mut blobs = Vec::new();
    for l in lines {
        if let Some(rest) = l.strip_prefix(b"#") {
            let s = sign_line(rest, "trust-mark+jwt", &blobs);
            blobs.push(s);
        }
    }
    let mut tokens = Vec::new();
    let mut served = Vec::new();
    for l in lines {
        if l.starts_with(b"#") {
            continue;
        }
        if let Some(rest) = l.strip_prefix(b"%") {
            if let Some(i) = rest.iter().position(|&b| b == b'\t') {
                if let Ok(u) = std::str::from_utf8(&rest[..i]) {
                    served.push((u.to_string(), expand(&rest[i + 1..], &blobs)));
                }
            }
            continue;
        }
        tokens.push(sign_line(l, "entity-statement+jwt", &blobs));
    }
    (tokens, served)
}

/// Where the walk will look for `token` (its EC's well-known URL, or the issuer's fetch
/// endpoint with `?sub=`), judged from the claims and the other tokens.
fn url_for(token: &str, all: &[(Map<String, Value>, &str)]) -> Option<String> {
    let payload = CompactJws::parse(token).ok()?;
    let claims = match parse_strict(payload.payload()).ok()? {
        Value::Object(m) => m,
        _ => return None,
    };
    let iss = EntityId::parse(claims.get("iss")?.as_str()?).ok()?;
    let sub = EntityId::parse(claims.get("sub")?.as_str()?).ok()?;
    if iss == sub {
        return Some(iss.well_known_url().to_string());
    }
    let endpoint = all
        .iter()
        .find_map(|(c, _)| {
            let same = |k: &str| c.get(k).and_then(Value::as_str) == Some(iss.as_str());
            if same("iss") && same("sub") {
                c.get("metadata")?
                    .get("federation_entity")?
                    .get("federation_fetch_endpoint")?
                    .as_str()
                    .map(str::to_string)
            } else {
                None
            }
        })
        .unwrap_or_else(|| format!("{}/fetch", iss.as_str().trim_end_matches('/')));
    let mut u = url::Url::parse(&endpoint).ok()?;
    u.query_pairs_mut().append_pair("sub", sub.as_str());
    Some(u.to_string())
}

/// `Resolver::validate_chain` on arbitrary statements (modes 0 and 1) and a full
/// resolution over an in-memory federation (mode 2).
pub fn run_chain(data: &[u8]) {
    let Some((mode, et, lines)) = split_chain(data) else {
        return;
    };
    let fetcher = MemoryFetcher::new();
    let resolver = resolver(fetcher.clone());
    let rt = runtime();
    match mode {
        0 => {
            let tokens: Vec<String> = lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            rt.block_on(validate(&resolver, &tokens, &et));
        }
        1 => {
            let (tokens, _) = sign_lines(&lines);
            rt.block_on(validate(&resolver, &tokens, &et));
        }
        _ => {
            let (tokens, served) = sign_lines(&lines);
            let claims: Vec<(Map<String, Value>, &str)> = tokens
                .iter()
                .filter_map(|t| {
                    let jws = CompactJws::parse(t).ok()?;
                    match parse_strict(jws.payload()).ok()? {
                        Value::Object(m) => Some((m, t.as_str())),
                        _ => None,
                    }
                })
                .collect();
            for t in &tokens {
                if let Some(u) = url_for(t, &claims) {
                    fetcher.insert(&u, FetchResponse::entity_statement(t));
                }
            }
            for (u, body) in served {
                let ct = if body.first() == Some(&b'{') {
                    "application/json"
                } else {
                    "application/jwt"
                };
                fetcher.insert(&u, FetchResponse::ok(ct, body));
            }
            // The subject: the `sub` of the first statement.
            let subject = claims
                .first()
                .and_then(|(c, _)| c.get("sub")?.as_str().map(str::to_string));
            if let Some(subject) = subject {
                if let Ok(id) = resolver.entity_id(&subject) {
                    rt.block_on(async {
                        let resolved = resolver.resolve(&id, &et).await;
                        if debug() {
                            eprintln!("fetcher urls: {:?}", fetcher.urls());
                            eprintln!("resolve: {:?}", resolved.as_ref().map(|r| r.metadata()));
                        }
                        if let Ok(resolved) = resolved {
                            exercise_resolved(&resolved);
                        }
                        let record = resolver.record(&id, &et).await;
                        if debug() {
                            eprintln!("record: {record:?}");
                        }
                        if let Ok(record) = record {
                            let re = resolver.reresolve(&record).await;
                            if debug() {
                                eprintln!("reresolve: {re:?}");
                            }
                        }
                    });
                }
            }
        }
    }
}

/// Whether `OIDFED_FUZZ_DEBUG` is set (the replay example prints outcomes then).
pub fn debug() -> bool {
    static D: OnceLock<bool> = OnceLock::new();
    *D.get_or_init(|| std::env::var_os("OIDFED_FUZZ_DEBUG").is_some())
}

async fn validate(resolver: &Resolver, tokens: &[String], et: &EntityType) {
    let result = resolver.validate_chain(tokens, et).await;
    if debug() {
        eprintln!(
            "validate_chain: {:?}",
            result.as_ref().map(|r| r.metadata())
        );
    }
    if let Ok(resolved) = result {
        exercise_resolved(&resolved);
        let record = resolver.record_from(&resolved).await;
        if debug() {
            eprintln!("record_from: {record:?}");
        }
    }
}

fn exercise_resolved(r: &oidfed::ResolvedEntity) {
    let chain = r.chain();
    let _ = (
        r.entity_id(),
        r.trust_anchor(),
        r.expires_at(),
        r.metadata(),
    );
    let _ = (
        r.trust_marks(),
        r.rejected_trust_marks(),
        r.federation_keys(),
    );
    let _ = (r.all_metadata(), r.alternatives());
    if debug() {
        eprintln!(
            "trust marks: {:?} rejected: {:?}",
            r.trust_marks(),
            r.rejected_trust_marks()
        );
    }
    let _ = (chain.path(), chain.to_jwts(), chain.immediate_superior());
    let _ = chain.subordinate_statements().count();
    assert!(
        r.trust_anchor().as_str() == TA || r.trust_anchor().as_str() == TA2,
        "resolved to an anchor that is not configured: {}",
        r.trust_anchor()
    );
}

// ---------------------------------------------------------------------------------------
// software statements and registration requests (RFC 7591)

/// A DCR gate whose resolver trusts [`TA`] and [`TA2`] (nothing is served, so no
/// organization resolves) with [`TA`] configured as a directory pinned to key 1, its
/// organizations named `https://ta.example/orgs/{org_id}`.
fn dcr_gate() -> &'static oidfed::server::dcr::DcrGate {
    use oidfed::server::dcr::{DcrConfig, DcrGate, Directory, DirectoryKeys};
    static GATE: OnceLock<DcrGate> = OnceLock::new();
    GATE.get_or_init(|| {
        let [k1, _] = keys();
        let mut config = DcrConfig::default();
        let anchor = EntityId::parse(TA).expect("TA");
        let pinned = KeySet::from_json(&k1.jwks).expect("k1 jwks");
        config.statements.directories.push(
            Directory::new(TA, anchor, DirectoryKeys::Pinned(pinned))
                .organization_template("https://ta.example/orgs/{org_id}"),
        );
        DcrGate::new(resolver(MemoryFetcher::new()), config)
    })
}

fn check_dcr_error(e: &oidfed::server::dcr::DcrError) {
    let body = e.to_json();
    let code = body["error"].as_str().unwrap_or_default();
    assert!(
        [
            "invalid_software_statement",
            "unapproved_software_statement",
            "invalid_client_metadata",
            "invalid_redirect_uri",
            "temporarily_unavailable",
            "server_error",
        ]
        .contains(&code),
        "a registration refusal with a code RFC 7591 does not define: {body}"
    );
    assert!(e.rule().is_some() || code.ends_with("error") || code == "temporarily_unavailable");
}

/// `verify_statement` (both forms) on one statement, then the whole gate on a request
/// carrying it. Nothing can be accepted (no organization resolves), and every refusal has
/// an RFC 7591 code and a rule.
pub fn run_software_statement(data: &[u8]) {
    use oidfed::server::MemoryReplayGuard;
    use oidfed::server::dcr::verify_statement;
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let token = if first.first() == Some(&b'{') || first.first() == Some(&b'~') {
        sign_line(first, "JWT", &[])
    } else {
        match std::str::from_utf8(first) {
            Ok(s) => s.to_string(),
            Err(_) => return,
        }
    };
    let gate = dcr_gate();
    let rt = runtime();
    let verified = rt.block_on(verify_statement(
        gate.resolver(),
        &gate.config().statements,
        &token,
    ));
    if debug() {
        eprintln!("verify_statement: {verified:?}");
    }
    match verified {
        Ok(_) => panic!("a statement was verified although no organization resolves"),
        Err(e) => check_dcr_error(&e),
    }
    let mut body = match rest.map(parse_strict) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    };
    body.insert("software_statement".into(), Value::from(token));
    let bytes = Value::Object(body).to_string().into_bytes();
    let guard = MemoryReplayGuard::new(64);
    match rt.block_on(gate.check_registration(&bytes, &guard)) {
        Ok(a) => panic!("a registration was approved although no organization resolves: {a:?}"),
        Err(e) => check_dcr_error(&e),
    }
}

/// `RegistrationRequest::parse`, `merge_statement` and `check_metadata`: what the checks
/// accept has the defaults filled, a supported authentication method and consistent
/// grant and response types, and checking it again changes nothing.
pub fn run_registration_request(data: &[u8]) {
    use oidfed::server::dcr::{MetadataRules, RegistrationRequest, check_metadata, merge_statement};
    let request = match RegistrationRequest::parse(data, 64 * 1024) {
        Ok(r) => r,
        Err(e) => return check_dcr_error(&e),
    };
    if debug() {
        eprintln!("request: {request:?}");
    }
    let rules = MetadataRules::default();
    let mut merged = merge_statement(request.metadata(), request.metadata());
    for issued in ["client_id", "client_secret", "registration_access_token"] {
        assert!(!merged.contains_key(issued), "{issued} survived the merge");
    }
    match check_metadata(&mut merged, &rules) {
        Ok(()) => {
            assert!(merged.contains_key("grant_types") && merged.contains_key("response_types"));
            let method = merged["token_endpoint_auth_method"].as_str().unwrap_or_default();
            assert!(rules.auth_methods.iter().any(|m| m == method), "method {method}");
            let mut again = merged.clone();
            assert!(check_metadata(&mut again, &rules).is_ok(), "accepted once, refused twice");
            assert_eq!(again, merged, "checking twice changed the metadata");
        }
        Err(e) => check_dcr_error(&e),
    }
}
