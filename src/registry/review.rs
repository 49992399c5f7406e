//! The access review by registration model (issue 17 items 4–5): federation, gated DCR
//! and manual clients listed apart, each with the evidence its binding rests on; and the
//! manual clients that need attention — review due, or now resolvable through the
//! federation (so they can be moved to federation registration).

use serde::Serialize;
use serde_json::Value;

use super::Registry;
use super::dynamic::DynamicRegistration;
use super::manual::{ManualRegistration, ModelReviewRow};
use super::model::RegistrationModel;
use super::trail::{REVIEW_CSV_HEADER, ReviewRow};
use crate::error::Error;
use crate::resolver::Resolver;

/// The access review, one list per registration model.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-model_review.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let review = registry.access_review_by_model().await.unwrap();
/// assert_eq!((review.federation.len(), review.dynamic.len(), review.manual.len()), (1, 0, 0));
/// assert_eq!(review.to_json()["federation"][0]["client_id"], fed.id("rp").as_str());
/// let sections: Vec<_> = review.to_csv().lines().filter(|l| l.starts_with("# ")).map(String::from).collect();
/// assert_eq!(sections, ["# federation", "# dynamic", "# manual"]);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModelReview {
    /// Clients registered through OpenID Federation (re-validated by sweeps).
    pub federation: Vec<ReviewRow>,
    /// Clients registered through gated DCR (their organization re-validated by sweeps).
    pub dynamic: Vec<ModelReviewRow>,
    /// Manually onboarded clients: nothing re-validates them; expiry and review dates.
    pub manual: Vec<ModelReviewRow>,
}

impl ModelReview {
    /// `{"federation": [...], "dynamic": [...], "manual": [...]}`; see the [`ModelReview`]
    /// example.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Three CSV sections, each introduced by a `# model` line and the header (manual
    /// rows add `expires_at,review_at`); see the [`ModelReview`] example.
    pub fn to_csv(&self) -> String {
        let mut out = format!("# federation\n{REVIEW_CSV_HEADER}\n");
        for r in &self.federation {
            out.push_str(&r.to_csv());
            out.push('\n');
        }
        out.push_str(&format!("# dynamic\n{REVIEW_CSV_HEADER}\n"));
        for r in &self.dynamic {
            out.push_str(&r.row.to_csv());
            out.push('\n');
        }
        out.push_str(&format!(
            "# manual\n{REVIEW_CSV_HEADER},expires_at,review_at\n"
        ));
        for r in &self.manual {
            let num = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{},{},{}\n",
                r.row.to_csv(),
                num(r.expires_at),
                num(r.review_at)
            ));
        }
        out
    }
}

/// A manual client that now resolves as a federation entity.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-fed_candidate.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
/// # // `rp` is a federation entity, but an operator onboarded it by hand, for review in 30 days.
/// # let req = ManualOnboarding::new(fed.id("rp").as_str())
/// #     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
/// #     .approved_by("alice@as.example", "TICKET-1")
/// #     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
/// # registry.register_manual(&resolver, &models, req).await.unwrap();
///
/// let review = registry.manual_review(&resolver).await.unwrap();
/// let candidate = &review.in_federation[0];
/// assert_eq!(candidate.client_id, fed.id("rp").as_str());
/// assert_eq!(candidate.trust_anchor, fed.id("ta").as_str());
/// assert_eq!(candidate.organization_id.as_deref(), Some(fed.id("org").as_str()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FederationCandidate {
    /// The client.
    pub client_id: String,
    /// The anchor its chain ends at.
    pub trust_anchor: String,
    /// The organization its chain binds it to, when any.
    pub organization_id: Option<String>,
}

/// Manual clients needing attention.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_review_s.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # use oidfed::Clock;
/// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
/// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
/// # let now = fed.clock().now();
/// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
/// # // `rp` is a federation entity, but an operator onboarded it by hand, for review in 30 days.
/// # let req = ManualOnboarding::new(fed.id("rp").as_str())
/// #     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
/// #     .approved_by("alice@as.example", "TICKET-1")
/// #     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
/// # registry.register_manual(&resolver, &models, req).await.unwrap();
///
/// assert!(registry.manual_review(&resolver).await.unwrap().review_due.is_empty());
/// fed.clock().advance(31 * 86_400); // the review date passes
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// let review = registry.manual_review(&resolver).await.unwrap();
/// assert_eq!(review.review_due, [fed.id("rp").to_string()]);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ManualReview {
    /// Review date reached (and not revoked).
    pub review_due: Vec<String>,
    /// Clients that appear in the federation: move them to federation registration.
    pub in_federation: Vec<FederationCandidate>,
}

impl Registry {
    /// The access review with the models apart; each dynamic row's evidence names the
    /// software statement (form, issuer, `jti`, `software_id`), each manual row's the
    /// approver and ticket.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-by_model.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # use oidfed::Clock;
    /// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
    /// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
    /// # let now = fed.clock().now();
    /// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
    /// # // `rp` is a federation entity, but an operator onboarded it by hand, for review in 30 days.
    /// # let req = ManualOnboarding::new(fed.id("rp").as_str())
    /// #     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
    /// #     .approved_by("alice@as.example", "TICKET-1")
    /// #     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
    /// # registry.register_manual(&resolver, &models, req).await.unwrap();
    ///
    /// let review = registry.access_review_by_model().await.unwrap();
    /// assert_eq!(review.manual[0].row.client_id, fed.id("rp").as_str());
    /// assert!(review.manual[0].row.binding_evidence.contains("TICKET-1"));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn access_review_by_model(&self) -> Result<ModelReview, Error> {
        let mut review = ModelReview::default();
        for mut row in self.access_review().await? {
            match RegistrationModel::parse(&row.registration_model) {
                Some(RegistrationModel::Dynamic) => {
                    if let Some(d) = self.dynamic_registration(&row.client_id).await? {
                        row.binding_evidence = dynamic_evidence(&d);
                    }
                    review.dynamic.push(ModelReviewRow {
                        row,
                        expires_at: None,
                        review_at: None,
                    });
                }
                Some(RegistrationModel::Manual) => {
                    let m = self.manual_registration(&row.client_id).await?;
                    if let Some(m) = &m {
                        row.binding_evidence = manual_text(m);
                    }
                    review.manual.push(ModelReviewRow {
                        row,
                        expires_at: m.as_ref().map(|m| m.expires_at),
                        review_at: m.as_ref().map(|m| m.review_at),
                    });
                }
                _ => review.federation.push(row),
            }
        }
        Ok(review)
    }

    /// Manual clients whose review is due, and those that now resolve through the
    /// federation (their client_id is an Entity Identifier with a chain to one of
    /// `resolver`'s anchors) — reported so they can be moved to federation registration.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-manual_review.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # use oidfed::Clock;
    /// # use oidfed::registry::{ManualOnboarding, ManualOrganization};
    /// # use oidfed::server::dcr::{AcceptedModels, ModelPolicy};
    /// # let now = fed.clock().now();
    /// # let models = ModelPolicy::default().default_models(AcceptedModels::All);
    /// # // `rp` is a federation entity, but an operator onboarded it by hand, for review in 30 days.
    /// # let req = ManualOnboarding::new(fed.id("rp").as_str())
    /// #     .organization(ManualOrganization::Federation(fed.id("org").to_string()))
    /// #     .approved_by("alice@as.example", "TICKET-1")
    /// #     .valid_until(now + 90 * 86_400, now + 30 * 86_400);
    /// # registry.register_manual(&resolver, &models, req).await.unwrap();
    ///
    /// let review = registry.manual_review(&resolver).await.unwrap();
    /// assert_eq!(review.in_federation.len(), 1);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn manual_review(&self, resolver: &Resolver) -> Result<ManualReview, Error> {
        let now = resolver.now();
        let mut out = ManualReview::default();
        for (_, parsed) in self.manual_registrations().await? {
            // A row that cannot be read fails the review rather than being left out of it.
            let m = parsed?;
            let revoked = self
                .store
                .client(&m.client_id)
                .await?
                .is_none_or(|c| c.status.is_revoked());
            if revoked {
                continue;
            }
            if now >= m.review_at {
                out.review_due.push(m.client_id.clone());
            }
            let Ok(id) = resolver.entity_id(&m.client_id) else {
                continue;
            };
            if let Ok(record) = resolver.record(&id, &m.entity_type).await {
                tracing::warn!(target: "oidfed::registry", client_id = %m.client_id,
                    trust_anchor = %record.trust_anchor,
                    "a manual client appears in the federation: move it to federation registration");
                out.in_federation.push(FederationCandidate {
                    client_id: m.client_id.clone(),
                    trust_anchor: record.trust_anchor.to_string(),
                    organization_id: record
                        .organization
                        .as_ref()
                        .map(|o| o.entity_id.to_string()),
                });
            }
        }
        Ok(out)
    }
}

fn dynamic_evidence(d: &DynamicRegistration) -> String {
    let s = &d.statement;
    format!(
        "software_statement {} by {} via {} jti={} software_id={}",
        s.form.as_str(),
        s.issuer,
        s.chain_path.join(" > "),
        s.jti,
        s.software_id.as_deref().unwrap_or("")
    )
}

fn manual_text(m: &ManualRegistration) -> String {
    format!("manual approved by {} ref={}", m.approver, m.reference)
}
