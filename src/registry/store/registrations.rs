//! What dynamic (RFC 7591) and manual registrations hold besides the client row: the
//! evidence of the organization binding, the metadata, the registration access token's
//! hash; and the organization records an operator creates for manual onboarding.

use serde_json::Value;

use super::{Store, with_pool};
use crate::registry::error::RegistryError;
use crate::registry::model::RegistrationModel;

/// A stored registration (table `oidfed_registrations`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegistrationRow {
    pub client_id: String,
    pub model: RegistrationModel,
    pub organization_id: Option<String>,
    pub software_id: Option<String>,
    /// base64url(SHA-256(registration access token)); `None` once revoked.
    pub token_hash: Option<String>,
    pub details: Value,
    pub updated_at: i64,
}

/// A registration row to write in a [`super::Batch`] (insert or replace).
pub(crate) type RegistrationWrite = RegistrationRow;

/// An organization record an operator created (table `oidfed_named_organizations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedOrganizationRow {
    pub organization_id: String,
    pub name: String,
    pub created_by: String,
    pub reference: String,
    pub created_at: i64,
}

type Tuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
);

const COLUMNS: &str = "client_id, registration_model, organization_id, software_id, token_hash, details_json, updated_at";

fn row_from(t: Tuple) -> Result<RegistrationRow, RegistryError> {
    let corrupt = |detail: String| RegistryError::Corrupt {
        what: "oidfed_registrations",
        key: t.0.clone(),
        detail,
    };
    let model = RegistrationModel::parse(&t.1)
        .ok_or_else(|| corrupt(format!("registration_model {:?}", t.1)))?;
    let details = serde_json::from_str(&t.5).map_err(|e| corrupt(format!("details_json: {e}")))?;
    Ok(RegistrationRow {
        client_id: t.0,
        model,
        organization_id: t.2,
        software_id: t.3,
        token_hash: t.4,
        details,
        updated_at: t.6,
    })
}

impl Store {
    /// The registration of `client_id`, if it is a dynamic or manual client.
    pub(crate) async fn registration(
        &self,
        client_id: &str,
    ) -> Result<Option<RegistrationRow>, RegistryError> {
        let sql = format!("SELECT {COLUMNS} FROM oidfed_registrations WHERE client_id = $1");
        let row: Option<Tuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(client_id)
            .fetch_optional(p)
            .await
            .map_err(|e| self.err(e))?);
        row.map(row_from).transpose()
    }

    /// Registrations of `software_id` by `organization_id`, by client_id.
    pub(crate) async fn registrations_of_software(
        &self,
        organization_id: &str,
        software_id: &str,
    ) -> Result<Vec<RegistrationRow>, RegistryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM oidfed_registrations \
             WHERE organization_id = $1 AND software_id = $2 ORDER BY client_id"
        );
        let rows: Vec<Tuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(organization_id)
            .bind(software_id)
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?);
        rows.into_iter().map(row_from).collect()
    }

    /// Every registration of `model`, by client_id.
    pub(crate) async fn registrations_by_model(
        &self,
        model: RegistrationModel,
    ) -> Result<Vec<RegistrationRow>, RegistryError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM oidfed_registrations WHERE registration_model = $1 \
             ORDER BY client_id"
        );
        let rows: Vec<Tuple> = with_pool!(self, p => sqlx::query_as(&sql)
            .bind(model.as_str())
            .fetch_all(p)
            .await
            .map_err(|e| self.err(e))?);
        rows.into_iter().map(row_from).collect()
    }

    /// The organization record `organization_id`, if an operator created it.
    pub(crate) async fn named_organization(
        &self,
        organization_id: &str,
    ) -> Result<Option<NamedOrganizationRow>, RegistryError> {
        let row: Option<(String, String, String, String, i64)> = with_pool!(self, p => sqlx::query_as(
                "SELECT organization_id, name, created_by, reference, created_at \
                 FROM oidfed_named_organizations WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_optional(p)
            .await
            .map_err(|e| self.err(e))?);
        Ok(row.map(|r| NamedOrganizationRow {
            organization_id: r.0,
            name: r.1,
            created_by: r.2,
            reference: r.3,
            created_at: r.4,
        }))
    }
}
