//! Compact JWS serialization: split and decode, nothing verified yet (RFC 7515 §7.1).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::{DEFAULT_MAX_JWS_LEN, JoseError};
use crate::json::parse_strict;

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
    ///
    /// ```
    /// use oidfed::jose::{CompactJws, b64url};
    /// use oidfed::signer::{JwkSigner, Signer, sign_jwt};
    /// let signer = JwkSigner::generate_es256("k1").unwrap();
    /// let jwt = sign_jwt(&signer, "JWT", &serde_json::json!({"iss": "x"}), None).unwrap();
    /// let jws = CompactJws::parse(&jwt).unwrap();
    /// assert_eq!((jws.kid(), &*jws.raw().to_string()), (Some("k1"), jwt.as_str()));
    /// assert_eq!(jws.header()["typ"], "JWT");
    /// assert_eq!(jws.payload(), br#"{"iss":"x"}"#);
    /// let (input, sig) = jwt.rsplit_once('.').unwrap();
    /// assert_eq!((jws.signing_input(), b64url(jws.signature()).as_str()), (input.as_bytes(), sig));
    /// ```
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        Self::parse_with_limit(token, DEFAULT_MAX_JWS_LEN)
    }

    /// Splits and decodes a token of at most `limit` bytes.
    ///
    /// ```
    /// use oidfed::jose::{CompactJws, JoseError};
    /// let jwt = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA";
    /// assert!(CompactJws::parse_with_limit(jwt, 64).is_ok());
    /// assert!(matches!(CompactJws::parse_with_limit(jwt, 8), Err(JoseError::TooLong { .. })));
    /// ```
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
    ///
    /// See the [`CompactJws::parse`] example.
    pub fn raw(&self) -> &Arc<str> {
        &self.raw
    }

    /// The JOSE header.
    ///
    /// See the [`CompactJws::parse`] example.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The decoded payload bytes (not yet trusted).
    ///
    /// See the [`CompactJws::parse`] example.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The `kid` header, if it is a string.
    ///
    /// See the [`CompactJws::parse`] example.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The bytes the signature covers: `base64url(header) "." base64url(payload)`.
    ///
    /// See the [`CompactJws::parse`] example.
    pub fn signing_input(&self) -> &[u8] {
        self.raw
            .as_bytes()
            .get(..self.signing_input_len)
            .unwrap_or_default()
    }

    /// The decoded signature.
    ///
    /// See the [`CompactJws::parse`] example.
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
///
/// ```
/// assert_eq!(oidfed::jose::b64url(b"\xfb\xff"), "-_8");
/// ```
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
