//! Compact JWS and JWK sets, checked before any cryptography (OpenID Federation 1.0 §1.1,
//! §3, §3.2 steps 1–3 and 11–12; RFC 7515, RFC 7517, RFC 7638).
//!
//! A token is split and decoded with [`CompactJws::parse`]; its header is checked with
//! [`check_header`] (explicit `typ`, an asymmetric `alg` from the allow-list, a non-empty
//! `kid`, no key-carrying headers); only then is a signature verified with a key chosen by
//! exact `kid` from a [`KeySet`]. Verifiers are built lazily, once per key and algorithm, and
//! reused for as long as the key is held.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::json::parse_strict;

pub(crate) mod cost;
mod key_check;
mod native;
pub use key_check::{KeyError, MAX_RSA_BITS, MAX_RSA_EXPONENT, MIN_RSA_BITS};
pub use native::{EC_VERIFICATION, Verifier, VerifierError};

/// Longest compact JWS accepted by default, in bytes.
pub const DEFAULT_MAX_JWS_LEN: usize = 64 * 1024;
/// Most keys read from one JWK Set; further keys are ignored and reported.
pub const MAX_KEYS_PER_SET: usize = 64;

/// A JWS algorithm from the allow-list. Only asymmetric algorithms exist here: `none` and
/// the HMAC family can never verify a federation statement (Federation Entity Keys are
/// public/private pairs, App. A.1), so they cannot even be named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 10] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    /// Parses a JWS `alg` value; `None` for anything not on the allow-list (`none`, `HS256`…).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JWS name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The JWK `kty` this algorithm needs.
    pub fn key_type(self) -> &'static str {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => "RSA",
            Alg::ES256 | Alg::ES384 | Alg::ES512 => "EC",
            Alg::EdDSA => "OKP",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a token or a key was refused at the JOSE layer. Each variant is one rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Longer than the accepted maximum.
    #[error("token of {len} bytes exceeds the {limit} byte limit")]
    TooLong {
        /// The token length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Five parts: a JWE where a JWS is expected (§1.1).
    #[error("a JWE was given where a JWS is expected")]
    Jwe,
    /// Not three dot-separated parts (JSON serialization, garbage) (§1.1).
    #[error("not a JWS in compact serialization")]
    NotCompact,
    /// A part is not unpadded base64url.
    #[error("the {part} is not base64url")]
    Base64 {
        /// Which part: header, payload or signature.
        part: &'static str,
    },
    /// The header is not a JSON object.
    #[error("the header is not a JSON object: {0}")]
    Header(String),
    /// `typ` missing (§3.2 step 2, RFC 8725 §3.11).
    #[error("the typ header is missing (expected {expected:?})")]
    MissingTyp {
        /// The required type.
        expected: String,
    },
    /// `typ` is not the one required for this kind of JWT.
    #[error("typ {found:?} where {expected:?} is required")]
    WrongTyp {
        /// The type found.
        found: String,
        /// The required type.
        expected: String,
    },
    /// `alg` missing.
    #[error("the alg header is missing")]
    MissingAlg,
    /// `alg` is `none`, symmetric or otherwise not on the allow-list (§3.2 step 3).
    #[error("alg {0:?} is not an accepted asymmetric algorithm")]
    AlgNotAllowed(String),
    /// `kid` missing, empty or not a string (§3, §3.2 step 11).
    #[error("the kid header is missing, empty or not a string")]
    MissingKid,
    /// A header that carries or points at keys (`jwk`, `jku`, `x5u`, `x5c`): never trusted.
    #[error("the {0} header is not accepted: keys come only from the federation")]
    KeyInHeader(String),
    /// A `crit` header: no JWS header extension is supported (RFC 7515 §4.1.11).
    #[error("critical header extension(s) not understood: {0}")]
    CritHeader(String),
    /// No key in the set has the header's `kid` (§3.2 step 11).
    #[error("no key with kid {kid:?} in {whose}")]
    UnknownKid {
        /// The `kid` looked for.
        kid: String,
        /// Whose key set was searched.
        whose: String,
    },
    /// The key with that `kid` cannot be used with that algorithm.
    #[error("key {kid:?} cannot verify {alg}: {reason}")]
    KeyMismatch {
        /// The key id.
        kid: String,
        /// The algorithm.
        alg: Alg,
        /// Why.
        reason: String,
    },
    /// The signature does not verify (§3.2 step 12).
    #[error("signature does not verify with key {kid:?} of {whose}")]
    BadSignature {
        /// The key id.
        kid: String,
        /// Whose key set was used.
        whose: String,
    },
    /// The JWK Set is malformed as a whole (§3.1.1), or one JWK of it is unreadable.
    #[error("invalid JWK Set: {0}")]
    Jwks(String),
    /// The key's public material is degenerate or malformed ([`KeyError`]): refused when
    /// read, so nothing ever verifies with it.
    #[error("key {kid:?} is refused: {reason}")]
    InvalidKey {
        /// The key id.
        kid: String,
        /// Which rule the key material broke.
        reason: KeyError,
    },
}

/// A JWS in compact serialization, split and decoded but **not yet verified**.
///
/// ```
/// use oidfed::jose::{CompactJws, JoseError};
/// assert_eq!(CompactJws::parse("a.b.c.d.e").unwrap_err(), JoseError::Jwe);
/// assert_eq!(CompactJws::parse(r#"{"payload":"x"}"#).unwrap_err(), JoseError::NotCompact);
/// ```
#[derive(Clone)]
pub struct CompactJws {
    raw: Arc<str>,
    signing_input_len: usize,
    header: Map<String, Value>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for CompactJws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactJws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

impl CompactJws {
    /// Splits and decodes a token of at most [`DEFAULT_MAX_JWS_LEN`] bytes.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        Self::parse_with_limit(token, DEFAULT_MAX_JWS_LEN)
    }

    /// Splits and decodes a token of at most `limit` bytes.
    pub fn parse_with_limit(token: &str, limit: usize) -> Result<Self, JoseError> {
        if token.len() > limit {
            return Err(JoseError::TooLong {
                len: token.len(),
                limit,
            });
        }
        let token = token.trim_matches(|c: char| c.is_ascii_whitespace());
        let parts: Vec<&str> = token.splitn(6, '.').collect();
        let (h, p, s) = match parts.as_slice() {
            [h, p, s] => (*h, *p, *s),
            [_, _, _, _, _] => return Err(JoseError::Jwe),
            _ => return Err(JoseError::NotCompact),
        };
        let header_bytes = b64(h, "header")?;
        let header = match parse_strict(&header_bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(JoseError::Header("not an object".into())),
            Err(e) => return Err(JoseError::Header(e.0)),
        };
        let payload = b64(p, "payload")?;
        let signature = b64(s, "signature")?;
        Ok(Self {
            raw: Arc::from(token),
            signing_input_len: h.len() + 1 + p.len(),
            header,
            payload,
            signature,
        })
    }

    /// The token as received.
    pub fn raw(&self) -> &Arc<str> {
        &self.raw
    }

    /// The JOSE header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The decoded payload bytes (not yet trusted).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The `kid` header, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The bytes the signature covers: `base64url(header) "." base64url(payload)`.
    pub fn signing_input(&self) -> &[u8] {
        self.raw
            .as_bytes()
            .get(..self.signing_input_len)
            .unwrap_or_default()
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

fn b64(part: &str, name: &'static str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError::Base64 { part: name })
}

/// Decodes unpadded base64url.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Encodes bytes as unpadded base64url (RFC 7515 §2).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What a header must look like for one kind of JWT.
#[derive(Debug, Clone)]
pub struct HeaderRules<'a> {
    /// The required `typ` (e.g. `entity-statement+jwt`).
    pub typ: &'a str,
    /// Also accept `application/<typ>` compared case-insensitively (RFC 7515 §4.1.9, D2).
    pub lenient_typ: bool,
    /// Algorithms accepted.
    pub algs: &'a [Alg],
}

/// Checks a header before any cryptography: explicit `typ`, allowed `alg`, non-empty `kid`,
/// no key-carrying headers, no `crit` header. Returns the algorithm and the `kid`.
///
/// ```
/// use oidfed::jose::{check_header, Alg, CompactJws, HeaderRules, JoseError};
/// // {"alg":"none","typ":"entity-statement+jwt"} . {} . (empty)
/// let jws = CompactJws::parse("eyJhbGciOiJub25lIiwidHlwIjoiZW50aXR5LXN0YXRlbWVudCtqd3QifQ.e30.").unwrap();
/// let rules = HeaderRules { typ: "entity-statement+jwt", lenient_typ: false, algs: &Alg::ALL };
/// assert_eq!(check_header(&jws, &rules).unwrap_err(), JoseError::AlgNotAllowed("none".into()));
/// ```
pub fn check_header<'j>(
    jws: &'j CompactJws,
    rules: &HeaderRules<'_>,
) -> Result<(Alg, &'j str), JoseError> {
    let h = jws.header();
    match h.get("typ") {
        None => {
            return Err(JoseError::MissingTyp {
                expected: rules.typ.to_string(),
            });
        }
        Some(Value::String(t)) if typ_matches(t, rules.typ, rules.lenient_typ) => {}
        Some(other) => {
            return Err(JoseError::WrongTyp {
                found: other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string()),
                expected: rules.typ.to_string(),
            });
        }
    }
    let alg = match h.get("alg") {
        None => return Err(JoseError::MissingAlg),
        Some(Value::String(name)) => match Alg::from_name(name) {
            Some(a) if rules.algs.contains(&a) => a,
            _ => return Err(JoseError::AlgNotAllowed(name.clone())),
        },
        Some(other) => return Err(JoseError::AlgNotAllowed(other.to_string())),
    };
    for key_header in ["jwk", "jku", "x5u", "x5c"] {
        if h.contains_key(key_header) {
            return Err(JoseError::KeyInHeader(key_header.to_string()));
        }
    }
    if let Some(crit) = h.get("crit") {
        return Err(JoseError::CritHeader(crit.to_string()));
    }
    match h.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => Ok((alg, k.as_str())),
        _ => Err(JoseError::MissingKid),
    }
}

fn typ_matches(found: &str, expected: &str, lenient: bool) -> bool {
    if found == expected {
        return true;
    }
    if !lenient {
        return false;
    }
    // `get` rather than slicing: byte 12 of a hostile `typ` may fall inside a character.
    let bare = match (found.get(..12), found.get(12..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("application/") => rest,
        _ => found,
    };
    bare.eq_ignore_ascii_case(expected)
}

type VerifierCells = [OnceLock<Result<Arc<Verifier>, VerifierError>>; 10];

/// Verifier cells shared by every live [`Key`] with the same public material (and the same
/// `use`/`key_ops`, which are checked when building): the subject's own `jwks`, its
/// superior's assertion of it and a pinned anchor key then build one verifier, not three.
/// Entries are weak: a verifier lives as long as some statement holds its key. Only parsing
/// (the cold path) takes this lock; verifying never does.
fn shared_cells(json: &Map<String, Value>, thumbprint: Option<&str>) -> Arc<VerifierCells> {
    let Some(t) = thumbprint else {
        return Arc::new(Default::default());
    };
    let key = format!(
        "{t}|{}|{}",
        json.get("use").map(Value::to_string).unwrap_or_default(),
        json.get("key_ops")
            .map(Value::to_string)
            .unwrap_or_default()
    );
    let Ok(mut table) = shared_table().lock() else {
        return Arc::new(Default::default());
    };
    if let Some(cells) = table.get(&key).and_then(Weak::upgrade) {
        return cells;
    }
    if table.len() >= 4096 {
        table.retain(|_, w| w.strong_count() > 0);
    }
    let cells: Arc<VerifierCells> = Arc::new(Default::default());
    table.insert(key, Arc::downgrade(&cells));
    cells
}

type SharedTable = Mutex<HashMap<String, Weak<VerifierCells>>>;

/// The process-wide table of [`shared_cells`].
fn shared_table() -> &'static SharedTable {
    static TABLE: OnceLock<SharedTable> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// How many key materials have verifier cells alive in the process-wide table that lets
/// keys with the same material share one verifier (a cell lives as long as some [`Key`]
/// holds it). For benchmarks and tests that must start cold: 0 means no verifier built by
/// an earlier resolution can be reused. (The three NIST curve groups are built once per
/// process and kept: they are constants, not state of any key.)
///
/// ```
/// use oidfed::jose::{Key, shared_verifiers_alive};
/// let jwk = serde_json::json!({"kty": "EC", "kid": "k", "crv": "P-256",
///     "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
///     "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"});
/// let before = shared_verifiers_alive();
/// let key = Key::from_json(&jwk).unwrap();
/// assert!(shared_verifiers_alive() >= 1);
/// drop(key);
/// # let _ = before;
/// ```
pub fn shared_verifiers_alive() -> usize {
    shared_table()
        .lock()
        .map(|t| t.values().filter(|w| w.strong_count() > 0).count())
        .unwrap_or(0)
}

/// One public key from a JWK Set, with lazily built verifiers (one per algorithm).
pub struct Key {
    kid: String,
    kty: String,
    alg: Option<String>,
    thumbprint: Option<String>,
    json: Map<String, Value>,
    verifiers: Arc<VerifierCells>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .finish()
    }
}

impl Key {
    /// Reads one JWK. It must be an object with a string `kty` and a non-empty string `kid`
    /// (§3.1.1: every key of a federation JWK Set has a `kid`). Private members are refused:
    /// a statement that publishes a private key is broken. The public material of RSA, EC
    /// and OKP signing keys is checked ([`KeyError`], as [`JoseError::InvalidKey`]).
    pub fn from_json(v: &Value) -> Result<Key, JoseError> {
        let bad = |s: String| JoseError::Jwks(s);
        let obj = v
            .as_object()
            .ok_or_else(|| bad("a JWK must be an object".into()))?;
        let kty = obj
            .get("kty")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("kty missing or not a string".into()))?;
        let kid = match obj.get("kid") {
            Some(Value::String(k)) if !k.is_empty() => k.clone(),
            _ => return Err(bad("kid missing, empty or not a string".into())),
        };
        // `oth` carries the private factors of a multi-prime RSA key (RFC 7518 §6.3.2.7).
        if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| obj.contains_key(*m))
        {
            return Err(bad(format!(
                "key {kid:?} carries private or symmetric material"
            )));
        }
        let alg = match obj.get("alg") {
            None => None,
            Some(Value::String(a)) => Some(a.clone()),
            Some(_) => return Err(bad(format!("key {kid:?}: alg is not a string"))),
        };
        key_check::check_public(obj).map_err(|reason| JoseError::InvalidKey {
            kid: kid.clone(),
            reason,
        })?;
        let thumbprint = thumbprint(obj);
        Ok(Key {
            verifiers: shared_cells(obj, thumbprint.as_deref()),
            thumbprint,
            kid,
            kty: kty.to_string(),
            alg,
            json: obj.clone(),
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key type (`RSA`, `EC`, `OKP`).
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// The `alg` the JWK declares, if any.
    pub fn declared_alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// The RFC 7638 SHA-256 thumbprint, when the key has the members it needs.
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    /// The key as JSON.
    pub fn to_json(&self) -> Value {
        Value::Object(self.json.clone())
    }

    /// Whether two keys carry the same public key material (by thumbprint, or by JSON
    /// equality when no thumbprint can be computed).
    pub fn same_material(&self, other: &Key) -> bool {
        match (&self.thumbprint, &other.thumbprint) {
            (Some(a), Some(b)) => a == b,
            _ => self.json == other.json,
        }
    }

    /// Whether this JWK may verify `alg`: its `kty`, any declared `alg`, `use` and
    /// `key_ops` allow it (the key material itself is checked when the verifier is built).
    pub fn usable_for(&self, alg: Alg) -> bool {
        self.kty == alg.key_type()
            && self.alg.as_deref().is_none_or(|a| a == alg.name())
            && self
                .json
                .get("use")
                .is_none_or(|u| u.as_str() == Some("sig"))
            && self.json.get("key_ops").is_none_or(|ops| {
                ops.as_array()
                    .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")))
            })
    }

    /// The verifier for `alg`, built on first use and kept.
    pub fn verifier(&self, alg: Alg) -> Result<Arc<Verifier>, VerifierError> {
        // Checks that depend on this JWK's own members come first: the cell is shared by
        // keys with the same material.
        if self.kty != alg.key_type() {
            return Err(VerifierError::KeyType {
                alg,
                kty: self.kty.chars().take(200).collect(),
            });
        }
        if let Some(a) = &self.alg {
            if a != alg.name() {
                return Err(VerifierError::DeclaredFor {
                    declared: a.chars().take(200).collect(),
                });
            }
        }
        self.verifiers[alg.index()]
            .get_or_init(|| Verifier::from_jwk(alg, &self.json).map(Arc::new))
            .clone()
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members of the key type.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canon = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m)?.as_str()?;
        if i > 0 {
            canon.push(',');
        }
        canon.push_str(&serde_json::to_string(m).ok()?);
        canon.push(':');
        canon.push_str(&serde_json::to_string(v).ok()?);
    }
    canon.push('}');
    Some(b64url(&openssl::sha::sha256(canon.as_bytes())))
}

/// A JWK Set: the keys that could be read, and the ones that could not (with the reason).
/// One malformed key does not poison the others; two keys sharing a `kid` make the whole
/// set invalid (§3.1.1: `kid` values are unique within a set).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<Key>>,
    rejected: Vec<(usize, JoseError)>,
}

impl KeySet {
    /// Reads `{"keys": [...]}`.
    ///
    /// ```
    /// use oidfed::jose::KeySet;
    /// use serde_json::json;
    /// let set = KeySet::from_json(&json!({"keys": [
    ///     {"kty": "EC", "kid": "k1", "crv": "P-256",
    ///      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
    ///     {"kty": "EC"},
    ///     {"kty": "EC", "kid": "k2", "crv": "P-256", "x": "AA", "y": "AA"}
    /// ]})).unwrap();
    /// assert_eq!(set.len(), 1);
    /// assert_eq!(set.rejected().len(), 2);
    /// // The degenerate key is named, with its reason, and never verifies.
    /// assert!(matches!(set.refusal("k2"), Some(oidfed::jose::KeyError::EcCoordinateLength { .. })));
    /// assert!(KeySet::from_json(&json!({"keys": [
    ///     {"kty": "EC", "kid": "k1"}, {"kty": "RSA", "kid": "k1"}
    /// ]})).is_err());
    /// ```
    pub fn from_json(v: &Value) -> Result<KeySet, JoseError> {
        let keys = v
            .as_object()
            .ok_or_else(|| JoseError::Jwks("not an object".into()))?
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JoseError::Jwks("no keys array".into()))?;
        let mut set = KeySet::default();
        for (i, k) in keys.iter().enumerate() {
            if i >= MAX_KEYS_PER_SET {
                set.rejected.push((
                    i,
                    JoseError::Jwks(format!("more than {MAX_KEYS_PER_SET} keys: ignored")),
                ));
                break;
            }
            // A refused key still holds its kid: no other key may take it.
            let kid = match Key::from_json(k) {
                Ok(key) => {
                    let kid = key.kid.clone();
                    set.keys.push(Arc::new(key));
                    kid
                }
                Err(e) => {
                    let kid = match &e {
                        JoseError::InvalidKey { kid, .. } => Some(kid.clone()),
                        _ => None,
                    };
                    set.rejected.push((i, e));
                    match kid {
                        Some(kid) => kid,
                        None => continue,
                    }
                }
            };
            let holders =
                set.keys.iter().filter(|k| k.kid == kid).count() + set.refusal_count(&kid);
            if holders > 1 {
                return Err(JoseError::Jwks(format!("two keys share the kid {kid:?}")));
            }
        }
        Ok(set)
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// Keys that could not be read: (index in the set, reason). Following RFC 7517 §5 they
    /// are ignored, not fatal to the set.
    pub fn rejected(&self) -> &[(usize, JoseError)] {
        &self.rejected
    }

    /// Why the key with this `kid` was refused for its material, if it was: verifying with
    /// that `kid` fails with [`JoseError::InvalidKey`].
    pub fn refusal(&self, kid: &str) -> Option<&KeyError> {
        self.rejected.iter().find_map(|(_, e)| match e {
            JoseError::InvalidKey { kid: k, reason } if k == kid => Some(reason),
            _ => None,
        })
    }

    fn refusal_count(&self, kid: &str) -> usize {
        self.rejected
            .iter()
            .filter(|(_, e)| matches!(e, JoseError::InvalidKey { kid: k, .. } if k == kid))
            .count()
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key with exactly this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The set as JSON (usable keys only).
    pub fn to_json(&self) -> Value {
        Value::Object(Map::from_iter([(
            "keys".to_string(),
            Value::Array(self.keys.iter().map(|k| k.to_json()).collect()),
        )]))
    }

    /// Verifies `jws` (whose header was checked to give `alg` and `kid`) with the key of
    /// exactly that `kid`. `whose` names the key set's owner in errors.
    pub fn verify(
        &self,
        jws: &CompactJws,
        alg: Alg,
        kid: &str,
        whose: &str,
    ) -> Result<(), JoseError> {
        let key = self.get(kid).ok_or_else(|| match self.refusal(kid) {
            Some(reason) => JoseError::InvalidKey {
                kid: kid.to_string(),
                reason: reason.clone(),
            },
            None => JoseError::UnknownKid {
                kid: kid.to_string(),
                whose: whose.to_string(),
            },
        })?;
        let verifier = key.verifier(alg).map_err(|reason| JoseError::KeyMismatch {
            kid: kid.to_string(),
            alg,
            reason: reason.to_string(),
        })?;
        cost::count_signature();
        let valid = verifier.verify(jws.signing_input(), jws.signature());
        crate::metrics::signature_checked(alg.name(), valid);
        if valid {
            Ok(())
        } else {
            Err(JoseError::BadSignature {
                kid: kid.to_string(),
                whose: whose.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{ES256, HS256, JwsSigner};
    use serde_json::json;

    fn sign(header: &Value, payload: &Value, signer: &dyn JwsSigner) -> String {
        let h = b64url(header.to_string().as_bytes());
        let p = b64url(payload.to_string().as_bytes());
        let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
        format!("{h}.{p}.{}", b64url(&sig))
    }

    fn rules() -> HeaderRules<'static> {
        HeaderRules {
            typ: "entity-statement+jwt",
            lenient_typ: false,
            algs: &Alg::ALL,
        }
    }

    #[test]
    fn verifies_with_exact_kid_and_rejects_tampering() {
        let pair = ES256.generate_key_pair().unwrap();
        let mut pubjwk = pair.to_jwk_public_key();
        pubjwk.set_key_id("k1");
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        let set =
            KeySet::from_json(&json!({"keys":[Value::Object(pubjwk.as_ref().clone())]})).unwrap();
        let tok = sign(
            &json!({"alg":"ES256","kid":"k1","typ":"entity-statement+jwt"}),
            &json!({"iss":"x"}),
            &signer,
        );
        let jws = CompactJws::parse(&tok).unwrap();
        let (alg, kid) = check_header(&jws, &rules()).unwrap();
        set.verify(&jws, alg, kid, "test").unwrap();
        // A different kid finds nothing: there is no fallback to trying every key.
        assert!(matches!(
            set.verify(&jws, alg, "k2", "test"),
            Err(JoseError::UnknownKid { .. })
        ));
        // Tampered payload.
        let parts: Vec<&str> = tok.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64url(br#"{"iss":"y"}"#), parts[2]);
        let jws = CompactJws::parse(&forged).unwrap();
        assert!(matches!(
            set.verify(&jws, Alg::ES256, "k1", "test"),
            Err(JoseError::BadSignature { .. })
        ));
    }

    #[test]
    fn header_rules() {
        let mk = |h: Value| {
            CompactJws::parse(&format!("{}.e30.AA", b64url(h.to_string().as_bytes()))).unwrap()
        };
        let r = rules();
        assert!(matches!(
            check_header(&mk(json!({"alg":"ES256","kid":"k"})), &r),
            Err(JoseError::MissingTyp { .. })
        ));
        assert!(matches!(
            check_header(&mk(json!({"alg":"ES256","kid":"k","typ":"JWT"})), &r),
            Err(JoseError::WrongTyp { .. })
        ));
        assert!(matches!(
            check_header(
                &mk(json!({"alg":"ES256","kid":"k","typ":"trust-mark+jwt"})),
                &r
            ),
            Err(JoseError::WrongTyp { .. })
        ));
        assert_eq!(
            check_header(
                &mk(json!({"alg":"HS256","kid":"k","typ":"entity-statement+jwt"})),
                &r
            )
            .unwrap_err(),
            JoseError::AlgNotAllowed("HS256".into())
        );
        assert_eq!(
            check_header(&mk(json!({"alg":"ES256","typ":"entity-statement+jwt"})), &r).unwrap_err(),
            JoseError::MissingKid
        );
        assert_eq!(
            check_header(
                &mk(json!({"alg":"ES256","kid":"","typ":"entity-statement+jwt"})),
                &r
            )
            .unwrap_err(),
            JoseError::MissingKid
        );
        assert_eq!(
            check_header(
                &mk(
                    json!({"alg":"ES256","kid":"k","typ":"entity-statement+jwt","jku":"https://x"})
                ),
                &r
            )
            .unwrap_err(),
            JoseError::KeyInHeader("jku".into())
        );
        assert!(matches!(
            check_header(
                &mk(json!({"alg":"ES256","kid":"k","typ":"entity-statement+jwt","crit":["b64"]})),
                &r
            ),
            Err(JoseError::CritHeader(_))
        ));
        let only_es = HeaderRules {
            algs: &[Alg::ES256],
            ..rules()
        };
        assert!(
            check_header(
                &mk(json!({"alg":"RS256","kid":"k","typ":"entity-statement+jwt"})),
                &only_es
            )
            .is_err()
        );
        // Lenient typ: application/ prefix, any case.
        let lenient = HeaderRules {
            lenient_typ: true,
            ..rules()
        };
        let t = mk(json!({"alg":"ES256","kid":"k","typ":"Application/Entity-Statement+JWT"}));
        assert!(check_header(&t, &r).is_err());
        assert!(check_header(&t, &lenient).is_ok());
    }

    #[test]
    fn hmac_with_public_key_as_secret_cannot_verify() {
        // Algorithm confusion: HS256 keyed with the bytes of the public key.
        let pair = ES256.generate_key_pair().unwrap();
        let mut pubjwk = pair.to_jwk_public_key();
        pubjwk.set_key_id("k1");
        let pub_json = Value::Object(pubjwk.as_ref().clone());
        let hs = HS256
            .signer_from_bytes(pub_json.to_string().as_bytes())
            .unwrap();
        let tok = sign(
            &json!({"alg":"HS256","kid":"k1","typ":"entity-statement+jwt"}),
            &json!({}),
            &hs,
        );
        let jws = CompactJws::parse(&tok).unwrap();
        assert!(matches!(
            check_header(&jws, &rules()),
            Err(JoseError::AlgNotAllowed(_))
        ));
        // Even if a caller skipped the header check, an EC key cannot verify an RSA/HMAC alg.
        let set = KeySet::from_json(&json!({"keys":[pub_json]})).unwrap();
        assert!(set.verify(&jws, Alg::RS256, "k1", "t").is_err());
    }

    #[test]
    fn key_rules() {
        assert!(Key::from_json(&json!({"kty":"EC","kid":"a","d":"secret"})).is_err());
        assert!(Key::from_json(&json!({"kty":"oct","kid":"a","k":"c2VjcmV0"})).is_err());
        assert!(Key::from_json(&json!({"kid":"a"})).is_err());
        // A key declared for RS256 cannot verify PS256.
        let rsa = josekit::jwk::Jwk::generate_rsa_key(2048)
            .unwrap()
            .to_public_key()
            .unwrap();
        let mut m = rsa.as_ref().clone();
        m.insert("kid".into(), json!("r"));
        m.insert("alg".into(), json!("RS256"));
        let k = Key::from_json(&Value::Object(m)).unwrap();
        assert!(k.verifier(Alg::RS256).is_ok());
        assert!(k.verifier(Alg::PS256).is_err());
        assert!(k.verifier(Alg::ES256).is_err());
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1 example key.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn malformed_tokens() {
        assert_eq!(CompactJws::parse("a.b").unwrap_err(), JoseError::NotCompact);
        assert_eq!(
            CompactJws::parse("a.b.c.d").unwrap_err(),
            JoseError::NotCompact
        );
        assert!(matches!(
            CompactJws::parse("e30=.e30.AA").unwrap_err(),
            JoseError::Base64 { .. }
        ));
        assert!(matches!(
            CompactJws::parse("W10.e30.AA").unwrap_err(),
            JoseError::Header(_)
        ));
        let long = "a".repeat(DEFAULT_MAX_JWS_LEN + 1);
        assert!(matches!(
            CompactJws::parse(&long).unwrap_err(),
            JoseError::TooLong { .. }
        ));
    }

    /// Every algorithm of the allow-list verifies through the native verifiers, rejects a
    /// flipped bit and a signature by another key of the same type.
    #[test]
    fn native_verifiers_for_every_algorithm() {
        use josekit::jws;
        let pairs: Vec<(Alg, josekit::jwk::Jwk, josekit::jwk::Jwk)> = {
            let rsa = || josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
            let ec = |c| josekit::jwk::Jwk::generate_ec_key(c).unwrap();
            let ed = || {
                josekit::jwk::Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap()
            };
            use josekit::jwk::alg::ec::EcCurve::*;
            vec![
                (Alg::RS256, rsa(), rsa()),
                (Alg::RS384, rsa(), rsa()),
                (Alg::RS512, rsa(), rsa()),
                (Alg::PS256, rsa(), rsa()),
                (Alg::PS384, rsa(), rsa()),
                (Alg::PS512, rsa(), rsa()),
                (Alg::ES256, ec(P256), ec(P256)),
                (Alg::ES384, ec(P384), ec(P384)),
                (Alg::ES512, ec(P521), ec(P521)),
                (Alg::EdDSA, ed(), ed()),
            ]
        };
        for (alg, private, other) in pairs {
            let signer: Box<dyn JwsSigner> = match alg {
                Alg::RS256 => Box::new(jws::RS256.signer_from_jwk(&private).unwrap()),
                Alg::RS384 => Box::new(jws::RS384.signer_from_jwk(&private).unwrap()),
                Alg::RS512 => Box::new(jws::RS512.signer_from_jwk(&private).unwrap()),
                Alg::PS256 => Box::new(jws::PS256.signer_from_jwk(&private).unwrap()),
                Alg::PS384 => Box::new(jws::PS384.signer_from_jwk(&private).unwrap()),
                Alg::PS512 => Box::new(jws::PS512.signer_from_jwk(&private).unwrap()),
                Alg::ES256 => Box::new(jws::ES256.signer_from_jwk(&private).unwrap()),
                Alg::ES384 => Box::new(jws::ES384.signer_from_jwk(&private).unwrap()),
                Alg::ES512 => Box::new(jws::ES512.signer_from_jwk(&private).unwrap()),
                Alg::EdDSA => Box::new(jws::EdDSA.signer_from_jwk(&private).unwrap()),
            };
            let public = |k: &josekit::jwk::Jwk| {
                let mut m = k.to_public_key().unwrap().as_ref().clone();
                m.insert("kid".into(), json!("k"));
                Key::from_json(&Value::Object(m)).unwrap()
            };
            let msg = b"header.payload";
            let sig = signer.sign(msg).unwrap();
            let v = public(&private).verifier(alg).unwrap();
            assert!(v.verify(msg, &sig), "{alg}");
            let mut bad = sig.clone();
            bad[3] ^= 1;
            assert!(!v.verify(msg, &bad), "{alg} flipped bit");
            assert!(!v.verify(b"header.other", &sig), "{alg} other message");
            assert!(!v.verify(msg, &sig[..sig.len() - 1]), "{alg} truncated");
            assert!(
                !public(&other).verifier(alg).unwrap().verify(msg, &sig),
                "{alg} other key"
            );
        }
    }

    fn refused(v: Value) -> KeyError {
        match Key::from_json(&v) {
            Err(JoseError::InvalidKey { kid, reason }) => {
                assert_eq!(kid, "k");
                reason
            }
            other => panic!("{v}: {other:?}"),
        }
    }

    #[test]
    fn weak_or_malformed_keys_are_refused_when_read() {
        let small = josekit::jwk::Jwk::generate_rsa_key(1024).unwrap();
        let mut m = small.to_public_key().unwrap().as_ref().clone();
        m.insert("kid".into(), json!("k"));
        assert_eq!(
            refused(Value::Object(m.clone())),
            KeyError::RsaModulusSize { bits: 1024 }
        );
        // Even if a caller reached the verifier with such a JWK, none would be built.
        let err = Verifier::from_jwk(Alg::RS256, &m).unwrap_err();
        assert_eq!(
            err,
            VerifierError::Material(KeyError::RsaModulusSize { bits: 1024 })
        );
        // A point that is not on the curve.
        let bad = json!({"kty": "EC", "crv": "P-256", "kid": "k",
            "x": b64url(&[1u8; 32]), "y": b64url(&[2u8; 32])});
        assert_eq!(refused(bad.clone()), KeyError::EcPointNotOnCurve);
        assert!(Verifier::from_jwk(Alg::ES256, bad.as_object().unwrap()).is_err());
        // Wrong curve for the algorithm, encryption-only key.
        let ec = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P384).unwrap();
        let mut m = ec.to_public_key().unwrap().as_ref().clone();
        m.insert("kid".into(), json!("k"));
        assert!(
            Key::from_json(&Value::Object(m.clone()))
                .unwrap()
                .verifier(Alg::ES256)
                .is_err()
        );
        m.insert("use".into(), json!("enc"));
        assert!(
            Key::from_json(&Value::Object(m))
                .unwrap()
                .verifier(Alg::ES384)
                .is_err()
        );
        let short = json!({"kty": "EC", "crv": "P-256", "kid": "k",
            "x": b64url(&[1u8; 31]), "y": b64url(&[2u8; 32])});
        assert!(matches!(
            refused(short),
            KeyError::EcCoordinateLength { found: 31, .. }
        ));
        // Keys of curves this crate does not verify with are not judged (they never verify).
        let x25519 = json!({"kty": "OKP", "crv": "X25519", "kid": "k", "x": b64url(&[9u8; 32])});
        assert!(Key::from_json(&x25519).is_ok());
        // `oth` is private material of a multi-prime RSA key.
        assert!(matches!(
            Key::from_json(&json!({"kty": "RSA", "kid": "k", "oth": []})),
            Err(JoseError::Jwks(_))
        ));
    }

    /// e = 1 makes every PKCS#1 v1.5 encoded message its own signature: the key is refused
    /// when read, and verifying with its kid names the refusal.
    #[test]
    fn rsa_exponent_one_is_refused_and_named_on_use() {
        let n = openssl::rsa::Rsa::generate(2048).unwrap().n().to_vec();
        let weak = json!({"kty": "RSA", "kid": "k", "n": b64url(&n), "e": "AQ"});
        assert_eq!(refused(weak.clone()), KeyError::RsaExponentTooSmall);
        let set = KeySet::from_json(&json!({"keys": [weak]})).unwrap();
        assert!(set.is_empty());
        assert_eq!(set.refusal("k"), Some(&KeyError::RsaExponentTooSmall));
        let tok = format!(
            "{}.e30.AA",
            b64url(br#"{"alg":"RS256","kid":"k","typ":"entity-statement+jwt"}"#)
        );
        let jws = CompactJws::parse(&tok).unwrap();
        assert_eq!(
            set.verify(&jws, Alg::RS256, "k", "t").unwrap_err(),
            JoseError::InvalidKey {
                kid: "k".into(),
                reason: KeyError::RsaExponentTooSmall
            }
        );
        // A refused key still holds its kid: a second key with it makes the set invalid.
        let good = josekit::jwk::Jwk::generate_rsa_key(2048).unwrap();
        let mut g = good.to_public_key().unwrap().as_ref().clone();
        g.insert("kid".into(), json!("k"));
        let twice = json!({"keys": [
            {"kty": "RSA", "kid": "k", "n": b64url(&n), "e": "AQ"}, Value::Object(g)]});
        assert!(matches!(KeySet::from_json(&twice), Err(JoseError::Jwks(_))));
    }
}
