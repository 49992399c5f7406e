//! The registration request (RFC 7591 §3.1, RFC 7592 §2.2), its merge with the software
//! statement (RFC 7591 §2.3: statement values win) and the checks of the client metadata
//! (RFC 7591 §2, §2.1): redirect URIs, grant and response types, authentication method,
//! algorithms and key material.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::error::{DcrError, DcrRule};
use crate::jose::{Alg, KeySet};
use crate::json::parse_object;

/// Longest registration request body accepted by default, in bytes.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Metadata parameters whose value is a list of strings (RFC 7591 §2).
const STRING_LISTS: [&str; 5] = [
    "redirect_uris",
    "grant_types",
    "response_types",
    "contacts",
    "post_logout_redirect_uris",
];

/// Metadata parameters whose value is a string (RFC 7591 §2 and the algorithm parameters
/// of OpenID Connect Dynamic Client Registration §2).
const STRINGS: [&str; 13] = [
    "token_endpoint_auth_method",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "software_id",
    "software_version",
    "token_endpoint_auth_signing_alg",
    "request_object_signing_alg",
    "id_token_signed_response_alg",
];

/// Algorithm parameters checked against the allow-list.
const ALG_PARAMETERS: [&str; 6] = [
    "token_endpoint_auth_signing_alg",
    "request_object_signing_alg",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "authorization_signed_response_alg",
    "introspection_signed_response_alg",
];

/// Fields the server issues (RFC 7591 §3.2.1, RFC 7592 §3): never taken from a request.
pub(crate) const SERVER_FIELDS: [&str; 6] = [
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
    "client_id",
];

/// Claims of a software statement that are about the statement, not client metadata: the
/// registered JWT claims, and the directory's claims about organization and software.
pub(crate) fn is_statement_only_claim(name: &str) -> bool {
    matches!(name, "iss" | "sub" | "aud" | "exp" | "nbf" | "iat" | "jti")
        || name.starts_with("org_")
        || (name.starts_with("software_") && name != "software_id" && name != "software_version")
}

/// A registration request (RFC 7591 §3.1) or update request (RFC 7592 §2.2), parsed but
/// not yet judged.
///
/// ```
/// use oidfed::server::dcr::{DcrRule, RegistrationRequest};
/// let r = RegistrationRequest::parse(br#"{"client_name":"x","software_statement":"a.b.c"}"#, 1024)?;
/// assert_eq!(r.software_statement(), Some("a.b.c"));
/// assert!(!r.metadata().contains_key("software_statement"));
/// let bad = RegistrationRequest::parse(br#"{"redirect_uris":"https://x"}"#, 1024).unwrap_err();
/// assert_eq!(bad.rule(), Some(DcrRule::MetadataType));
/// # Ok::<(), oidfed::server::dcr::DcrError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationRequest {
    metadata: Map<String, Value>,
    software_statement: Option<String>,
}

impl RegistrationRequest {
    /// Parses a request body of at most `max_bytes`: a JSON object without duplicate
    /// members, whose known parameters have the types RFC 7591 §2 gives them. See the
    /// [`RegistrationRequest`] example.
    pub fn parse(body: &[u8], max_bytes: usize) -> Result<Self, DcrError> {
        if body.len() > max_bytes {
            return Err(DcrError::invalid_metadata(
                DcrRule::RequestMalformed,
                format!(
                    "the request body of {} bytes exceeds {max_bytes}",
                    body.len()
                ),
            ));
        }
        let mut metadata = parse_object(body).map_err(|e| {
            DcrError::invalid_metadata(DcrRule::RequestMalformed, format!("the body: {}", e.0))
        })?;
        let software_statement = match metadata.remove("software_statement") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                return Err(DcrError::invalid_statement(
                    DcrRule::StatementMalformed,
                    "software_statement is not a string",
                ));
            }
        };
        check_types(&metadata)?;
        Ok(Self {
            metadata,
            software_statement,
        })
    }

    /// The client metadata requested (everything but `software_statement`).; see the [`RegistrationRequest`] example.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// The software statement, when one was sent.; see the [`RegistrationRequest`] example.
    pub fn software_statement(&self) -> Option<&str> {
        self.software_statement.as_deref()
    }
}

/// Checks the JSON types of the metadata parameters RFC 7591 §2 defines.
pub(crate) fn check_types(m: &Map<String, Value>) -> Result<(), DcrError> {
    let wrong = |p: &str, what: &str| {
        DcrError::invalid_metadata(DcrRule::MetadataType, format!("{p} must be {what}"))
    };
    for p in STRING_LISTS {
        if let Some(v) = m.get(p) {
            let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
            if !ok {
                return Err(wrong(p, "an array of strings"));
            }
        }
    }
    for p in STRINGS {
        if m.get(p).is_some_and(|v| !v.is_string()) {
            return Err(wrong(p, "a string"));
        }
    }
    if m.get("jwks").is_some_and(|v| !v.is_object()) {
        return Err(wrong("jwks", "a JWK Set object"));
    }
    Ok(())
}

/// The request merged with the statement's claims (RFC 7591 §2.3): every claim of the
/// statement that is client metadata is taken as if it were in the request, and where both
/// have a parameter, the statement's value wins. Fields the server issues are dropped.
///
/// ```
/// use oidfed::server::dcr::merge_statement;
/// use serde_json::json;
/// let request = json!({"client_name": "asked", "contacts": ["a@x"]});
/// let statement = json!({"iss": "https://org.example", "client_name": "vouched", "software_id": "s1"});
/// let m = merge_statement(request.as_object().unwrap(), statement.as_object().unwrap());
/// assert_eq!(m["client_name"], "vouched");
/// assert_eq!(m["contacts"], json!(["a@x"]));
/// assert_eq!(m["software_id"], "s1");
/// assert!(!m.contains_key("iss"));
/// ```
pub fn merge_statement(
    request: &Map<String, Value>,
    statement: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out: Map<String, Value> = request
        .iter()
        .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in statement {
        if !is_statement_only_claim(k) && !SERVER_FIELDS.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// What the server supports, and so what a registered client may ask for.
///
/// ```
/// use oidfed::server::dcr::{DcrRule, MetadataRules, check_metadata};
/// let rules = MetadataRules::default();
/// let mut m = serde_json::json!({"redirect_uris": ["https://app.example/cb"],
///     "jwks_uri": "https://app.example/jwks"}).as_object().unwrap().clone();
/// check_metadata(&mut m, &rules).unwrap();
/// assert_eq!(m["token_endpoint_auth_method"], rules.auth_methods[0].as_str()); // the default filled in
/// let mut implicit = serde_json::json!({"redirect_uris": ["https://app.example/cb"],
///     "grant_types": ["implicit"]}).as_object().unwrap().clone();
/// let e = check_metadata(&mut implicit, &rules).unwrap_err();
/// assert_eq!(e.rule(), Some(DcrRule::GrantTypes));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MetadataRules {
    /// Grant types the server supports (default `authorization_code`, `refresh_token`,
    /// `client_credentials`).
    pub grant_types: Vec<String>,
    /// Response types the server supports (default `code`).
    pub response_types: Vec<String>,
    /// Token endpoint authentication methods accepted (default `private_key_jwt`,
    /// `tls_client_auth`, `self_signed_tls_client_auth`: this endpoint issues no secrets).
    /// A request that names none gets the first.
    pub auth_methods: Vec<String>,
    /// Algorithms a client may name in its algorithm parameters.
    pub algs: Vec<Alg>,
    /// Accept `http://127.0.0.1…` and `http://[::1]…` redirect URIs (RFC 8252 §7.3).
    pub allow_loopback_http: bool,
}

impl Default for MetadataRules {
    fn default() -> Self {
        Self {
            grant_types: ["authorization_code", "refresh_token", "client_credentials"]
                .map(String::from)
                .to_vec(),
            response_types: vec!["code".into()],
            auth_methods: [
                "private_key_jwt",
                "tls_client_auth",
                "self_signed_tls_client_auth",
            ]
            .map(String::from)
            .to_vec(),
            algs: vec![Alg::ES256, Alg::PS256, Alg::EdDSA],
            allow_loopback_http: false,
        }
    }
}

fn strings<'a>(m: &'a Map<String, Value>, p: &str) -> Vec<&'a str> {
    m.get(p)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Checks merged metadata and fills the defaults of RFC 7591 §2 (`grant_types`
/// `["authorization_code"]`, `response_types` `["code"]`) and the server's default
/// authentication method.
///
/// ```
/// use oidfed::server::dcr::{DcrRule, MetadataRules, check_metadata};
/// let jwks_uri = "https://app.example/jwks";
/// let mut m = serde_json::json!({"redirect_uris": ["http://app.example/cb"], "jwks_uri": jwks_uri})
///     .as_object().unwrap().clone();
/// let e = check_metadata(&mut m, &MetadataRules::default()).unwrap_err();
/// assert_eq!(e.rule(), Some(DcrRule::RedirectUri)); // a plain-http redirect URI is refused
/// let mut ok = serde_json::json!({"redirect_uris": ["https://app.example/cb"], "jwks_uri": jwks_uri})
///     .as_object().unwrap().clone();
/// check_metadata(&mut ok, &MetadataRules::default()).unwrap();
/// assert_eq!(ok["grant_types"], serde_json::json!(["authorization_code"]));
/// ```
pub fn check_metadata(m: &mut Map<String, Value>, rules: &MetadataRules) -> Result<(), DcrError> {
    check_types(m)?;
    m.entry("grant_types")
        .or_insert_with(|| Value::from(vec!["authorization_code"]));
    m.entry("response_types")
        .or_insert_with(|| Value::from(vec!["code"]));
    let grants = strings(m, "grant_types");
    let responses = strings(m, "response_types");
    for g in &grants {
        if !rules.grant_types.iter().any(|s| s == g) {
            return Err(DcrError::invalid_metadata(
                DcrRule::GrantTypes,
                format!("grant type {g:?} is not supported"),
            ));
        }
    }
    for r in &responses {
        if !rules.response_types.iter().any(|s| s == r) {
            return Err(DcrError::invalid_metadata(
                DcrRule::GrantTypes,
                format!("response type {r:?} is not supported"),
            ));
        }
    }
    // RFC 7591 §2.1: authorization_code goes with the code response type, and back.
    let code_grant = grants.contains(&"authorization_code");
    let code_response = responses.iter().any(|r| r.split(' ').any(|w| w == "code"));
    if code_grant != code_response {
        return Err(DcrError::invalid_metadata(
            DcrRule::GrantTypes,
            "grant_types and response_types are inconsistent (RFC 7591 §2.1: authorization_code ⇔ code)",
        ));
    }
    let redirects = strings(m, "redirect_uris");
    if code_grant && redirects.is_empty() {
        return Err(DcrError::invalid_redirect(
            DcrRule::RedirectUri,
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    for uri in &redirects {
        check_redirect_uri(uri, rules.allow_loopback_http)?;
    }
    let method = match m.get("token_endpoint_auth_method").and_then(Value::as_str) {
        Some(method) => method.to_string(),
        None => rules.auth_methods.first().cloned().ok_or_else(|| {
            DcrError::invalid_metadata(
                DcrRule::AuthMethod,
                "no authentication method is configured",
            )
        })?,
    };
    if !rules.auth_methods.contains(&method) {
        return Err(DcrError::invalid_metadata(
            DcrRule::AuthMethod,
            format!("token_endpoint_auth_method {method:?} is not supported"),
        ));
    }
    m.insert(
        "token_endpoint_auth_method".into(),
        Value::from(method.as_str()),
    );
    for p in ALG_PARAMETERS {
        if let Some(v) = m.get(p) {
            let ok = v
                .as_str()
                .and_then(Alg::from_name)
                .is_some_and(|a| rules.algs.contains(&a));
            if !ok {
                return Err(DcrError::invalid_metadata(
                    DcrRule::SigningAlg,
                    format!("{p} {v} is not an accepted algorithm"),
                ));
            }
        }
    }
    check_keys(m, method == "private_key_jwt")
}

fn check_redirect_uri(uri: &str, allow_loopback_http: bool) -> Result<(), DcrError> {
    let bad =
        |why: &str| DcrError::invalid_redirect(DcrRule::RedirectUri, format!("{uri:?}: {why}"));
    let url = url::Url::parse(uri).map_err(|_| bad("not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(bad("a redirect URI must not have a fragment"));
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1") | Some("[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_loopback_http && loopback => Ok(()),
        _ => Err(bad("only https redirect URIs are accepted")),
    }
}

/// RFC 7591 §2: `jwks` and `jwks_uri` never both; inline keys are public JWKs that parse;
/// `jwks_uri` is `https`; `private_key_jwt` needs one of them.
fn check_keys(m: &Map<String, Value>, needs_keys: bool) -> Result<(), DcrError> {
    let bad = |why: String| DcrError::invalid_metadata(DcrRule::KeyMaterial, why);
    match (m.get("jwks"), m.get("jwks_uri")) {
        (Some(_), Some(_)) => Err(bad(
            "jwks and jwks_uri must not both be present (RFC 7591 §2)".into(),
        )),
        (Some(jwks), None) => {
            let set = KeySet::from_json(jwks).map_err(|e| bad(format!("jwks: {e}")))?;
            if let Some((i, why)) = set.rejected().first() {
                return Err(bad(format!("jwks key {i}: {why}")));
            }
            if set.is_empty() {
                return Err(bad("jwks holds no key".into()));
            }
            Ok(())
        }
        (None, Some(uri)) => {
            let ok = uri
                .as_str()
                .and_then(|u| url::Url::parse(u).ok())
                .is_some_and(|u| u.scheme() == "https");
            if ok {
                Ok(())
            } else {
                Err(bad(format!("jwks_uri {uri} is not an https URL")))
            }
        }
        (None, None) if needs_keys => Err(bad("private_key_jwt needs jwks or jwks_uri".into())),
        (None, None) => Ok(()),
    }
}

/// Redirect URIs must be among the statement's `software_redirect_uris`, when it has them
/// (the directory's list of the software's registered URIs).
pub(crate) fn check_software_redirects(
    m: &Map<String, Value>,
    statement: &Map<String, Value>,
) -> Result<(), DcrError> {
    let Some(allowed) = statement.get("software_redirect_uris") else {
        return Ok(());
    };
    let allowed: BTreeSet<&str> = allowed
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .ok_or_else(|| {
            DcrError::invalid_statement(
                DcrRule::StatementMalformed,
                "software_redirect_uris is not an array of strings",
            )
        })?;
    for uri in strings(m, "redirect_uris") {
        if !allowed.contains(uri) {
            return Err(DcrError::invalid_redirect(
                DcrRule::SoftwareRedirectUris,
                format!("{uri:?} is not among the statement's software_redirect_uris"),
            ));
        }
    }
    Ok(())
}

/// Strict policy: the policy may add to what the client asked for, never take away or
/// replace. Returns the first parameter the policy changed, with the two values.
pub(crate) fn policy_changed(
    requested: &Map<String, Value>,
    applied: &Map<String, Value>,
) -> Option<(String, Value, Value)> {
    for (p, asked) in requested {
        let got = applied.get(p).cloned().unwrap_or(Value::Null);
        let kept = match (asked, &got) {
            (Value::Array(a), Value::Array(g)) => a.iter().all(|x| g.contains(x)),
            (Value::String(a), Value::String(g)) if p == "scope" => {
                let words: BTreeSet<&str> = g.split(' ').collect();
                a.split(' ')
                    .filter(|w| !w.is_empty())
                    .all(|w| words.contains(w))
            }
            (a, g) => a == g,
        };
        if !kept {
            return Some((p.clone(), asked.clone(), got));
        }
    }
    None
}
