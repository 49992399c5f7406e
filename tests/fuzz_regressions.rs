//! Inputs found by the cargo-fuzz targets in `fuzz/` (see fuzz/README.md), replayed through
//! the same public API. Each must come back as `Ok` or `Err`, never as a panic.
//!
//! BUG-1 (a lenient `typ` check sliced a hostile `typ` inside a multi-byte character and
//! panicked) was found by the `jws` target and fixed in `jose::typ_matches`; these tests keep
//! it fixed.

use oidfed::fetch::MemoryFetcher;
use oidfed::jose::{Alg, CompactJws, HeaderRules, b64url, check_header};
use oidfed::statement::{EntityStatement, StatementRules};
use oidfed::testing::{KeyAlg, TestKey};
use oidfed::{EntityType, FixedClock, Resolver};

/// BUG-1, as minimized by `cargo fuzz tmin jws` (50 bytes). The header is
/// `{"alg":"S@G","typ":"entity-suaEѴ("}`: a `typ` longer than 12 bytes whose byte 12 falls
/// inside a two-byte character (`Ѵ`, bytes 11..13).
const BUG1_MINIMIZED: &str = "eyJhbGciOiJTQEciLCJ0eXAiOiJlbnRpdHktc3VhRdG0KCJ9..";

/// BUG-1 as a readable statement: `typ` is 11 ASCII bytes then `é` (bytes 11..13), with an
/// object payload so that `EntityStatement::parse` reaches the header check.
fn bug1_statement() -> String {
    let header = r#"{"alg":"ES256","kid":"k1","typ":"abcdefghijké"}"#;
    format!("{}.{}.", b64url(header.as_bytes()), b64url(b"{}"))
}

fn rules(lenient_typ: bool) -> HeaderRules<'static> {
    HeaderRules {
        typ: "entity-statement+jwt",
        lenient_typ,
        algs: &Alg::ALL,
    }
}

#[test]
fn bug1_input_is_refused_by_the_strict_typ_check() {
    let jws = CompactJws::parse(BUG1_MINIMIZED).expect("the token itself is well-formed");
    assert!(check_header(&jws, &rules(false)).is_err());
    assert!(EntityStatement::parse(&bug1_statement(), &StatementRules::default()).is_err());
}

#[test]
fn bug1_lenient_typ_check_header_does_not_panic() {
    let jws = CompactJws::parse(BUG1_MINIMIZED).expect("the token itself is well-formed");
    assert!(check_header(&jws, &rules(true)).is_err());
}

#[test]
fn bug1_lenient_statement_parse_does_not_panic() {
    let lenient = StatementRules {
        lenient_typ: true,
        ..StatementRules::default()
    };
    assert!(EntityStatement::parse(&bug1_statement(), &lenient).is_err());
}

#[tokio::test]
async fn bug1_lenient_resolver_validate_chain_does_not_panic() {
    let anchor = TestKey::generate(KeyAlg::ES256);
    let resolver = Resolver::builder()
        .trust_anchor("https://ta.example", &anchor.public_jwks())
        .fetcher(MemoryFetcher::new())
        .clock(FixedClock::new(1_700_000_000))
        .lenient_typ(true)
        .build()
        .expect("resolver");
    let chain = vec![bug1_statement()];
    assert!(
        resolver
            .validate_chain(&chain, &EntityType::OPENID_RELYING_PARTY)
            .await
            .is_err()
    );
}

/// BUG-2, found by the `json` target: a 47-digit number parsed to an `f64` one ulp away from
/// the value its own serialisation parses back to, so a stored `ClientRecord` whose metadata
/// held such a number did not round-trip and re-resolution would report a change that never
/// happened. Fixed by serde_json's `float_roundtrip` (correctly rounded parsing).
#[test]
fn bug2_numbers_round_trip_through_their_serialisation() {
    let input = "8".repeat(47);
    let v = oidfed::fuzzing::parse_strict(input.as_bytes()).expect("a number is JSON");
    let text = serde_json::to_vec(&v).expect("serialise");
    assert_eq!(oidfed::fuzzing::parse_strict(&text).expect("reparse"), v);
    for n in [
        "1e308",
        "2.2250738585072014e-308",
        "0.1",
        "123456789012345678901234567890",
    ] {
        let v = oidfed::fuzzing::parse_strict(n.as_bytes()).expect("number");
        let again =
            oidfed::fuzzing::parse_strict(&serde_json::to_vec(&v).expect("ser")).expect("re");
        assert_eq!(again, v, "{n}");
    }
}
