//! [`Registry::sweep`]: re-validate every registered client against the federation as it
//! is now, and apply what changed.
//!
//! A sweep fetches every statement anew, so a superior that removed its Subordinate
//! Statement (or changed it) is seen on this sweep, not when a cached copy expires. Each
//! distinct statement is fetched once per sweep however many clients share it (one
//! [`SweepMemo`]), and a statement whose bytes are unchanged costs no signature check (the
//! resolver's memo of verified bytes). Each client's outcome is committed in its own
//! transaction, so a sweep stopped at any point leaves every client in its old or its new
//! state.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Registry;
use super::admit::{Success, failure, success};
use super::error::RegistryError;
use super::model::{Actor, Evidence, RegisteredClient, RegistrationModel, StatusKind};
use super::store::Touch;
use crate::error::Error;
use crate::record::Change;
use crate::resolver::{Resolver, SweepMemo};

/// What a sweep found for one client.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-sweep_outcome.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::SweepOutcome;
/// fed.remove_ss("org", "rp"); // the superior no longer vouches for the client
/// let report = registry.sweep(&resolver).await.unwrap();
/// match report.outcome_of(fed.id("rp").as_str()).unwrap() {
///     SweepOutcome::Revoked { evidence } => assert!(evidence.rule.is_some()),
///     other => panic!("expected a revocation, got {other:?}"),
/// }
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SweepOutcome {
    /// Re-validated, nothing that matters changed.
    Unchanged,
    /// Re-validated with changes (applied, audited).
    Changed {
        /// What changed.
        changes: Vec<Change>,
    },
    /// A transient failure; the previous record is still within its expiry and kept.
    Stale {
        /// When to try again.
        retry_at: i64,
        /// What failed.
        evidence: Evidence,
    },
    /// A transient failure past the record's expiry: refused until it resolves again.
    Suspended {
        /// What failed.
        evidence: Evidence,
    },
    /// Trust lost for good (statement removed, policy or constraints failing, anchor gone).
    Revoked {
        /// Which statement and rule.
        evidence: Evidence,
    },
    /// The outcome could not be written (the database failed, or another writer changed
    /// the client first); the client keeps its previous state.
    NotWritten {
        /// Why.
        #[serde(serialize_with = "as_display")]
        error: Error,
    },
}

fn as_display<S: serde::Serializer>(e: &Error, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}

/// One client's line in a [`SweepReport`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-client_outcome.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// use oidfed::registry::{StatusKind, SweepOutcome};
/// let report = registry.sweep(&resolver).await.unwrap();
/// let line = &report.outcomes[0];
/// assert_eq!(line.client_id, fed.id("rp").as_str());
/// assert_eq!(line.previous, StatusKind::Active);
/// assert!(matches!(line.outcome, SweepOutcome::Unchanged));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ClientOutcome {
    /// The client.
    pub client_id: String,
    /// Its status before the sweep.
    pub previous: StatusKind,
    /// What the sweep found and applied.
    pub outcome: SweepOutcome,
}

/// What a sweep did.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
/// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
/// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
/// #     .build();
/// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
/// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-sweep_report.db", std::process::id()));
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
/// #     .await.unwrap().with_clock(fed.clock());
/// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
/// let report = registry.sweep(&resolver).await.unwrap();
/// assert_eq!((report.unchanged, report.revoked, report.skipped), (1, 0, 0));
/// assert!(report.statements_fetched >= 2);
/// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
/// # });
/// ```
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SweepReport {
    /// Per client, by client_id.
    pub outcomes: Vec<ClientOutcome>,
    /// Clients re-validated with no change.
    pub unchanged: usize,
    /// Clients re-validated with changes.
    pub changed: usize,
    /// Clients now stale.
    pub stale: usize,
    /// Clients now suspended.
    pub suspended: usize,
    /// Clients revoked by this sweep.
    pub revoked: usize,
    /// Clients whose outcome could not be written.
    pub not_written: usize,
    /// Clients not re-validated: revoked already, or not federation-registered.
    pub skipped: usize,
    /// Distinct statements fetched (each once per sweep).
    pub statements_fetched: usize,
    /// Signature checks the sweep made (statements whose bytes were not verified before).
    pub signature_checks: u64,
}

impl SweepReport {
    /// The outcome of `client_id`, if it was swept.
    ///
    /// See the [`SweepOutcome`] example.
    pub fn outcome_of(&self, client_id: &str) -> Option<&SweepOutcome> {
        self.outcomes
            .iter()
            .find(|o| o.client_id == client_id)
            .map(|o| &o.outcome)
    }
}

/// Clients read per page.
const PAGE: i64 = 500;

/// The outcome a failed re-validation's transition ([`super::transition::failure`]) gave
/// `client`: stale, suspended or revoked, with its evidence.
pub(crate) fn failure_outcome(client: &RegisteredClient, now: i64) -> SweepOutcome {
    let evidence = client.status.evidence.clone().unwrap_or_default();
    match client.status.kind {
        StatusKind::Stale => SweepOutcome::Stale {
            retry_at: client.status.retry_at.unwrap_or(now),
            evidence,
        },
        StatusKind::Suspended => SweepOutcome::Suspended { evidence },
        _ => SweepOutcome::Revoked { evidence },
    }
}

impl Registry {
    /// Re-validates every registered federation client now, against the federation as it
    /// is now (every statement fetched anew, once per sweep), and applies what changed:
    /// changes audited, stale / suspended / revoked with evidence, suspended or stale
    /// clients that resolve again made active. Revoked clients are not re-validated.
    ///
    /// A database failure reading the clients ends the sweep with that (typed) error; a
    /// failure writing one client's outcome is reported as [`SweepOutcome::NotWritten`]
    /// and the sweep goes on.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-sweep.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::StatusKind;
    /// let report = registry.sweep(&resolver).await.unwrap();
    /// assert_eq!(report.unchanged, 1);
    /// fed.remove_ss("org", "rp");
    /// let report = registry.sweep(&resolver).await.unwrap();
    /// assert_eq!(report.revoked, 1);
    /// assert_eq!(registry.status(&fed.id("rp")).await.unwrap().unwrap().kind, StatusKind::Revoked);
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn sweep(&self, resolver: &Resolver) -> Result<SweepReport, Error> {
        let memo = SweepMemo::new();
        let checks_before = resolver.signature_checks();
        let mut report = SweepReport::default();
        let permits = Arc::new(Semaphore::new(self.options.sweep_concurrency.max(1)));
        let mut after = String::new();
        loop {
            // The records stay in the database unless a client changed (see [`Read`]).
            let page = self.store.clients_page_lazy(&after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.client.client_id.clone();
            let mut tasks = JoinSet::new();
            for (i, lazy) in page.into_iter().enumerate() {
                let c = lazy.client;
                if c.status.is_revoked() || c.model != RegistrationModel::Federation {
                    report.skipped += 1;
                    continue;
                }
                let read = Read::Lazy {
                    digest: lazy.record_digest,
                };
                let (registry, resolver, memo, permits) = (
                    self.clone(),
                    resolver.clone(),
                    memo.clone(),
                    permits.clone(),
                );
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    (
                        i,
                        registry
                            .revalidate_pending(&resolver, c, read, &memo, Actor::Monitor)
                            .await,
                    )
                });
            }
            let mut lines = Vec::new();
            let mut touches = Vec::new();
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok((i, Pending::Done(line))) => lines.push((i, line)),
                    Ok((i, Pending::Touch(t))) => touches.push((i, t)),
                    Err(_) => {}
                }
            }
            // The page's unchanged clients: one transaction.
            let (order, touches): (Vec<usize>, Vec<Touch>) = touches.into_iter().unzip();
            lines.extend(order.into_iter().zip(self.commit_touches(touches).await));
            lines.sort_by_key(|l| l.0);
            for (_, line) in lines {
                match &line.outcome {
                    SweepOutcome::Unchanged => report.unchanged += 1,
                    SweepOutcome::Changed { .. } => report.changed += 1,
                    SweepOutcome::Stale { .. } => report.stale += 1,
                    SweepOutcome::Suspended { .. } => report.suspended += 1,
                    SweepOutcome::Revoked { .. } => report.revoked += 1,
                    SweepOutcome::NotWritten { .. } => report.not_written += 1,
                }
                report.outcomes.push(line);
            }
        }
        // Dynamic clients' organizations and manual clients' expiry (counted as skipped
        // above, where only federation clients are re-resolved).
        for line in self.sweep_registrations_with(resolver, &memo).await? {
            report.skipped = report.skipped.saturating_sub(1);
            match &line.outcome {
                SweepOutcome::Unchanged => report.unchanged += 1,
                SweepOutcome::Stale { .. } => report.stale += 1,
                SweepOutcome::Suspended { .. } => report.suspended += 1,
                SweepOutcome::Revoked { .. } => report.revoked += 1,
                SweepOutcome::NotWritten { .. } => report.not_written += 1,
                _ => {}
            }
            report.outcomes.push(line);
        }
        report.statements_fetched = memo.len();
        report.signature_checks = resolver.signature_checks().saturating_sub(checks_before);
        tracing::info!(
            target: "oidfed::registry",
            unchanged = report.unchanged,
            changed = report.changed,
            stale = report.stale,
            suspended = report.suspended,
            revoked = report.revoked,
            not_written = report.not_written,
            statements_fetched = report.statements_fetched,
            signature_checks = report.signature_checks,
            "sweep done"
        );
        Ok(report)
    }

    /// Re-validates one registered client with the statements of `memo` (fetched anew,
    /// once per memo) and commits the outcome. The building block of [`Registry::sweep`],
    /// for a monitor that schedules clients itself.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-revalidate.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
    /// #     .await.unwrap().with_clock(fed.clock());
    /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// use oidfed::registry::{Actor, SweepMemo, SweepOutcome};
    /// let client = registry.client(&fed.id("rp")).await.unwrap().unwrap();
    /// let memo = SweepMemo::new();
    /// let outcome = registry.revalidate(&resolver, client, &memo, Actor::Monitor).await;
    /// assert!(matches!(outcome.outcome, SweepOutcome::Unchanged));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    pub async fn revalidate(
        &self,
        resolver: &Resolver,
        client: RegisteredClient,
        memo: &SweepMemo,
        actor: Actor,
    ) -> ClientOutcome {
        let client_id = client.client_id.clone();
        let previous = client.status.kind;
        let refused = if client.status.is_revoked() {
            Some(RegistryError::Revoked {
                client_id: client_id.clone(),
                status: Box::new(client.status.clone()),
            })
        } else if client.model != RegistrationModel::Federation {
            Some(RegistryError::NotFederation {
                client_id: client_id.clone(),
                model: client.model,
            })
        } else {
            None
        };
        if let Some(error) = refused {
            return ClientOutcome {
                client_id,
                previous,
                outcome: SweepOutcome::NotWritten {
                    error: error.into(),
                },
            };
        }
        match self
            .revalidate_pending(resolver, client, Read::Whole, memo, actor)
            .await
        {
            Pending::Done(outcome) => outcome,
            Pending::Touch(t) => {
                let mut lines = self.commit_touches(vec![t]).await;
                lines.pop().unwrap_or(ClientOutcome {
                    client_id,
                    previous,
                    outcome: SweepOutcome::Unchanged,
                })
            }
        }
    }

    /// Re-validates `client` (a federation client, not revoked: the callers filter) and
    /// commits the outcome, except when nothing at all changed: then the only write due,
    /// the time of the validation, is returned for [`Registry::commit_touches`] to write
    /// with others in one transaction.
    pub(crate) async fn revalidate_pending(
        &self,
        resolver: &Resolver,
        client: RegisteredClient,
        read: Read,
        memo: &SweepMemo,
        actor: Actor,
    ) -> Pending {
        let previous = client.status.kind;
        let client_id = client.client_id.clone();
        match self
            .revalidate_inner(resolver, client, read, memo, actor)
            .await
        {
            Ok(Ok(outcome)) => Pending::Done(ClientOutcome {
                client_id,
                previous,
                outcome,
            }),
            Ok(Err(touch)) => Pending::Touch(touch),
            Err(error) => Pending::Done(ClientOutcome {
                client_id,
                previous,
                outcome: SweepOutcome::NotWritten { error },
            }),
        }
    }

    /// Writes the touches of re-validations that changed nothing, in one transaction:
    /// [`SweepOutcome::Unchanged`] for each client written, `NotWritten` (a conflict) for
    /// one another writer changed meanwhile, `NotWritten` for all on a database error.
    pub(crate) async fn commit_touches(&self, touches: Vec<Touch>) -> Vec<ClientOutcome> {
        let written = self.store.touch(&touches).await;
        touches
            .into_iter()
            .map(|t| {
                let outcome = match &written {
                    Ok(w) if w.contains(&t.client_id) => SweepOutcome::Unchanged,
                    Ok(_) => SweepOutcome::NotWritten {
                        error: RegistryError::Conflict {
                            client_id: t.client_id.clone(),
                        }
                        .into(),
                    },
                    Err(e) => SweepOutcome::NotWritten {
                        error: e.clone().into(),
                    },
                };
                ClientOutcome {
                    client_id: t.client_id,
                    previous: StatusKind::Active,
                    outcome,
                }
            })
            .collect()
    }

    /// The outcome, committed; or, when the client is active and the chain says exactly
    /// what its stored record says, the touch still to write.
    async fn revalidate_inner(
        &self,
        resolver: &Resolver,
        client: RegisteredClient,
        read: Read,
        memo: &SweepMemo,
        actor: Actor,
    ) -> Result<Result<SweepOutcome, Touch>, Error> {
        let id = resolver.entity_id(&client.client_id)?;
        let now = resolver.now();
        let result = resolver.resolve_fresh(&id, &client.entity_type, memo).await;
        let result = match result {
            Ok(r) if self.options.require_organization && r.organization.is_none() => {
                Err(RegistryError::NoOrganization {
                    client_id: client.client_id.clone(),
                    reason: "the chain no longer names an organization".into(),
                }
                .into())
            }
            other => other,
        };
        let active = client.status.kind == StatusKind::Active;
        let touch = |client: RegisteredClient| {
            Ok(Err(Touch {
                client_id: client.client_id,
                version: client.version,
                at: now,
            }))
        };
        // Read lazily: the stored record's digest says whether the new one says the same.
        if let (Ok(record), Read::Lazy { digest: Some(d) }) = (&result, &read) {
            if active
                && self
                    .store
                    .digests
                    .digest(&client.client_id, record)
                    .as_ref()
                    == Some(d)
            {
                return touch(client);
            }
        }
        // A row without a digest (written before schema 3) is written whole once, to get one.
        let keeps_digest = !matches!(read, Read::Lazy { digest: None });
        // Something to write, perhaps: the whole client, as stored (a lazy read has none).
        let client = match read {
            Read::Whole => client,
            Read::Lazy { .. } => match self.store.client(&client.client_id).await? {
                Some(c) if c.version == client.version => c,
                _ => {
                    return Err(RegistryError::Conflict {
                        client_id: client.client_id,
                    }
                    .into());
                }
            },
        };
        // The record says what the stored one says (whatever the digest said: another
        // version of this library may have written it): only the time to write.
        let same = match (&result, client.record.as_deref()) {
            (Ok(record), Some(old)) => old.same_content(record),
            _ => false,
        };
        if keeps_digest && active && same {
            return touch(client);
        }
        let (t, outcome) = match result {
            Ok(record) => {
                let t = success(
                    Some(&client),
                    record,
                    &client.entity_type,
                    now,
                    actor,
                    Success::Revalidation,
                    None,
                );
                let outcome = if t.changes.is_empty() {
                    SweepOutcome::Unchanged
                } else {
                    SweepOutcome::Changed {
                        changes: t.changes.clone(),
                    }
                };
                (t, outcome)
            }
            Err(error) => {
                let t = failure(&client, &error, now, self.options.retry_after, actor, None);
                let outcome = failure_outcome(&t.client, now);
                (t, outcome)
            }
        };
        self.store.apply(t.batch).await?;
        Ok(Ok(outcome))
    }
}

/// How the client given to a re-validation was read.
pub(crate) enum Read {
    /// With its record: unchanged when the new record says what the stored one says.
    Whole,
    /// Without it (a lazy page of the store): unchanged when the new record's
    /// digest is the stored digest; otherwise the client is read whole before the write. A
    /// row without a digest (written before schema 3) is written whole once.
    Lazy {
        /// The stored record's digest.
        digest: Option<String>,
    },
}

/// A re-validation before its last write: done (committed, or failed), or a touch to
/// commit with others ([`Registry::commit_touches`]).
pub(crate) enum Pending {
    Done(ClientOutcome),
    Touch(Touch),
}
