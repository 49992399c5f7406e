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
    /// `{"federation": [...], "dynamic": [...], "manual": [...]}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Three CSV sections, each introduced by a `# model` line and the header (manual
    /// rows add `expires_at,review_at`).
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
    pub async fn manual_review(&self, resolver: &Resolver) -> Result<ManualReview, Error> {
        let now = resolver.now();
        let mut out = ManualReview::default();
        for row in self
            .store
            .registrations_by_model(RegistrationModel::Manual)
            .await?
        {
            let Ok(m) = serde_json::from_value::<ManualRegistration>(row.details) else {
                continue;
            };
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
