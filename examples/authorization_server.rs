//! A small authorization server on loopback that embeds oidfed at the three places it meets
//! federation clients, run end to end against the demo federation:
//!
//! * `GET /.well-known/openid-federation` — its own signed entity configuration;
//! * `GET /authorize?request=<jwt>` — automatic registration: the request object of a client
//!   unknown to the server, whose `client_id` is an entity id;
//! * `POST /register` — explicit registration (`application/entity-statement+jwt` or
//!   `application/trust-chain+json`).
//!
//! ```text
//! cargo run --example authorization_server
//! ```
//!
//! The example then plays the demo relying party against it and prints the client record
//! with its organization binding, and at the end the metrics in Prometheus text format.

#[path = "authorization_server/replicas.rs"]
mod replicas;

use std::collections::HashMap;
use std::sync::Arc;

use oidfed::fetch::{DestinationGuard, HttpFetcher};
use oidfed::server::{EntityConfiguration, ExplicitRegistration, MemoryReplayGuard, RequestPolicy};
use oidfed::signer::{JwkSigner, Signer};
use oidfed::{EntityType, Resolver};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Server {
    id: String,
    resolver: Resolver,
    signer: JwkSigner,
    replay: MemoryReplayGuard,
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    content_type: String,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

fn json_response(status: u16, v: Value) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: v.to_string(),
    }
}

impl Server {
    async fn handle(&self, req: Request) -> Response {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/.well-known/openid-federation") => {
                let now = self.resolver.now();
                match EntityConfiguration::new(&self.id)
                    .metadata(
                        "openid_provider",
                        json!({
                            "issuer": self.id,
                            "authorization_endpoint": format!("{}/authorize", self.id),
                            "client_registration_types_supported": ["automatic", "explicit"],
                            "federation_registration_endpoint": format!("{}/register", self.id),
                        }),
                    )
                    .sign(&self.signer, &[self.signer.public_jwk()], now, 3600)
                {
                    Ok(jwt) => Response {
                        status: 200,
                        content_type: "application/entity-statement+jwt",
                        body: jwt,
                    },
                    Err(e) => json_response(
                        500,
                        json!({"error": "server_error", "error_description": e.to_string()}),
                    ),
                }
            }
            ("GET", "/authorize") => {
                let Some(request) = req.query.get("request") else {
                    return json_response(
                        400,
                        json!({"error": "invalid_request", "error_description": "request missing"}),
                    );
                };
                let policy = RequestPolicy::new(&self.id);
                match self
                    .resolver
                    .verify_request_object(request, &policy, &self.replay)
                    .await
                {
                    // A real server would now authenticate the user and redirect with a code.
                    Ok(v) => json_response(
                        200,
                        json!({"client": &*v.client, "scope": v.claims.get("scope")}),
                    ),
                    // Trust could not be established: never redirect (§12.1.3).
                    Err(e) => json_response(
                        400,
                        json!({"error": e.spec_code(), "error_description": e.to_string()}),
                    ),
                }
            }
            ("POST", "/register") => {
                let reg = ExplicitRegistration {
                    our_entity_id: &self.id,
                    signer: &self.signer,
                    max_lifetime: 86_400,
                    entity_type: EntityType::OPENID_RELYING_PARTY,
                    decide: None,
                };
                match self
                    .resolver
                    .register_explicit(&req.body, &req.content_type, &reg)
                    .await
                {
                    Ok(out) => Response {
                        status: 200,
                        content_type: "application/explicit-registration-response+jwt",
                        body: out.response,
                    },
                    Err(e) => json_response(
                        400,
                        json!({"error": e.spec_code(), "error_description": e.to_string()}),
                    ),
                }
            }
            _ => json_response(
                404,
                json!({"error": "not_found", "error_description": req.path}),
            ),
        }
    }
}

/// Reads one HTTP/1.1 request (bounded sizes), answers, closes.
async fn serve_one(server: Arc<Server>, mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(256 * 1024);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let url = url::Url::parse(&format!("http://localhost{target}"))
        .unwrap_or_else(|_| url::Url::parse("http://localhost/").expect("static URL"));
    let req = Request {
        method,
        path: url.path().to_string(),
        query: url.query_pairs().into_owned().collect(),
        content_type: headers.get("content-type").cloned().unwrap_or_default(),
        body,
    };
    let resp = server.handle(req).await;
    let head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(resp.body.as_bytes()).await?;
    stream.shutdown().await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // oidfed's metrics (src/metrics.rs) into a Prometheus recorder; a real server would
    // answer `GET /metrics` with `metrics.render()`.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;

    // The demo federation on loopback: trust anchor, organization, relying party, provider.
    let (fed, _fed_server) = oidfed::testing::demo::builder().serve().await?;

    // Our authorization server, on its own loopback port.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let our_id = format!("http://{}", listener.local_addr()?);
    let guard = DestinationGuard::new()
        .allow_http(true)
        .allow_network("127.0.0.0/8".parse()?);
    let resolver = Resolver::builder()
        .allow_http(true)
        .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
        .fetcher(HttpFetcher::builder().guard(guard).build()?)
        .build()?;
    let server = Arc::new(Server {
        id: our_id.clone(),
        resolver,
        signer: JwkSigner::generate_es256("as-fed-1")?,
        replay: MemoryReplayGuard::default(),
    });
    let accept = {
        let server = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_one(server.clone(), stream));
            }
        })
    };
    println!("authorization server {our_id} trusts {}", fed.id("ta"));

    // --- Play the relying party. ---
    let http = reqwest::Client::new();
    let ec = http
        .get(format!("{our_id}/.well-known/openid-federation"))
        .send()
        .await?
        .text()
        .await?;
    println!("published its entity configuration ({} bytes)", ec.len());

    let rp = fed.id("rp");
    let now = server.resolver.now();
    let request_object = oidfed::testing::demo::rp_protocol_key(&fed).sign_jwt(
        "oauth-authz-req+jwt",
        &json!({
            "iss": rp.as_str(), "client_id": rp.as_str(), "aud": our_id,
            "jti": format!("demo-{now}"), "iat": now, "exp": now + 300,
            "response_type": "code", "scope": "openid", "redirect_uri": "https://rp.example/cb",
        }),
    );
    let answer: Value = serde_json::from_str(
        &http
            .get(format!("{our_id}/authorize"))
            .query(&[("request", request_object)])
            .send()
            .await?
            .text()
            .await?,
    )?;
    let client = answer
        .get("client")
        .ok_or_else(|| format!("automatic registration refused: {answer}"))?;
    println!("\nAutomatic registration accepted {rp}");
    let org = &client["organization"];
    println!(
        "  accountable organization: {} ({}), established by {}",
        org["entity_id"].as_str().unwrap_or("-"),
        org["name"].as_str().unwrap_or("unnamed"),
        org["evidence"]["kind"].as_str().unwrap_or("-"),
    );
    println!("  authority path: {}", org["authority_path"]);
    println!("  trusted until: {}", client["expires_at"]);

    // Explicit registration with the RP's whole trust chain.
    let chain = fed.chain(&["rp", "org", "ta"], true);
    let response = http
        .post(format!("{our_id}/register"))
        .header("content-type", "application/trust-chain+json")
        .body(serde_json::to_vec(&chain)?)
        .send()
        .await?;
    let status = response.status();
    let jwt = response.text().await?;
    if !status.is_success() {
        return Err(format!("explicit registration refused: {jwt}").into());
    }
    let claims = oidfed::jose::CompactJws::parse(&jwt)?;
    let claims: Value = serde_json::from_slice(claims.payload())?;
    println!("\nExplicit registration response for {}", claims["sub"]);
    println!(
        "  trust anchor: {}, expires: {}",
        claims["trust_anchor"], claims["exp"]
    );
    println!(
        "\nClient record:\n{}",
        serde_json::to_string_pretty(client)?
    );
    registration_models(&fed, &server.resolver, &our_id).await?;
    accept.abort();

    replicas::two_replicas(&fed).await?;
    println!("\nPrometheus metrics:\n{}", metrics.render());
    Ok(())
}

/// One client of each registration model in a SQLite registry — federation, gated DCR with
/// an organization-signed statement, gated DCR with a directory-issued statement, manual
/// onboarding — then the access review with each client's organization and evidence, the
/// directory-issued binding's evidence, and a DCR client's assertion verified through the
/// registry.
async fn registration_models(
    fed: &oidfed::testing::Federation,
    resolver: &Resolver,
    our_id: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use oidfed::registry::{ManualOnboarding, ManualOrganization, Registry};
    use oidfed::server::dcr::{
        AcceptedModels, DcrConfig, DcrGate, Directory, DirectoryKeys, ModelPolicy,
    };

    let path = std::env::temp_dir().join(format!("oidfed-example-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let registry = Registry::open(&format!("sqlite://{}", path.display())).await?;
    let now = resolver.now();

    // 1. Federation: the relying party, resolved and bound by its chain.
    registry
        .admit(resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
        .await?;

    // 2–3. Gated DCR: the trust anchor is also the ecosystem's directory.
    let mut config = DcrConfig::default();
    config.statements.directories.push(Directory::new(
        fed.id("ta").as_str(),
        fed.id("ta"),
        DirectoryKeys::AnchorConfiguration,
    ));
    let gate = DcrGate::new(resolver.clone(), config);
    let app_key = oidfed::testing::TestKey::generate(oidfed::testing::KeyAlg::ES256);
    let register = |statement: String| {
        json!({
            "redirect_uris": ["https://app.org.example/cb"],
            "client_name": "Example Org mobile app",
            "jwks": app_key.public_jwks(),
            "software_statement": statement,
        })
        .to_string()
    };
    let org_signed = fed.key("org").sign_jwt(
        "JWT",
        &json!({"iss": fed.id("org").as_str(), "iat": now, "exp": now + 600,
                "jti": format!("org-{now}"), "software_id": "org-mobile"}),
    );
    let directory_issued = fed.key("ta").sign_jwt(
        "JWT",
        &json!({"iss": fed.id("ta").as_str(), "iat": now, "exp": now + 600,
                "jti": format!("dir-{now}"), "software_id": "directory-web",
                "org_id": fed.id("org").as_str(), "org_status": "Active",
                "software_redirect_uris": ["https://app.org.example/cb"]}),
    );
    let replay = MemoryReplayGuard::default();
    let mut dcr_clients = Vec::new();
    for statement in [org_signed, directory_issued] {
        let r = registry
            .register_dynamic(&gate, register(statement).as_bytes(), &replay)
            .await
            .map_err(|e| format!("DCR refused: {}", e.to_json()))?;
        println!(
            "\nDCR registered {} (registration access token issued, stored as a hash)",
            r.registration.client_id
        );
        dcr_clients.push(r.registration);
    }
    if let Some(d) = dcr_clients.get(1) {
        let s = &d.statement;
        println!(
            "directory-issued binding of {}: form {}, issuer {}, organization {} (claim org_id = {}), trust anchor {}, jti {}, software_id {}",
            d.client_id,
            s.form.as_str(),
            s.issuer,
            s.organization_id,
            s.organization_claim.as_deref().unwrap_or("-"),
            s.trust_anchor,
            s.jti,
            s.software_id.as_deref().unwrap_or("-"),
        );
    }

    // 4. Manual onboarding of a partner outside the federation, with an owner.
    registry
        .create_organization(
            "partner-gmbh",
            "Partner GmbH",
            "alice@as.example",
            "CHG-1042",
        )
        .await?;
    let manual = ManualOnboarding::new("partner-portal")
        .organization(ManualOrganization::Named("partner-gmbh".into()))
        .approved_by("alice@as.example", "CHG-1043")
        .valid_until(now + 180 * 86_400, now + 90 * 86_400);
    let models = ModelPolicy::default().default_models(AcceptedModels::All);
    registry.register_manual(resolver, &models, manual).await?;

    let review = registry.access_review_by_model().await?;
    println!("\nRegistry by registration model:");
    for (model, rows) in [
        ("federation", review.federation.iter().collect::<Vec<_>>()),
        ("dynamic", review.dynamic.iter().map(|r| &r.row).collect()),
        ("manual", review.manual.iter().map(|r| &r.row).collect()),
    ] {
        for r in rows {
            println!(
                "  [{model}] {}\n      organization: {}  status: {}\n      evidence: {}",
                r.client_id, r.organization, r.status, r.binding_evidence
            );
        }
    }

    // The DCR client authenticates (private_key_jwt): the registry finds it by its
    // generated client_id and verifies with the jwks it registered.
    if let Some(d) = dcr_clients.first() {
        let id = d.client_id.as_str();
        let assertion = app_key.sign_jwt(
            "JWT",
            &json!({"iss": id, "sub": id, "aud": our_id, "jti": format!("ca-{now}"),
                    "exp": now + 60}),
        );
        let c = registry
            .verify_client_assertion(resolver, &assertion, &RequestPolicy::new(our_id), &replay)
            .await?;
        println!(
            "\nclient assertion of DCR client {} verified through the registry: model {}, organization {}, status {}",
            c.client_id(),
            c.registration_model().as_str(),
            c.organization_id().unwrap_or("-"),
            c.status().kind.as_str(),
        );
    }
    registry.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(())
}
