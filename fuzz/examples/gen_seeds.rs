//! Writes the seed corpora: `cargo run --example gen_seeds` (from `fuzz/`). Signed seeds use
//! the harness's fixed keys, so they verify inside the fuzz targets.

use std::fs;
use std::path::Path;

use oidfed_fuzz::{sign_line, sign_lines};

const IAT: &str = "1700000000";
const EXP: &str = "1700086400";

fn t(s: &str) -> String {
    s.replace("IAT", IAT).replace("EXP", EXP)
}

fn ta_ec() -> String {
    t(
        r#"{"iss":"https://ta.example","sub":"https://ta.example","iat":IAT,"exp":EXP,"jwks":$JWKS,"metadata":{"federation_entity":{"federation_fetch_endpoint":"https://ta.example/fetch","federation_trust_mark_status_endpoint":"https://ta.example/status","organization_name":"Fuzz Federation"}},"trust_mark_issuers":{"https://ta.example/tm/certified":["https://ta.example"]}}"#,
    )
}
fn int_ec() -> String {
    t(
        r#"{"iss":"https://int.example","sub":"https://int.example","iat":IAT,"exp":EXP,"jwks":$JWKS,"authority_hints":["https://ta.example"],"metadata":{"federation_entity":{"federation_fetch_endpoint":"https://int.example/fetch","organization_name":"Example Org"}}}"#,
    )
}
fn ta_int() -> String {
    t(
        r#"{"iss":"https://ta.example","sub":"https://int.example","iat":IAT,"exp":EXP,"jwks":$JWKS,"metadata_policy":{"openid_relying_party":{"grant_types":{"default":["authorization_code"],"subset_of":["authorization_code","refresh_token"],"superset_of":["authorization_code"]},"token_endpoint_auth_method":{"one_of":["private_key_jwt","self_signed_tls_client_auth"],"essential":true},"scope":{"subset_of":["openid","email","profile"]},"contacts":{"add":["helpdesk@ta.example"]},"redirect_uris":{"regexp":"^https://[a-z.]+\\.example/"}}},"metadata_policy_crit":["regexp"],"constraints":{"max_path_length":1,"naming_constraints":{"permitted":[".example"],"excluded":["bad.example"]},"allowed_entity_types":["openid_relying_party","openid_provider"]}}"#,
    )
}
fn int_rp() -> String {
    t(
        r#"{"iss":"https://int.example","sub":"https://rp.example","iat":IAT,"exp":EXP,"jwks":$JWKS,"metadata_policy":{"openid_relying_party":{"contacts":{"add":["ops@int.example"]},"organization_name":{"value":"Example Org"},"id_token_signed_response_alg":{"one_of":["ES256","PS256"],"default":"ES256"}}},"metadata":{"openid_relying_party":{"client_registration_types":["automatic"]}}}"#,
    )
}
fn rp_ec() -> String {
    t(
        r#"{"iss":"https://rp.example","sub":"https://rp.example","iat":IAT,"exp":EXP,"jwks":$JWKS,"authority_hints":["https://int.example"],"metadata":{"openid_relying_party":{"client_name":"RP","redirect_uris":["https://rp.example/cb"],"grant_types":["authorization_code","implicit"],"response_types":["code"],"token_endpoint_auth_method":"private_key_jwt","scope":"openid email","jwks":$JWKS2},"federation_entity":{"organization_name":"RP Inc"}},"trust_marks":[{"trust_mark_type":"https://ta.example/tm/certified","trust_mark":"$S0"}]}"#,
    )
}
fn mark() -> String {
    t(
        r#"#{"iss":"https://ta.example","sub":"https://rp.example","trust_mark_type":"https://ta.example/tm/certified","iat":IAT,"exp":EXP}"#,
    )
}
fn op_ec() -> String {
    // Signed with key 2, directly under the second anchor.
    t(
        r#"~{"iss":"https://op.example","sub":"https://op.example","iat":IAT,"exp":EXP,"jwks":$JWKS2,"authority_hints":["https://ta2.example"],"metadata":{"openid_provider":{"issuer":"https://op.example","signed_jwks_uri":"https://op.example/jwks.jwt","jwks_uri":"https://op.example/jwks.json"}}}"#,
    )
}
fn ta2_op() -> String {
    t(
        r#"~{"iss":"https://ta2.example","sub":"https://op.example","iat":IAT,"exp":EXP,"jwks":$JWKS2,"metadata":{"openid_provider":{"organization_name":"OP Org"}}}"#,
    )
}
fn ta2_ec() -> String {
    t(
        r#"~{"iss":"https://ta2.example","sub":"https://ta2.example","iat":IAT,"exp":EXP,"jwks":$JWKS2,"metadata":{"federation_entity":{"federation_fetch_endpoint":"https://ta2.example/fetch?x=1"}}}"#,
    )
}
fn jwks_blob() -> String {
    let keys = &oidfed_fuzz::keys()[1].jwks["keys"];
    t(&format!(
        r#"#~{{"alg":"EdDSA","kid":"$KID2","typ":"jwk-set+jwt"}}	{{"keys":{keys},"iss":"https://op.example","sub":"https://op.example","iat":IAT}}"#
    ))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");

    // chain: [mode][entity type][lines]. Entity type byte % 5: 0 RP, 1 OP, 2 fed, 3 client,
    // 4 AS. '0' = 48 → 3, so use explicit bytes.
    let rp_chain = [mark(), rp_ec(), int_rp(), ta_int(), ta_ec()];
    let op_chain = [op_ec(), ta2_op(), ta2_ec()];
    let mut seeds: Vec<(String, u8, u8, Vec<String>)> = vec![
        ("rp_full".into(), 1, 0, rp_chain.to_vec()),
        ("rp_no_anchor_ec".into(), 1, 0, rp_chain[..4].to_vec()),
        ("op_ta2".into(), 1, 1, op_chain.to_vec()),
        (
            "fed_entity_int".into(),
            1,
            2,
            vec![int_ec(), ta_int(), ta_ec()],
        ),
        ("anchor_only".into(), 1, 2, vec![ta_ec()]),
        ("rp_walk".into(), 2, 0, {
            let mut v = rp_chain.to_vec();
            v.insert(4, int_ec());
            v
        }),
        ("op_walk".into(), 2, 1, {
            let mut v = op_chain.to_vec();
            v.push(jwks_blob());
            v.push("%https://op.example/jwks.jwt\t$S0".into());
            v.push(format!("%https://op.example/jwks.json\t{}", "$JWKS2"));
            v
        }),
    ];
    // Raw (mode 0) versions of the signed chains.
    let mut raw = Vec::new();
    for (name, mode, et, lines) in &seeds {
        if *mode == 1 {
            let bytes: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
            let (tokens, _) = sign_lines(&bytes);
            raw.push((format!("raw_{name}"), 0u8, *et, tokens));
        }
    }
    seeds.extend(raw);
    for (name, mode, et, lines) in &seeds {
        let mut bytes = vec![*mode, *et];
        bytes.extend_from_slice(lines.join("\n").as_bytes());
        write(&root.join("chain"), name, &bytes);
    }

    // statement: templated lines and signed tokens.
    let stmts = [ta_ec(), int_ec(), ta_int(), int_rp(), op_ec(), ta2_op()];
    for (i, s) in stmts.iter().enumerate() {
        write(&root.join("statement"), &format!("line_{i}"), s.as_bytes());
        let tok = sign_line(s.as_bytes(), "entity-statement+jwt", &[]);
        write(
            &root.join("statement"),
            &format!("token_{i}"),
            tok.as_bytes(),
        );
        write(&root.join("jws"), &format!("statement_{i}"), tok.as_bytes());
    }
    // rp_ec carries a trust mark.
    let (m, r) = (mark(), rp_ec());
    let (tokens, _) = sign_lines(&[m.as_bytes(), r.as_bytes()]);
    write(
        &root.join("statement"),
        "token_rp_with_mark",
        tokens[0].as_bytes(),
    );
    write(&root.join("jws"), "rp_with_mark", tokens[0].as_bytes());

    // jws: a token whose payload is a JWK Set (verifier construction), odd headers.
    let [k1, k2] = oidfed_fuzz::keys();
    let jwks_tok = k1.sign_raw(k1.header("jwk-set+jwt").as_bytes(), k1.jwks_text.as_bytes());
    write(&root.join("jws"), "jwks_payload_k1", jwks_tok.as_bytes());
    let rsa = r#"{"keys":[{"kty":"RSA","kid":"r1","alg":"RS256","e":"AQAB","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"},{"kty":"OKP","crv":"Ed25519","kid":"e1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"}]}"#;
    let rsa_tok = k2.sign_raw(
        br#"{"alg":"RS256","kid":"r1","typ":"jwk-set+jwt"}"#,
        rsa.as_bytes(),
    );
    write(&root.join("jws"), "jwks_payload_rsa", rsa_tok.as_bytes());
    write(
        &root.join("jws"),
        "alg_none",
        b"eyJhbGciOiJub25lIiwidHlwIjoiZW50aXR5LXN0YXRlbWVudCtqd3QifQ.e30.",
    );
    write(&root.join("jws"), "jwe", b"a.b.c.d.e");

    // software_statement: an organization-signed and a directory-issued statement (lines
    // signed with key 1), each followed by a request body; registration_request: bodies.
    let request = r#"{"redirect_uris":["https://app.example/cb"],"client_name":"Asked","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"private_key_jwt","jwks":$JWKS2,"software_id":"mine","scope":"openid accounts"}"#;
    let statements = [
        t(r#"{"iss":"https://int.example","iat":IAT,"exp":EXP,"jti":"j1","software_id":"sw-1","client_name":"Vouched","redirect_uris":["https://app.example/cb"]}"#),
        t(r#"{"iss":"https://ta.example","iat":IAT,"exp":EXP,"jti":"j2","software_id":"sw-2","org_id":"acme","org_status":"Active","software_redirect_uris":["https://app.example/cb"],"software_roles":["AISP"]}"#),
        t(r#"{"iss":"https://ta.example","iat":IAT,"jti":"j3","org_id":"acme","org_status":"Withdrawn"}"#),
    ];
    for (i, st) in statements.iter().enumerate() {
        let body = format!("{st}\n{}", String::from_utf8_lossy(&oidfed_fuzz::expand(request.as_bytes(), &[])));
        write(&root.join("software_statement"), &format!("line_{i}"), body.as_bytes());
        let tok = sign_line(st.as_bytes(), "JWT", &[]);
        write(&root.join("software_statement"), &format!("token_{i}"), tok.as_bytes());
    }
    for (i, body) in [
        oidfed_fuzz::expand(request.as_bytes(), &[]),
        br#"{"redirect_uris":["https://a.example/cb#f"],"jwks":{"keys":[]},"jwks_uri":"https://a.example/j"}"#.to_vec(),
        br#"{"grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"tls_client_auth","software_statement":"a.b.c"}"#.to_vec(),
        br#"{"client_id":"x","registration_access_token":"t","contacts":"no"}"#.to_vec(),
    ]
    .iter()
    .enumerate()
    {
        write(&root.join("registration_request"), &format!("seed_{i}"), body);
    }

    // json
    for (i, s) in [
        r#"{"a":{"b":[1,2.5,-3e10,true,null,"x\u00e9"]}}"#,
        r#"{"a":1,"a":2}"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        r#"{"p":{"one_of":[1],"one_of":[2]}}"#,
        "1.7976931348623157e309",
    ]
    .iter()
    .enumerate()
    {
        write(&root.join("json"), &format!("seed_{i}"), s.as_bytes());
    }

    // policy: superior \n subordinate \n metadata \n metadata_policy_crit
    let policies = [
        (
            r#"{"openid_relying_party":{"grant_types":{"default":["authorization_code"],"subset_of":["authorization_code","refresh_token"],"superset_of":["authorization_code"]},"token_endpoint_auth_method":{"one_of":["private_key_jwt","self_signed_tls_client_auth"],"essential":true},"token_endpoint_auth_signing_alg":{"one_of":["PS256","ES256"]},"id_token_signed_response_alg":{"one_of":["PS256","ES256","RS256"]},"subject_type":{"value":"pairwise"},"response_types":{"subset_of":["code"]},"contacts":{"add":["helpdesk@federation.example.org"]}}}"#,
            r#"{"openid_relying_party":{"grant_types":{"subset_of":["authorization_code","refresh_token"]},"id_token_signed_response_alg":{"one_of":["PS256","ES256"]},"scope":{"subset_of":["openid","email","profile","offline_access"]},"contacts":{"add":["ops@intermediate.example"]}}}"#,
            r#"{"openid_relying_party":{"client_name":"Example Research Portal","application_type":"web","redirect_uris":["https://rp.example.edu/callback"],"response_types":["code"],"grant_types":["authorization_code","refresh_token"],"scope":"openid email profile","token_endpoint_auth_method":"self_signed_tls_client_auth","id_token_signed_response_alg":"ES256","contacts":["rp_admins@rp.example.edu"]}}"#,
            r#"["regexp"]"#,
        ),
        // Spec §6.1.4.1-like example: scope and value/default/essential.
        (
            r#"{"openid_relying_party":{"scope":{"subset_of":["openid","eduperson","phone"],"superset_of":["openid"],"default":"openid eduperson"},"id_token_signed_response_alg":{"one_of":["ES256","ES384"],"default":"ES256"},"token_endpoint_auth_method":{"one_of":["private_key_jwt","self_signed_tls_client_auth"]},"contacts":{"add":["helpdesk@federation.example.org"]},"application_type":{"value":"web"}}}"#,
            r#"{"openid_relying_party":{"scope":{"subset_of":["openid","eduperson","address"],"default":"openid eduperson"},"id_token_signed_response_alg":{"one_of":["ES256","ES512"],"essential":true},"contacts":{"add":["helpdesk@org.example.org"]}}}"#,
            r#"{"openid_relying_party":{"application_type":"web","scope":"openid eduperson phone","contacts":["rp@example.org"],"token_endpoint_auth_method":"private_key_jwt"}}"#,
            "",
        ),
        (
            r#"{"openid_provider":{"organization_name":{"value":null},"redirect_uris":{"regexp":["^https://","\\.example/"]},"grant_types":{"superset_of":["authorization_code"],"essential":false}},"federation_entity":{"contacts":{"value":["a@x"]}}}"#,
            r#"{"openid_provider":{"redirect_uris":{"regexp":"^https://op\\."},"grant_types":{"add":["implicit"]}},"oauth_client":{"scope":{"add":"a b c"}}}"#,
            r#"{"openid_provider":{"redirect_uris":["https://op.example/cb"],"grant_types":["authorization_code"]},"federation_entity":{"contacts":["b@x"]},"oauth_client":{"scope":"a d"}}"#,
            r#"["regexp"]"#,
        ),
        (
            r#"{"openid_relying_party":{"grant_types":{"one_of":["a"],"one_of":["b"]}}}"#,
            r#"{"openid_relying_party":{"contacts":{"add":["a@x"],"one_of":["b@x"]}}}"#,
            r#"{}"#,
            r#"["value"]"#,
        ),
    ];
    for (i, (a, b, c, d)) in policies.iter().enumerate() {
        let text = format!("{a}\n{b}\n{c}\n{d}");
        write(&root.join("policy"), &format!("seed_{i}"), text.as_bytes());
    }
    // historical: retired keys (one revoked), as lines and as signed tokens.
    let mut retired = k1.jwks["keys"][0].clone();
    retired["iat"] = serde_json::json!(1_690_000_000);
    retired["exp"] = serde_json::json!(1_700_000_000);
    let mut revoked = k2.jwks["keys"][0].clone();
    revoked["exp"] = serde_json::json!(1_710_000_000);
    revoked["nbf"] = serde_json::json!(1_695_000_000);
    revoked["revoked"] = serde_json::json!({"revoked_at": 1_699_000_000, "reason": "compromised"});
    let lines = [
        serde_json::json!({"iss": "https://ta.example", "iat": 1_700_000_000, "keys": [retired, revoked]}),
        serde_json::json!({"iss": "https://ta.example", "iat": 1_700_000_000, "keys": []}),
    ];
    for (i, l) in lines.iter().enumerate() {
        let text = l.to_string();
        write(
            &root.join("historical"),
            &format!("line_{i}"),
            text.as_bytes(),
        );
        let tok = sign_line(text.as_bytes(), "jwk-set+jwt", &[]);
        write(
            &root.join("historical"),
            &format!("token_{i}"),
            tok.as_bytes(),
        );
    }
    eprintln!("seeds written under {}", root.display());
}
