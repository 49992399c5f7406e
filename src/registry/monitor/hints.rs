//! Faster than expiry when the federation says so: for every (superior, subordinate) link
//! on a registered client's chain whose superior publishes a
//! `federation_subordinate_events_endpoint`, the monitor polls it (once per link per poll,
//! bounded concurrency, the resolver's fetcher and limits) and marks every client whose
//! chain runs through that link for re-validation in this very pass.
//!
//! An event is new when it happened after the last successful validation of a client it
//! concerns (less the clock-skew leeway) and was not acted on before by this replica. The
//! event is a hint only: the client is re-validated from the federation's statements, and
//! that decides. A superior announcing a revocation it has not made (its statement still
//! valid) leaves the client active; one that removed its statement without announcing it
//! is still seen by the schedule.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Monitor, MonitorError};
use crate::cache::StatementKey;
use crate::entity_id::EntityId;
use crate::jose::KeySet;
use crate::registry::events::MonitorEvent;
use crate::registry::model::RegisteredClient;
use crate::registry::subordinate_events::{self, SubordinateEvent, SubordinateEventsError};
use crate::resolver::Resolver;
use crate::statement::EntityStatement;

/// Subordinate events remembered as acted on.
const MAX_SEEN: usize = 100_000;

/// One link to poll: who asks about whom, with the superior's keys, for which clients.
struct Link {
    superior: EntityId,
    subject: EntityId,
    keys: Option<KeySet>,
    clients: Vec<(String, i64)>,
}

impl Monitor {
    /// Whether the subordinate events endpoints are due for a poll at `now` (and, if so,
    /// books the next poll).
    pub(crate) fn events_due(&self, now: i64) -> bool {
        let s = &self.shared;
        let Some(every) = s.subordinate_events else {
            return false;
        };
        let mut st = s.state();
        if now < st.next_events_poll {
            return false;
        }
        let every = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
        st.next_events_poll = now.saturating_add(every);
        true
    }

    /// Polls every link of `clients`' chains; marks the clients named by new events for
    /// re-validation; returns how many new events were acted on.
    pub(crate) async fn poll_hints(
        &self,
        resolver: &Resolver,
        clients: &[RegisteredClient],
    ) -> usize {
        let s = self.shared.clone();
        let mut links: HashMap<(EntityId, EntityId), Link> = HashMap::new();
        for c in clients {
            let Some(record) = c.record() else { continue };
            for pair in record.path.windows(2) {
                let (subject, superior) = (&pair[0], &pair[1]);
                let link = links
                    .entry((superior.clone(), subject.clone()))
                    .or_insert_with(|| Link {
                        superior: superior.clone(),
                        subject: subject.clone(),
                        keys: superior_keys(resolver, &record.trust_chain, superior),
                        clients: Vec::new(),
                    });
                link.clients
                    .push((c.client_id().to_string(), c.last_validated()));
            }
        }
        let permits = Arc::new(Semaphore::new(s.concurrency));
        let mut tasks = JoinSet::new();
        for link in links.into_values() {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let resolver = resolver.clone();
            tasks.spawn(async move {
                let _permit = permit;
                let r = poll_link(&resolver, &link).await;
                (link, r)
            });
        }
        let skew = resolver.inner.skew;
        let mut acted = 0;
        while let Some(done) = tasks.join_next().await {
            let Ok((link, result)) = done else { continue };
            let events = match result {
                Ok(Some(events)) => events,
                Ok(None) => continue,
                Err(e) => {
                    s.failed(MonitorError::SubordinateEvents(e));
                    continue;
                }
            };
            let oldest_validation = link.clients.iter().map(|c| c.1).min().unwrap_or(0);
            let mut st = s.state();
            // Bounded: forgetting what was acted on costs at most one extra re-validation
            // for an event within the leeway of a client's last validation.
            if st.seen.len() >= MAX_SEEN {
                st.seen.clear();
            }
            let new: Vec<SubordinateEvent> = events
                .into_iter()
                .filter(|e| e.iat > oldest_validation.saturating_sub(skew))
                .filter(|e| {
                    st.seen.insert((
                        link.superior.to_string(),
                        link.subject.to_string(),
                        e.iat,
                        e.kind.as_str().to_string(),
                    ))
                })
                .collect();
            if new.is_empty() {
                continue;
            }
            acted += new.len();
            let named: Vec<String> = link.clients.iter().map(|c| c.0.clone()).collect();
            st.forced.extend(named.iter().cloned());
            drop(st);
            tracing::info!(
                target: "oidfed::monitor",
                issuer = %link.superior,
                subject = %link.subject,
                events = ?new.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
                clients = named.len(),
                "subordinate events: re-validating now"
            );
            s.publish(MonitorEvent::SubordinateEvents {
                issuer: link.superior.to_string(),
                subject: link.subject.to_string(),
                events: new,
                clients: named,
            });
        }
        acted
    }
}

/// The superior's configuration (from the statement cache, else fetched), then its events
/// about the subject. `Ok(None)`: it publishes no endpoint.
async fn poll_link(
    resolver: &Resolver,
    link: &Link,
) -> Result<Option<Vec<SubordinateEvent>>, SubordinateEventsError> {
    let inner = &resolver.inner;
    let key = StatementKey::configuration(&link.superior);
    let ec = match inner.statements.get_fresh(&key, inner.clock.now()).await {
        Some(ec) => ec,
        None => match resolver
            .walk_until(false, resolver.deadline())
            .entity_configuration(&link.superior)
            .await
        {
            Ok(ec) => ec,
            // Without its configuration there is no endpoint to poll; the schedule (which
            // re-validates through the same superior) reports the failure with evidence.
            Err(_) => return Ok(None),
        },
    };
    if subordinate_events::endpoint(&ec, inner.rules.allow_http, &link.subject).is_none() {
        return Ok(None);
    }
    // Only keys a validated chain vouches for may verify the events statement.
    let Some(keys) = &link.keys else {
        return Ok(None);
    };
    Ok(
        subordinate_events::fetch(resolver, &ec, &link.subject, keys)
            .await?
            .map(|e| e.events),
    )
}

/// The superior's Federation Entity Keys as the client's validated chain has them: from the
/// statement about the superior by its own superior, or the configured keys of an anchor.
fn superior_keys(resolver: &Resolver, chain: &[String], superior: &EntityId) -> Option<KeySet> {
    if let Some(a) = resolver
        .trust_anchors()
        .anchors()
        .iter()
        .find(|a| a.id() == superior)
    {
        return Some(a.keys().clone());
    }
    chain
        .iter()
        .filter_map(|jwt| EntityStatement::parse(jwt, &resolver.inner.rules).ok())
        .find(|st| st.subject() == superior && st.issuer() != superior)
        .map(|st| st.jwks().clone())
}
