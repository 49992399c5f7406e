//! Bottom-up trust chain discovery (OpenID Federation 1.0 §10.1).
//!
//! From the subject's Entity Configuration, every `authority_hints` entry is followed
//! (breadth-first, hints of one level fetched concurrently under a semaphore): fetch the
//! superior's Entity Configuration, read its fetch endpoint from that raw EC, fetch the
//! Subordinate Statement about the current entity. A path stops at the first configured
//! Trust Anchor, even one that has `authority_hints` of its own (§4.1 allows them; going on
//! is `stop_at_first_anchor(false)`). An entity already on a path is never added to it again (no loops,
//! §17.1), while every statement is fetched at most once per resolution (memoised), so
//! diamonds cost nothing extra. Depth, hints per entity, fetches and candidates are bounded.
//!
//! The walk does I/O and cheap checks only (syntax, subject, issuer, time, constraints of the
//! path so far); signatures are verified by [`crate::chain::validate_chain`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::cache::{StatementCache, StatementKey};
use crate::chain::TrustAnchor;
use crate::chain::validate::check_constraints;
use crate::entity_id::EntityId;
use crate::error::{Error, Limit, PathAttempt};
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::statement::{EntityStatement, Rule, StatementRules};

/// Limits and choices of a walk.
#[derive(Debug, Clone)]
pub(crate) struct WalkLimits {
    pub max_depth: usize,
    pub max_authority_hints: usize,
    pub max_fetches: usize,
    pub max_candidates: usize,
    pub max_concurrency: usize,
    pub max_path_steps: usize,
    pub stop_at_first_anchor: bool,
}

/// Partial paths kept per entity at each level of the walk.
const PATHS_PER_ENTITY: usize = 4;

type Memo = Arc<OnceCell<Result<Arc<EntityStatement>, Error>>>;

/// The statements one walk fetched, by (issuer, subject). Several walks may share one (a
/// registry sweep: each distinct statement fetched once however many clients share it).
pub(crate) type SharedMemo = Arc<std::sync::Mutex<HashMap<StatementKey, Memo>>>;

/// One resolution's discovery state.
pub(crate) struct Walk {
    pub fetcher: Arc<dyn Fetcher>,
    pub rules: Arc<StatementRules>,
    pub anchors: Arc<[TrustAnchor]>,
    pub limits: WalkLimits,
    pub now: i64,
    pub skew: i64,
    pub deadline: Instant,
    pub cache: Option<StatementCache>,
    /// Fetch every statement anew (and refresh the cache) instead of reading the cache.
    pub refresh: bool,
    /// The statements fetched (shared with other walks of the same sweep:
    /// [`Walk::share_memo`]).
    pub memo: SharedMemo,
    /// With a shared memo: the keys this walk asked for, so [`Walk::obtained`] gives this
    /// walk's statements and not the sweep's.
    own: Option<std::sync::Mutex<Vec<StatementKey>>>,
    /// The resolver's memo of verified bytes, attached to every statement fetched.
    pub verified: Option<Arc<crate::statement::verified::VerifiedMemo>>,
    fetches: AtomicUsize,
    /// Hops tried along paths, memoised or not: bounds the paths of a diamond-rich graph
    /// whose fetches are all shared.
    steps: AtomicUsize,
    semaphore: Semaphore,
}

/// What a walk found.
#[derive(Default)]
pub(crate) struct WalkOutcome {
    /// Candidate chains (statements, anchor EC last), not yet validated.
    pub candidates: Vec<Vec<Arc<EntityStatement>>>,
    /// Paths that ended without a candidate, and why.
    pub attempts: Vec<PathAttempt>,
    /// Entity Configurations of the superiors met, for §3.2 checks in validation.
    pub configurations: HashMap<EntityId, Arc<EntityStatement>>,
}

#[derive(Clone)]
struct Partial {
    path: Arc<Vec<EntityId>>,
    statements: Arc<Vec<Arc<EntityStatement>>>,
    top_ec: Arc<EntityStatement>,
}

impl Walk {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        fetcher: Arc<dyn Fetcher>,
        rules: Arc<StatementRules>,
        anchors: Arc<[TrustAnchor]>,
        limits: WalkLimits,
        now: i64,
        skew: i64,
        deadline: Instant,
        cache: Option<StatementCache>,
    ) -> Self {
        let permits = limits.max_concurrency.max(1);
        Self {
            fetcher,
            rules,
            anchors,
            limits,
            now,
            skew,
            deadline,
            cache,
            refresh: false,
            memo: Default::default(),
            own: None,
            verified: None,
            fetches: AtomicUsize::new(0),
            steps: AtomicUsize::new(0),
            semaphore: Semaphore::new(permits),
        }
    }

    fn is_anchor(&self, id: &EntityId) -> bool {
        self.anchors.iter().any(|a| a.id() == id)
    }

    /// Discovers candidate chains for `subject`. A failure to obtain the subject's own
    /// configuration is returned as is; every other failure is recorded per path.
    pub(crate) async fn run(self: Arc<Self>, subject: &EntityId) -> Result<WalkOutcome, Error> {
        let ec = self.entity_configuration(subject).await?;
        self.run_from(ec).await
    }

    /// Discovers candidate chains above a subject configuration already at hand (an
    /// Explicit Registration request, §12.2.2 step 3).
    pub(crate) async fn run_from(
        self: Arc<Self>,
        ec: Arc<EntityStatement>,
    ) -> Result<WalkOutcome, Error> {
        let subject = &ec.subject().clone();
        let mut out = WalkOutcome::default();
        if self.is_anchor(subject) {
            out.candidates.push(vec![ec.clone()]);
            if self.limits.stop_at_first_anchor {
                return Ok(out);
            }
        }
        let mut frontier = vec![Partial {
            path: Arc::new(vec![subject.clone()]),
            statements: Arc::new(vec![ec.clone()]),
            top_ec: ec,
        }];
        let mut depth = 0;
        while !frontier.is_empty() {
            if depth >= self.limits.max_depth {
                for p in &frontier {
                    out.attempts.push(PathAttempt {
                        path: p.path.to_vec(),
                        error: Error::LimitExceeded {
                            limit: Limit::ChainDepth,
                            value: self.limits.max_depth as u64,
                            context: Some(format!("{} has further superiors", p.top_ec.subject())),
                        },
                    });
                }
                break;
            }
            depth += 1;
            let mut tasks = JoinSet::new();
            // Which path each task extends, so a task that ends without a result (a panic)
            // is still recorded as a failed path.
            let mut spawned: HashMap<tokio::task::Id, Vec<EntityId>> = HashMap::new();
            for p in frontier.drain(..) {
                let hints = p.top_ec.authority_hints();
                if hints.len() > self.limits.max_authority_hints {
                    out.attempts.push(PathAttempt {
                        path: p.path.to_vec(),
                        error: Error::LimitExceeded {
                            limit: Limit::AuthorityHints,
                            value: self.limits.max_authority_hints as u64,
                            context: Some(format!(
                                "{} lists {} authority_hints; only the first {} were followed",
                                p.top_ec.subject(),
                                hints.len(),
                                self.limits.max_authority_hints
                            )),
                        },
                    });
                }
                // A hint listed twice is followed once.
                let mut seen = HashSet::new();
                let unique = hints.iter().filter(|h| seen.insert(*h));
                for hint in unique.take(self.limits.max_authority_hints) {
                    if self.steps.fetch_add(1, Ordering::Relaxed) >= self.limits.max_path_steps {
                        let mut path = p.path.to_vec();
                        path.push(hint.clone());
                        out.attempts.push(PathAttempt {
                            path,
                            error: Error::LimitExceeded {
                                limit: Limit::PathSteps,
                                value: self.limits.max_path_steps as u64,
                                context: Some(format!(
                                    "too many paths above {}: not followed",
                                    p.top_ec.subject()
                                )),
                            },
                        });
                        break;
                    }
                    if p.path.contains(hint) {
                        let mut path = p.path.to_vec();
                        path.push(hint.clone());
                        out.attempts.push(PathAttempt {
                            path,
                            error: p
                                .top_ec
                                .error(
                                    Rule::AuthorityHints,
                                    format!("authority hint {hint} is already on this path: loop not followed"),
                                )
                                .into(),
                        });
                        continue;
                    }
                    let walk = self.clone();
                    let p = p.clone();
                    let hint = hint.clone();
                    let mut path = p.path.to_vec();
                    path.push(hint.clone());
                    // Boxed: the step's state machine is kilobytes, and a task moves its
                    // future several times on the way in and out (measured: 4 copies).
                    let handle =
                        tasks.spawn(Box::pin(tracing::Instrument::in_current_span(async move {
                            let r = walk.superior_step(&p.top_ec, &hint).await;
                            (p, hint, r)
                        })));
                    spawned.insert(handle.id(), path);
                }
            }
            let mut next = Vec::new();
            while let Some(joined) = tasks.join_next_with_id().await {
                let (p, hint, result) = match joined {
                    Ok((_, done)) => done,
                    Err(e) => {
                        let path = spawned.remove(&e.id()).unwrap_or_default();
                        let entity = path.last().cloned().unwrap_or_else(|| subject.clone());
                        let detail = if e.is_panic() {
                            "the step panicked (a bug, or a panicking Fetcher)"
                        } else {
                            "the step was cancelled"
                        };
                        out.attempts.push(PathAttempt {
                            path,
                            error: Error::StepFailed {
                                entity,
                                detail: detail.into(),
                            },
                        });
                        continue;
                    }
                };
                let mut path = p.path.to_vec();
                path.push(hint.clone());
                let (hint_ec, ss) = match result {
                    Ok(pair) => pair,
                    Err(error) => {
                        out.attempts.push(PathAttempt { path, error });
                        continue;
                    }
                };
                out.configurations.insert(hint.clone(), hint_ec.clone());
                let mut statements = p.statements.to_vec();
                statements.push(ss);
                // Prune a path that already breaks a constraint.
                if let Err(error) = check_constraints(&statements, statements.len() - 1) {
                    out.attempts.push(PathAttempt { path, error });
                    continue;
                }
                let is_anchor = self.is_anchor(&hint);
                if is_anchor && out.candidates.len() < self.limits.max_candidates {
                    let mut chain = statements.clone();
                    chain.push(hint_ec.clone());
                    out.candidates.push(chain);
                }
                if is_anchor && self.limits.stop_at_first_anchor {
                    continue;
                }
                if hint_ec.authority_hints().is_empty() {
                    if !is_anchor {
                        out.attempts.push(PathAttempt {
                            path,
                            error: hint_ec
                                .error(
                                    Rule::TrustAnchor,
                                    "not a configured trust anchor and has no authority_hints: dead end",
                                )
                                .into(),
                        });
                    }
                    continue;
                }
                next.push(Partial {
                    path: Arc::new(path),
                    statements: Arc::new(statements),
                    top_ec: hint_ec,
                });
            }
            if out.candidates.len() >= self.limits.max_candidates {
                break;
            }
            // Deterministic order whatever order the fetches completed in.
            next.sort_by(|a, b| a.path.cmp(&b.path));
            // Paths meeting at the same entity share everything above it: a few of them
            // keep alternatives (a lower statement may break a constraint from above), more
            // only multiply paths at every level of a lattice of diamonds.
            let keep = self.limits.max_candidates.clamp(1, PATHS_PER_ENTITY);
            let mut per_entity: HashMap<EntityId, usize> = HashMap::new();
            next.retain(|p| {
                let n = per_entity.entry(p.top_ec.subject().clone()).or_default();
                *n += 1;
                *n <= keep
            });
            frontier = next;
        }
        out.attempts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// One hop up: the superior's EC, then its statement about `current`'s subject.
    async fn superior_step(
        &self,
        current: &EntityStatement,
        superior: &EntityId,
    ) -> Result<(Arc<EntityStatement>, Arc<EntityStatement>), Error> {
        let sup_ec = self.entity_configuration(superior).await?;
        let ss = self
            .subordinate_statement(&sup_ec, current.subject())
            .await?;
        Ok((sup_ec, ss))
    }

    /// The Entity Configuration of `id`: fetched once per resolution, from the cache when
    /// a fresh copy is held, checked for syntax, `iss == sub == id` and time.
    pub(crate) async fn entity_configuration(
        &self,
        id: &EntityId,
    ) -> Result<Arc<EntityStatement>, Error> {
        let key = StatementKey::configuration(id);
        let fetch = async {
            let req = FetchRequest::entity_configuration(id);
            let text = self.fetch_text(req, id, "entity configuration").await?;
            if let Some(same) = self
                .unchanged(&StatementKey::configuration(id), &text)
                .await
            {
                same.check_time(self.now, self.skew)?;
                return Ok(same);
            }
            let stmt = self.remembered(EntityStatement::parse_fetched(
                &text,
                &self.rules,
                None,
                self.now,
                self.skew,
            )?);
            if stmt.subject() != id {
                return Err(stmt
                    .error(
                        Rule::Subject,
                        format!("fetched as the configuration of {id}"),
                    )
                    .into());
            }
            if stmt.issuer() != id {
                return Err(stmt
                    .error(Rule::Issuer, "an Entity Configuration must have iss == sub")
                    .into());
            }
            stmt.check_time(self.now, self.skew)?;
            Ok(Arc::new(stmt))
        };
        self.memoised(key, fetch).await
    }

    /// The Subordinate Statement `superior` issues about `subject`, from the fetch endpoint
    /// in the superior's own configuration (§8.1).
    pub(crate) async fn subordinate_statement(
        &self,
        superior_ec: &EntityStatement,
        subject: &EntityId,
    ) -> Result<Arc<EntityStatement>, Error> {
        let superior = superior_ec.subject();
        let key = StatementKey::subordinate(superior, subject);
        let fetch = async {
            let endpoint = superior_ec
                .federation_endpoint("federation_fetch_endpoint")
                .ok_or_else(|| {
                    superior_ec.error(
                        Rule::Metadata,
                        "no federation_entity.federation_fetch_endpoint in its configuration",
                    )
                })?;
            let url = url::Url::parse(endpoint)
                .ok()
                .filter(|u| {
                    (u.scheme() == "https" || (self.rules.allow_http && u.scheme() == "http"))
                        && u.fragment().is_none()
                })
                .ok_or_else(|| {
                    superior_ec.error(
                        Rule::Metadata,
                        format!("federation_fetch_endpoint {endpoint:?} is not an https URL without fragment"),
                    )
                })?;
            let req = FetchRequest::subordinate_statement(&url, subject);
            let text = self
                .fetch_text(req, subject, "subordinate statement")
                .await?;
            let same_key = StatementKey::subordinate(superior, subject);
            if let Some(same) = self.unchanged(&same_key, &text).await {
                same.check_time(self.now, self.skew)?;
                return Ok(same);
            }
            let keys = Some(superior_ec.jwks());
            let stmt = self.remembered(EntityStatement::parse_fetched(
                &text,
                &self.rules,
                keys,
                self.now,
                self.skew,
            )?);
            if stmt.subject() != subject {
                return Err(stmt
                    .error(Rule::Subject, format!("requested with sub={subject}"))
                    .into());
            }
            if stmt.issuer() != superior {
                return Err(stmt
                    .error(
                        Rule::Issuer,
                        format!("fetched from the fetch endpoint of {superior}"),
                    )
                    .into());
            }
            stmt.check_time(self.now, self.skew)?;
            Ok(Arc::new(stmt))
        };
        self.memoised(key, fetch).await
    }

    /// Once per resolution (the memo), and across concurrent resolutions through the shared
    /// cache (single flight) unless this walk refreshes: then it fetches and stores.
    async fn memoised<F>(&self, key: StatementKey, fetch: F) -> Result<Arc<EntityStatement>, Error>
    where
        F: std::future::Future<Output = Result<Arc<EntityStatement>, Error>>,
    {
        let cell = self.memo_cell(&key);
        cell.get_or_init(|| async {
            match &self.cache {
                Some(cache) if !self.refresh => cache.get_or_fetch(&key, self.now, fetch).await,
                Some(cache) => {
                    let s = fetch.await?;
                    cache.insert(key.clone(), s.clone(), self.now).await;
                    Ok(s)
                }
                None => fetch.await,
            }
        })
        .await
        .clone()
    }

    /// On a refresh, the cached statement for `key` when `text` is exactly its bytes: the
    /// same bytes parse, under the same rules, to the same statement (its subject, issuer
    /// and placement were checked when it was cached; the caller checks its time again),
    /// so it is kept as it is, and what rests on it (a verified signature, a remembered
    /// resolution) still holds. Changed bytes are parsed and checked anew.
    async fn unchanged(&self, key: &StatementKey, text: &str) -> Option<Arc<EntityStatement>> {
        if !self.refresh {
            return None;
        }
        let cached = self.cache.as_ref()?.get_fresh(key, self.now).await?;
        (cached.raw().as_ref() == text).then_some(cached)
    }

    /// The statement this walk obtained for `key`, if it obtained one.
    pub(crate) fn obtained_for(&self, key: &StatementKey) -> Option<Arc<EntityStatement>> {
        let memo = self.memo.lock().ok()?;
        match memo.get(key)?.get() {
            Some(Ok(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn remembered(&self, stmt: EntityStatement) -> EntityStatement {
        match &self.verified {
            Some(m) => stmt.with_memo(m.clone()),
            None => stmt,
        }
    }

    /// Every statement this walk obtained, by key; `None` when a fetch it started failed
    /// or never finished (the resolution then rests on more than its statements).
    pub(crate) fn obtained(&self) -> Option<Vec<(StatementKey, Arc<EntityStatement>)>> {
        let memo = self.memo.lock().ok()?;
        let found = |k: &StatementKey, cell: &Memo| match cell.get() {
            Some(Ok(s)) => Some((k.clone(), s.clone())),
            _ => None,
        };
        match &self.own {
            Some(own) => own
                .lock()
                .ok()?
                .iter()
                .map(|k| memo.get(k).and_then(|cell| found(k, cell)))
                .collect(),
            None => memo.iter().map(|(k, cell)| found(k, cell)).collect(),
        }
    }

    /// Fetches through `memo`, shared with other walks (a sweep's).
    pub(crate) fn share_memo(&mut self, memo: SharedMemo) {
        self.memo = memo;
        self.own = Some(std::sync::Mutex::new(Vec::new()));
    }

    fn memo_cell(&self, key: &StatementKey) -> Memo {
        if let Some(own) = &self.own {
            let mut own = match own.lock() {
                Ok(o) => o,
                Err(poisoned) => poisoned.into_inner(),
            };
            if !own.contains(key) {
                own.push(key.clone());
            }
        }
        let mut memo = match self.memo.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        memo.entry(key.clone()).or_default().clone()
    }

    /// Fetches this walk has made (or refused at the limit): the share of the resolution's
    /// `max_fetches` already spent.
    pub(crate) fn fetches_made(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// One bounded fetch: counts against the fetch limit, waits for a concurrency permit,
    /// respects the resolution deadline, and returns the body of a 200 answer as text.
    pub(crate) async fn fetch_text(
        &self,
        mut req: FetchRequest,
        entity: &EntityId,
        what: &'static str,
    ) -> Result<String, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        if n >= self.limits.max_fetches {
            return Err(Error::LimitExceeded {
                limit: Limit::Fetches,
                value: self.limits.max_fetches as u64,
                context: Some(format!("{what} of {entity}")),
            });
        }
        let time_out = || Error::LimitExceeded {
            limit: Limit::ResolutionTime,
            value: 0,
            context: Some(format!("while fetching the {what} of {entity}")),
        };
        let _permit = tokio::time::timeout_at(self.deadline, self.semaphore.acquire())
            .await
            .map_err(|_| time_out())?
            .map_err(|_| time_out())?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(time_out());
        }
        req.time_left = Some(left);
        let url = req.url.clone();
        let response = match tokio::time::timeout(left, self.fetcher.fetch(req)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout {
                url: url.to_string(),
                limit_ms: u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
            }),
        }
        .map_err(|source| Error::Fetch {
            entity: entity.clone(),
            what,
            source,
        })?;
        if !response.has_content_type("application/entity-statement+jwt") && response.status == 200
        {
            tracing::debug!(url = %url, content_type = ?response.content_type, "unexpected content type (a soft check: the body's own typ decides)");
        }
        response.into_text(&url).map_err(|source| Error::Fetch {
            entity: entity.clone(),
            what,
            source,
        })
    }
}
