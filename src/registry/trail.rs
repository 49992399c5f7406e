//! Reading the audit trail, and the access-review export (JSON and CSV).

use serde::Serialize;

use super::Registry;
use super::audit::AuditEntry;
use super::model::RegisteredClient;
use super::store::AuditFilter;
use crate::error::Error;

/// One line of the access review: who the client is, who is accountable for it and on
/// what evidence, how it came, and where it stands.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-review_row.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let rows = registry.access_review().await.unwrap();
/// assert_eq!(rows[0].client_id, fed.id("rp").as_str());
/// assert_eq!((rows[0].status.as_str(), rows[0].registration_model.as_str()), ("active", "federation"));
/// assert!(rows[0].to_csv().starts_with(fed.id("rp").as_str()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReviewRow {
    /// The client_id.
    pub client_id: String,
    /// The accountable organization (empty when none).
    pub organization: String,
    /// The organization's name, when known.
    pub organization_name: String,
    /// The evidence of the binding (e.g. `superior_policy by https://…`).
    pub binding_evidence: String,
    /// `federation`, `dynamic` or `manual`.
    pub registration_model: String,
    /// Since when the client has its current status (Unix seconds).
    pub since: i64,
    /// When it was last re-validated (Unix seconds).
    pub last_validated: i64,
    /// `active`, `stale`, `suspended` or `revoked`.
    pub status: String,
    /// Its trust marks' types, space-separated.
    pub trust_marks: String,
}

/// The CSV header of [`Registry::access_review_csv`].
pub const REVIEW_CSV_HEADER: &str = "client_id,organization,organization_name,binding_evidence,\
registration_model,since,last_validated,status,trust_marks";

impl ReviewRow {
    fn of(c: &RegisteredClient) -> Self {
        let binding = c.organization();
        let evidence = binding
            .map(|b| match serde_json::to_value(&b.evidence) {
                Ok(v) => {
                    let kind = v
                        .get("kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or("")
                        .to_string();
                    match v.get("by").and_then(|b| b.as_str()) {
                        Some(by) => format!("{kind} by {by}"),
                        None => kind,
                    }
                }
                Err(_) => String::new(),
            })
            .unwrap_or_default();
        let marks: Vec<&str> = c
            .record()
            .map(|r| {
                r.trust_marks
                    .iter()
                    .map(|m| m.trust_mark_type.as_str())
                    .collect()
            })
            .unwrap_or_default();
        ReviewRow {
            client_id: c.client_id().to_string(),
            organization: c.organization_id().unwrap_or_default().to_string(),
            organization_name: binding.and_then(|b| b.name.clone()).unwrap_or_default(),
            binding_evidence: evidence,
            registration_model: c.registration_model().as_str().to_string(),
            since: c.status().since,
            last_validated: c.last_validated(),
            status: c.status().kind.as_str().to_string(),
            trust_marks: marks.join(" "),
        }
    }

    /// The row as one CSV line (RFC 4180 quoting); see the [`ReviewRow`] example.
    pub fn to_csv(&self) -> String {
        let fields = [
            self.client_id.clone(),
            self.organization.clone(),
            self.organization_name.clone(),
            self.binding_evidence.clone(),
            self.registration_model.clone(),
            self.since.to_string(),
            self.last_validated.to_string(),
            self.status.clone(),
            self.trust_marks.clone(),
        ];
        fields
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn csv_field(f: &str) -> String {
    // A leading formula character is neutralised so a spreadsheet does not run it.
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// Entries read per page of the trail.
const MAX_PAGE: i64 = 10_000;

impl Registry {
    /// The audit trail of one client, oldest first.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-audit_of_client.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::AuditEvent;
    /// let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
    /// assert_eq!(trail.len(), 1);
    /// assert_eq!(trail[0].event, AuditEvent::Admitted);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn audit_of_client(
        &self,
        client_id: &(impl AsRef<str> + ?Sized),
    ) -> Result<Vec<AuditEntry>, Error> {
        Ok(self
            .store
            .audit(AuditFilter::Client(client_id.as_ref()), i64::MAX)
            .await?)
    }

    /// The audit trail of one organization (its clients' entries and its own), oldest
    /// first.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-audit_of_org.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::AuditEvent;
    /// registry.offboard_organization(&fed.id("org"), "contract ended").await.unwrap();
    /// let trail = registry.audit_of_organization(&fed.id("org")).await.unwrap();
    /// assert!(trail.iter().any(|e| e.event == AuditEvent::OrganizationOffboarded));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn audit_of_organization(
        &self,
        organization_id: &(impl AsRef<str> + ?Sized),
    ) -> Result<Vec<AuditEntry>, Error> {
        Ok(self
            .store
            .audit(
                AuditFilter::Organization(organization_id.as_ref()),
                i64::MAX,
            )
            .await?)
    }

    /// Up to `limit` (at most 10,000) entries after the cursor `after` (an entry's `seq`;
    /// 0 for the start), in commit order: a SIEM follows the trail by passing the last
    /// `seq` it read.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-audit_after.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let page = registry.audit_after(0, 100).await.unwrap();
    /// assert_eq!(page.len(), 1);
    /// // Following from the last `seq` read: nothing new yet.
    /// assert!(registry.audit_after(page[0].seq, 100).await.unwrap().is_empty());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn audit_after(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        let limit = i64::try_from(limit).unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        Ok(self.store.audit(AuditFilter::After(after), limit).await?)
    }

    /// Every registered client, by client_id.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-clients.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let clients = registry.clients().await.unwrap();
    /// assert_eq!(clients.len(), 1);
    /// assert_eq!(clients[0].client_id(), fed.id("rp").as_str());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn clients(&self) -> Result<Vec<RegisteredClient>, Error> {
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.store.clients_page(&after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.client_id.clone();
            all.extend(page);
        }
        Ok(all)
    }

    /// The access review: one row per client.
    ///
    /// See the [`ReviewRow`] example.
    pub async fn access_review(&self) -> Result<Vec<ReviewRow>, Error> {
        Ok(self.clients().await?.iter().map(ReviewRow::of).collect())
    }

    /// The access review as a JSON array.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-review_json.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// let json = registry.access_review_json().await.unwrap();
    /// assert_eq!(json[0]["client_id"], fed.id("rp").as_str());
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn access_review_json(&self) -> Result<serde_json::Value, Error> {
        let rows = self.access_review().await?;
        serde_json::to_value(rows).map_err(|e| {
            Error::Config(crate::error::ConfigError::Serialize {
                what: "the access review".into(),
                detail: e.to_string(),
            })
        })
    }

    /// The access review as CSV, header first ([`REVIEW_CSV_HEADER`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-review_csv.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::REVIEW_CSV_HEADER;
    /// let csv = registry.access_review_csv().await.unwrap();
    /// let mut lines = csv.lines();
    /// assert_eq!(lines.next(), Some(REVIEW_CSV_HEADER));
    /// assert!(lines.next().unwrap().starts_with(fed.id("rp").as_str()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn access_review_csv(&self) -> Result<String, Error> {
        let mut out = String::from(REVIEW_CSV_HEADER);
        out.push('\n');
        for r in self.access_review().await? {
            out.push_str(&r.to_csv());
            out.push('\n');
        }
        Ok(out)
    }
}
