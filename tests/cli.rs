//! The `oidfed` command, run as a built binary against the demo federation served on
//! loopback (in-process, or by `oidfed demo` as a child): every subcommand, the `--json`
//! documents field by field, the exit codes, and a staging run through the allow flags.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use oidfed::testing::{Federation, LoopbackServer, demo};
use serde_json::{Value, json};

const NET: [&str; 3] = ["--allow-http", "--allow-network", "127.0.0.0/8"];

async fn oidfed(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_oidfed"))
        .args(args)
        .output()
        .await
        .expect("the oidfed binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// A fresh file path in the temp dir.
fn temp(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("oidfed-cli-{}-{n}-{name}", std::process::id()))
}

fn write(name: &str, content: &str) -> String {
    let p = temp(name);
    std::fs::write(&p, content).expect("temp file");
    p.display().to_string()
}

struct Demo {
    fed: Federation,
    _server: LoopbackServer,
    ta_jwks: String,
}

impl Demo {
    async fn start() -> Self {
        let (fed, server) = demo::builder().serve().await.expect("loopback");
        let ta_jwks = write("ta.json", &fed.public_jwks("ta").to_string());
        Self {
            fed,
            _server: server,
            ta_jwks,
        }
    }

    fn id(&self, name: &str) -> String {
        self.fed.id(name).to_string()
    }

    /// `resolve <name> --trust-anchor ta --trust-anchor-jwks <jwks>` + NET + `extra`.
    async fn resolve(&self, name: &str, jwks: &str, extra: &[&str]) -> Output {
        let (id, ta) = (self.id(name), self.id("ta"));
        let mut args = vec![
            "resolve",
            &id,
            "--trust-anchor",
            &ta,
            "--trust-anchor-jwks",
            jwks,
        ];
        args.extend(NET);
        args.extend(extra);
        oidfed(&args).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_json_is_one_stable_document() {
    let d = Demo::start().await;
    let o = d.resolve("rp", &d.ta_jwks, &["--json"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    let (rp, org, ta) = (d.id("rp"), d.id("org"), d.id("ta"));
    assert_eq!(v["oidfed"], "resolve/1");
    assert_eq!(v["trusted"], true);
    assert_eq!(v["entity_id"], rp);
    assert_eq!(v["entity_type"], "openid_relying_party");
    assert_eq!(v["trust_anchor"], ta);
    assert_eq!(v["path"], json!([rp, org, ta]));
    let chain = v["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 4);
    assert_eq!(chain[0]["kind"], "entity_configuration");
    assert_eq!(chain[0]["kid"], d.fed.key("rp").kid());
    assert_eq!(chain[1]["issuer"], org);
    assert_eq!(chain[1]["subject"], rp);
    assert_eq!(chain[1]["kid"], d.fed.key("org").kid());
    assert_eq!(chain[2]["issuer"], ta);
    assert_eq!(chain[2]["subject"], org);
    assert!(
        chain[1]["expires_at_rfc3339"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(v["trust_chain"].as_array().unwrap().len(), 4);
    let organization = &v["organization"];
    assert_eq!(organization["entity_id"], org);
    assert_eq!(organization["name"], "Example Org");
    assert_eq!(organization["evidence"]["kind"], "superior_policy");
    assert_eq!(organization["evidence"]["by"], org);
    assert_eq!(organization["authority_path"], json!([org, ta]));
    let marks = &v["trust_marks"];
    assert_eq!(
        marks["valid"][0]["trust_mark_type"],
        format!("{}/tm/certified", d.fed.base())
    );
    assert_eq!(marks["valid"][0]["issuer"], ta);
    assert_eq!(marks["valid"][0]["validation"], "signature");
    assert_eq!(marks["rejected"], json!([]));
    // The anchor's policy removed `implicit` and added the helpdesk contact.
    assert_eq!(
        v["metadata"]["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(v["metadata"]["organization_name"], "Example Org");
    assert_eq!(v["keys"]["source"], "jwks");
    assert_eq!(v["keys"]["kids"].as_array().unwrap().len(), 1);
    assert_eq!(v["paths_tried"][0]["chosen"], true);
    assert_eq!(v["paths_tried"][0]["valid"], true);
    assert_eq!(v["deviations_tolerated"].as_array().unwrap().len(), 1);
    // Every opening of the guard is announced.
    let err = stderr(&o);
    assert!(err.contains("warning: --allow-http"), "{err}");
    assert!(
        err.contains("warning: --allow-network 127.0.0.0/8"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_prints_the_chain_as_a_tree() {
    let d = Demo::start().await;
    // Keys taken from the anchor's configuration URL (first use), with a warning.
    let url = d.fed.id("ta").well_known_url().to_string();
    let o = d.resolve("rp", &url, &[]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("✔ TRUSTED  {}", d.id("rp"))),
        "{out}"
    );
    let org_line = format!("└─ vouches for {}  until ", d.id("org"));
    let rp_line = format!("   └─ vouches for {}  until ", d.id("rp"));
    let (a, b) = (out.find(&org_line), out.find(&rp_line));
    assert!(a.is_some() && b.is_some() && a < b, "{out}");
    assert!(out.contains(&format!(
        "kid {:?} of {}",
        d.fed.key("ta").kid(),
        d.id("ta")
    )));
    assert!(
        out.contains(&format!("Example Org  {}", d.id("org"))),
        "{out}"
    );
    assert!(
        out.contains("evidence: asserted: a `value` policy"),
        "{out}"
    );
    assert!(out.contains("/tm/certified  issued by"), "{out}");
    assert!(out.contains("\"client_name\": \"Example Org partner app\""));
    assert!(stderr(&o).contains("on first use, not pinned"));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_trusted_exits_1_with_a_json_error_and_its_paths() {
    let d = Demo::start().await;
    // The anchor pinned with the wrong keys (the organization's).
    let wrong = write("wrong.json", &d.fed.public_jwks("org").to_string());
    let o = d.resolve("rp", &wrong, &["--json"]).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["trusted"], false);
    assert_eq!(v["kind"], "no_trust_chain");
    assert_eq!(v["spec_code"], "invalid_trust_chain");
    assert_eq!(v["transient"], false);
    assert_eq!(v["rule"], "Kid");
    assert_eq!(v["exit_code"], 1);
    let tried = v["paths_tried"].as_array().unwrap();
    assert_eq!(tried.len(), 1);
    assert_eq!(
        tried[0]["path"],
        json!([d.id("rp"), d.id("org"), d.id("ta")])
    );
    assert_eq!(tried[0]["valid"], false);
    assert_eq!(tried[0]["kind"], "statement");

    // The same failure as pictures: the failed hop red and labelled.
    let dot = d.resolve("rp", &wrong, &["--dot"]).await;
    assert_eq!(code(&dot), 1);
    let text = stdout(&dot);
    assert!(text.starts_with("digraph oidfed {"), "{text}");
    assert!(text.contains("n1 -> n2 [color=red, style=dashed, label=\"invalid_trust_chain · Kid"));
    let mermaid = d.resolve("rp", &wrong, &["--mermaid"]).await;
    assert_eq!(code(&mermaid), 1);
    assert!(stdout(&mermaid).contains("n1 -.->|\"✘ invalid_trust_chain · Kid"));
}

#[tokio::test(flavor = "multi_thread")]
async fn could_not_check_exits_3() {
    let d = Demo::start().await;
    d.fed.set_unavailable("org", 503);
    let o = d.resolve("rp", &d.ta_jwks, &["--json"]).await;
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let v = json_of(&o);
    assert_eq!(v["transient"], true);
    assert_eq!(v["spec_code"], "temporarily_unavailable");
    assert_eq!(v["paths_tried"][0]["transient"], true);
    assert_eq!(v["exit_code"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_usage_exits_2() {
    let d = Demo::start().await;
    assert_eq!(code(&oidfed(&["resolve", "--no-such-flag"]).await), 2);
    // Anchors and keys must come in pairs.
    let (rp, ta) = (d.id("rp"), d.id("ta"));
    let o = oidfed(&[
        "resolve",
        &rp,
        "--trust-anchor",
        &ta,
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &d.ta_jwks,
        "--allow-http",
        "--json",
    ])
    .await;
    assert_eq!(code(&o), 2);
    assert_eq!(json_of(&o)["kind"], "usage");
    // An http federation without --allow-http is refused before anything is fetched.
    let o = oidfed(&[
        "resolve",
        &rp,
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &d.ta_jwks,
    ])
    .await;
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("uses http"), "{}", stderr(&o));
    // --help documents the exit codes.
    let help = stdout(&oidfed(&["resolve", "--help"]).await);
    assert!(help.contains("3  could not check"), "{help}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_and_mermaid_draw_the_chosen_chain() {
    let d = Demo::start().await;
    let dot = stdout(&d.resolve("rp", &d.ta_jwks, &["--dot"]).await);
    assert_eq!(dot.matches("color=darkgreen").count(), 2, "{dot}");
    assert!(dot.contains(&format!("n2 [label=\"{}\", peripheries=2]", d.id("ta"))));
    let mermaid = stdout(&d.resolve("rp", &d.ta_jwks, &["--mermaid"]).await);
    assert!(mermaid.starts_with("graph BT\n"));
    assert_eq!(mermaid.matches("==>|chosen|").count(), 2, "{mermaid}");
    // The formats exclude each other.
    assert_eq!(
        code(&d.resolve("rp", &d.ta_jwks, &["--dot", "--json"]).await),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn statement_names_the_rules_a_statement_breaks() {
    let d = Demo::start().await;
    let url = d.fed.id("org").well_known_url().to_string();
    let mut args = vec!["statement", &url, "--json"];
    args.extend(NET);
    let o = oidfed(&args).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["kind"], "entity_configuration");
    assert_eq!(v["issuer"], d.id("org"));
    assert_eq!(v["valid"], true);
    assert_eq!(v["checks"].as_array().unwrap().len(), 3);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );

    // A subordinate statement, checked with its issuer's keys a year from now: expired.
    let ss = write("ss.jwt", &d.fed.subordinate_statement("ta", "org"));
    let later = (d.fed_now() + 365 * 86_400).to_string();
    let mut args = vec![
        "statement",
        &ss,
        "--issuer-jwks",
        &d.ta_jwks,
        "--at",
        &later,
        "--json",
    ];
    args.extend(NET);
    let o = oidfed(&args).await;
    assert_eq!(code(&o), 1);
    let v = json_of(&o);
    assert_eq!(v["kind"], "subordinate_statement");
    assert_eq!(v["broken_rules"], json!(["Expiry"]));
    assert_eq!(v["checks"][2]["check"], "signature");
    assert_eq!(v["checks"][2]["ok"], true);

    // Signed by someone else: the signature check fails with the issuer's keys.
    let forged = d.fed.key("org").sign_jwt(
        "entity-statement+jwt",
        &serde_json::Value::Object(common_claims(&d.fed.subordinate_statement("ta", "org"))),
    );
    let forged = write("forged.jwt", &forged);
    let mut args = vec!["statement", &forged, "--issuer-jwks", &d.ta_jwks, "--json"];
    args.extend(NET);
    let v = json_of(&oidfed(&args).await);
    assert_eq!(v["broken_rules"], json!(["Kid"]), "{v:#}");

    // Without the issuer's keys the signature is not checked, and said so.
    let mut args = vec!["statement", &ss, "--json"];
    args.extend(NET);
    let v = json_of(&oidfed(&args).await);
    assert_eq!(v["checks"][2]["ok"], Value::Null);
    assert!(
        v["checks"][2]["skipped"]
            .as_str()
            .unwrap()
            .contains("--issuer-jwks")
    );

    // Not a JWS at all.
    let junk = write("junk.jwt", "not a statement");
    let v = json_of(&oidfed(&["statement", &junk, "--json"]).await);
    assert_eq!(v["broken_rules"], json!(["JwsSyntax"]));
}

/// The payload of a compact JWS, unverified.
fn common_claims(jwt: &str) -> serde_json::Map<String, Value> {
    let jws = oidfed::jose::CompactJws::parse(jwt).unwrap();
    serde_json::from_slice(jws.payload()).unwrap()
}

impl Demo {
    fn fed_now(&self) -> i64 {
        common_claims(&self.fed.entity_configuration("ta"))["iat"]
            .as_i64()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_chain_reads_arrays_lines_and_registration_requests() {
    let d = Demo::start().await;
    let chain = d.fed.chain(&["rp", "org", "ta"], true);
    let ta = d.id("ta");
    let array = write("chain.json", &serde_json::to_string(&chain).unwrap());
    let lines = write("chain.txt", &chain.join("\n"));
    // An explicit-registration request: the RP's configuration with a trust_chain header.
    let rp_key = d.fed.key("rp");
    let header = json!({"alg": rp_key.alg().name(), "kid": rp_key.kid(),
        "typ": "entity-statement+jwt", "trust_chain": chain});
    let request = rp_key.sign_with_header(
        &header,
        &Value::Object(common_claims(&d.fed.entity_configuration("rp"))),
    );
    let request = write("request.jwt", &request);
    for (file, source) in [
        (&array, "json_array"),
        (&lines, "jws_lines"),
        (&request, "trust_chain_header"),
    ] {
        let mut args = vec![
            "validate-chain",
            file,
            "--trust-anchor",
            &ta,
            "--trust-anchor-jwks",
            &d.ta_jwks,
            "--json",
        ];
        args.extend(NET);
        let o = oidfed(&args).await;
        assert_eq!(code(&o), 0, "{source}: {}", stdout(&o));
        let v = json_of(&o);
        assert_eq!(v["oidfed"], "validate-chain/1");
        assert_eq!(v["source"], source);
        assert_eq!(v["statements"], 4);
        assert_eq!(v["entity_id"], d.id("rp"));
        assert_eq!(v["organization"]["entity_id"], d.id("org"));
    }
    // The same chain judged two days later: expired, not trusted.
    let later = (d.fed_now() + 2 * 86_400).to_string();
    let mut args = vec![
        "validate-chain",
        &array,
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &d.ta_jwks,
        "--at",
        &later,
        "--json",
    ];
    args.extend(NET);
    let o = oidfed(&args).await;
    assert_eq!(code(&o), 1);
    assert_eq!(json_of(&o)["rule"], "Expiry");
}

#[tokio::test]
async fn policy_combine_and_apply() {
    let ta = write(
        "ta-policy.json",
        r#"{"openid_relying_party": {"grant_types": {"subset_of": ["authorization_code", "refresh_token"]}}}"#,
    );
    let org = write(
        "org-policy.json",
        r#"{"metadata_policy": {"openid_relying_party": {"contacts": {"add": ["ops@org.example"]}}}}"#,
    );
    let o = oidfed(&["policy", "combine", &ta, &org]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        v["openid_relying_party"]["contacts"]["add"],
        json!(["ops@org.example"])
    );
    assert!(v["openid_relying_party"]["grant_types"]["subset_of"].is_array());

    let md = write(
        "md.json",
        r#"{"openid_relying_party": {"grant_types": ["authorization_code", "implicit"]}}"#,
    );
    let o = oidfed(&["policy", "apply", &md, &ta, &org]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(
        v["openid_relying_party"],
        json!({"grant_types": ["authorization_code"], "contacts": ["ops@org.example"]})
    );

    // Conflicting values: invalid_policy, exit 1.
    let a = write(
        "a.json",
        r#"{"openid_relying_party": {"client_name": {"value": "A"}}}"#,
    );
    let b = write(
        "b.json",
        r#"{"openid_relying_party": {"client_name": {"value": "B"}}}"#,
    );
    let o = oidfed(&["policy", "combine", &a, &b]).await;
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).starts_with("error (invalid_policy)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&oidfed(&["policy", "apply", &md]).await), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_subcommand_serves_a_federation_to_resolve() {
    use tokio::io::AsyncBufReadExt;
    let jwks = temp("demo-ta.json");
    let jwks_s = jwks.display().to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_oidfed"))
        .args(["demo", "--json", "--for", "60", "--jwks-out", &jwks_s])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("demo starts");
    let out = child.stdout.take().expect("stdout");
    let mut first = String::new();
    tokio::io::BufReader::new(out)
        .read_line(&mut first)
        .await
        .expect("one line");
    let info: Value = serde_json::from_str(&first).expect("a JSON line");
    let ta = info["trust_anchor"].as_str().unwrap().to_string();
    let rp = info["entities"]["rp"]["entity_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(info["entities"]["ta"]["role"], "anchor");
    assert_eq!(info["trust_anchor_jwks_file"], jwks_s);
    assert!(
        info["resolve"]
            .as_str()
            .unwrap()
            .starts_with("oidfed resolve ")
    );
    let mut args = vec![
        "resolve",
        &rp,
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &jwks_s,
        "--json",
    ];
    args.extend(NET);
    let o = oidfed(&args).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json_of(&o)["trust_anchor"], ta);
    child.kill().await.expect("stop the demo");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_federation_by_name_needs_allow_host() {
    // Served on loopback as http://localhost:PORT: the guard refuses loopback names.
    let (fed, _server) = demo::builder()
        .serve_as("localhost")
        .await
        .expect("loopback");
    let ta_jwks = write("staging-ta.json", &fed.public_jwks("ta").to_string());
    let (rp, ta) = (fed.id("rp").to_string(), fed.id("ta").to_string());
    let base = [
        "resolve",
        &rp,
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &ta_jwks,
        "--json",
    ];
    let mut refused = base.to_vec();
    refused.push("--allow-http");
    let o = oidfed(&refused).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let v = json_of(&o);
    assert_eq!(v["kind"], "fetch");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("refused by the outbound destination guard")
    );

    let mut allowed = refused.clone();
    allowed.extend(["--allow-host", "localhost"]);
    let o = oidfed(&allowed).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(json_of(&o)["entity_id"], rp);
    assert!(stderr(&o).contains("warning: --allow-host localhost"));
}

#[tokio::test]
async fn completions_are_generated_from_the_same_definition() {
    let o = oidfed(&["completions", "bash"]).await;
    assert_eq!(code(&o), 0);
    let script = stdout(&o);
    assert!(script.contains("validate-chain") && script.contains("--trust-anchor-jwks"));
}

/// A resolver over HTTP that may reach the loopback demo.
fn loopback_resolver(d: &Demo) -> oidfed::Resolver {
    use oidfed::fetch::{DestinationGuard, HttpFetcher};
    let fetcher = HttpFetcher::builder()
        .guard(
            DestinationGuard::new()
                .allow_http(true)
                .allow_network("127.0.0.0/8".parse().unwrap()),
        )
        .build()
        .unwrap();
    oidfed::Resolver::builder()
        .allow_http(true)
        .trust_anchor(d.id("ta").as_str(), &d.fed.public_jwks("ta"))
        .fetcher(fetcher)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_lists_shows_exports_sweeps_and_offboards() {
    let d = Demo::start().await;
    let db = temp("registry.db");
    let url = format!("sqlite://{}", db.display());
    let registry = oidfed::registry::Registry::open(&url).await.unwrap();
    registry
        .admit(
            &loopback_resolver(&d),
            &d.fed.id("rp"),
            "openid_relying_party",
        )
        .await
        .unwrap();
    registry.close().await;
    let (rp, org) = (d.id("rp"), d.id("org"));

    let o = oidfed(&["registry", "--url", &url, "orgs", "--json"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["organizations"][0]["organization_id"], org);
    assert_eq!(v["organizations"][0]["clients"], 1);
    assert_eq!(v["organizations"][0]["active_clients"], 1);

    let o = oidfed(&["registry", "--url", &url, "clients", "--org", &org]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&rp) && text.contains("status: active"),
        "{text}"
    );

    let o = oidfed(&["registry", "--url", &url, "show", &rp, "--json"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["client_id"], rp);
    assert_eq!(v["registration_model"], "federation");
    assert_eq!(v["organization"]["evidence"]["kind"], "superior_policy");
    assert_eq!(v["audit"][0]["event"], "admitted");

    let o = oidfed(&["registry", "--url", &url, "export", "--format", "csv"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 2, "a header and one client: {csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with(&rp), "{csv}");

    // The partner's statement is withdrawn: one sweep sees it and revokes the client.
    d.fed.remove_ss("org", "rp");
    let ta = d.id("ta");
    let mut args = vec![
        "registry",
        "--url",
        &url,
        "sweep",
        "--trust-anchor",
        &ta,
        "--trust-anchor-jwks",
        &d.ta_jwks,
        "--json",
    ];
    args.extend(NET);
    let o = oidfed(&args).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["revoked"], 1, "{v}");
    assert_eq!(v["outcomes"][0]["client_id"], rp);

    let o = oidfed(&["registry", "--url", &url, "show", &rp, "--json"]).await;
    assert_eq!(json_of(&o)["status"]["kind"], "revoked");

    let o = oidfed(&[
        "registry",
        "--url",
        &url,
        "offboard",
        &org,
        "--reason",
        "contract ended",
        "--json",
    ])
    .await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["revoked"], json!([]));
    assert_eq!(v["already_revoked"], json!([rp]));

    // An unknown client is a definitive answer, not a crash.
    let o = oidfed(&["registry", "--url", &url, "show", "https://nobody.example"]).await;
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
