//! `oidfed registry --url <URL> …`: the client registry from the terminal — organizations,
//! clients, one client with its audit trail, the access review, offboarding, one sweep.

use clap::{Args, Subcommand};
use oidfed::registry::{RegisteredClient, Registry};
use serde_json::{Value, json};

use crate::Exit;
use crate::anchors::{AnchorArgs, ResolverOptions, build_resolver};
use crate::net::{NetworkArgs, rfc3339};
use crate::output::{exit_for, print_json, usage_failure};

/// The registry to open and what to do with it.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// The registry: `sqlite://PATH`, `sqlite::memory:` or `postgres://…`.
    #[arg(long, value_name = "URL")]
    url: String,
    /// One JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: RegistryCommand,
}

/// The registry subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Organizations with their client counts.
    Orgs,
    /// Clients, with organization, registration model and status.
    Clients {
        /// Only the clients of this organization.
        #[arg(long, value_name = "ORGANIZATION_ID")]
        org: Option<String>,
    },
    /// One client with its binding evidence and its audit trail.
    Show {
        /// The client_id.
        client_id: String,
    },
    /// The access review: every client, its organization, evidence, model, status.
    Export {
        /// `json` or `csv`.
        #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
        format: String,
    },
    /// Revoke every client of an organization (one audit entry each).
    Offboard {
        /// The organization.
        organization_id: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Re-validate every registered client against the federation now; print what changed.
    Sweep {
        #[command(flatten)]
        anchors: AnchorArgs,
        #[command(flatten)]
        net: NetworkArgs,
    },
}

fn client_json(c: &RegisteredClient) -> Value {
    json!({
        "client_id": c.client_id(),
        "entity_type": c.entity_type().as_str(),
        "organization_id": c.organization_id(),
        "organization": c.organization(),
        "registration_model": c.registration_model().as_str(),
        "status": c.status(),
        "admitted_at": c.admitted_at(),
        "last_validated": c.last_validated(),
    })
}

fn client_line(c: &RegisteredClient) -> String {
    format!(
        "{}  organization: {}  model: {}  status: {} since {}",
        c.client_id(),
        c.organization_id().unwrap_or("none"),
        c.registration_model().as_str(),
        c.status().kind.as_str(),
        rfc3339(c.status().since)
    )
}

/// Runs one registry subcommand.
pub async fn run(args: RegistryArgs) -> Exit {
    let json = args.json;
    let registry = match Registry::open(&args.url).await {
        Ok(r) => r,
        Err(e) => {
            let exit = if e.is_transient() {
                Exit::Transient
            } else {
                Exit::Usage
            };
            return usage_failure("registry", json, exit, &e.to_string());
        }
    };
    let result = command(&registry, args.command, json).await;
    registry.close().await;
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let exit = match exit_for(&e) {
                Exit::NotTrusted => Exit::Usage,
                other => other,
            };
            usage_failure("registry", json, exit, &e.to_string())
        }
    }
}

async fn command(
    registry: &Registry,
    command: RegistryCommand,
    json: bool,
) -> Result<Exit, oidfed::Error> {
    match command {
        RegistryCommand::Orgs => {
            let orgs = registry.organizations().await?;
            if json {
                print_json(&json!({"oidfed": "registry-orgs/1", "organizations": orgs}));
            } else {
                for o in &orgs {
                    out!(
                        "{}  {}  clients: {} ({} active){}",
                        o.organization_id,
                        o.name.as_deref().unwrap_or("-"),
                        o.clients,
                        o.active_clients,
                        o.offboarded_at
                            .map(|t| format!("  offboarded {}", rfc3339(t)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        RegistryCommand::Clients { org } => {
            let clients = match &org {
                Some(o) => registry.clients_of(o.as_str()).await?,
                None => registry.clients().await?,
            };
            if json {
                let list: Vec<Value> = clients.iter().map(client_json).collect();
                print_json(&json!({"oidfed": "registry-clients/1", "clients": list}));
            } else {
                for c in &clients {
                    out!("{}", client_line(c));
                }
            }
        }
        RegistryCommand::Show { client_id } => {
            let Some(c) = registry.client(client_id.as_str()).await? else {
                return Ok(usage_failure(
                    "registry",
                    json,
                    Exit::NotTrusted,
                    &format!("{client_id} is not in the registry"),
                ));
            };
            let audit = registry.audit_of_client(client_id.as_str()).await?;
            if json {
                let mut doc = client_json(&c);
                doc["oidfed"] = json!("registry-client/1");
                doc["audit"] = json!(audit);
                print_json(&doc);
            } else {
                out!("{}", client_line(&c));
                if let Some(b) = c.organization() {
                    out!("  evidence of the binding: {:?}", b.evidence);
                }
                if let Some(e) = &c.status().evidence {
                    out!("  status evidence: {e:?}");
                }
                out!("  audit trail:");
                for a in &audit {
                    out!(
                        "    #{} {} {} by {} (chain {})",
                        a.seq,
                        rfc3339(a.at),
                        a.event.as_str(),
                        a.actor.as_str(),
                        a.chain_fingerprint.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        RegistryCommand::Export { format } => {
            if format == "csv" {
                out_raw!("{}", registry.access_review_csv().await?);
            } else {
                print_json(&registry.access_review_json().await?);
            }
        }
        RegistryCommand::Offboard {
            organization_id,
            reason,
        } => {
            let report = registry
                .offboard_organization(organization_id.as_str(), &reason)
                .await?;
            if json {
                print_json(&json!({
                    "oidfed": "registry-offboard/1",
                    "organization_id": report.organization_id,
                    "revoked": report.revoked,
                    "already_revoked": report.already_revoked,
                }));
            } else {
                out!(
                    "{}: {} client(s) revoked, {} already revoked",
                    report.organization_id,
                    report.revoked.len(),
                    report.already_revoked.len()
                );
                for c in &report.revoked {
                    out!("  revoked {c}");
                }
            }
        }
        RegistryCommand::Sweep { anchors, net } => {
            let resolver = match build_resolver(&net, &anchors, &ResolverOptions::default()).await {
                Ok(r) => r,
                Err(e) => return Ok(usage_failure("registry", json, e.exit, &e.message)),
            };
            let report = registry.sweep(&resolver).await?;
            if json {
                let mut doc = json!(report);
                doc["oidfed"] = json!("registry-sweep/1");
                print_json(&doc);
            } else {
                out!(
                    "swept: {} unchanged, {} changed, {} stale, {} suspended, {} revoked, {} not written",
                    report.unchanged,
                    report.changed,
                    report.stale,
                    report.suspended,
                    report.revoked,
                    report.not_written
                );
                for o in &report.outcomes {
                    out!("  {}: {:?}", o.client_id, o.outcome);
                }
            }
        }
    }
    Ok(Exit::Ok)
}
