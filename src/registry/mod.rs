//! The client registry: every federation client durably bound to its accountable
//! organization, in a database every replica of an authorization server shares.
//!
//! The [`crate::Resolver`] decides trust from statements; the [`Registry`] remembers it,
//! per client_id and per organization, and is the one place every replica asks "is this
//! client active, with which keys". Storage is SQLite (cargo feature `sqlite`, on by
//! default: one server, the demo) or PostgreSQL (feature `postgres`: a fleet of replicas).
//!
//! * [`Registry::admit`] resolves a client, binds it to its organization and stores it;
//! * [`Registry::sweep`] re-validates every client against the federation as it is now,
//!   fetching each distinct statement once and verifying only bytes it has not verified
//!   before, and applies what changed ([`SweepReport`]);
//! * statuses ([`ClientStatus`]) say active, stale, suspended or revoked, with the reason,
//!   the [`Evidence`] (statement, rule) and since when. **A revoked client never becomes
//!   active again by itself**: [`Registry::admit`] refuses it with
//!   [`RegistryError::Revoked`]; only [`Registry::readmit`], an operator's deliberate act
//!   with a reason that goes into the audit trail, admits it anew;
//! * organizations are records ([`Registry::organizations`], [`Registry::clients_of`],
//!   [`Registry::offboard_organization`]);
//! * an append-only audit trail ([`AuditEntry`]) and an access-review export
//!   ([`Registry::access_review`]);
//! * per-client consent ([`Registry::grant`], [`Registry::check_consent`]);
//! * the request checks of an authorization server, reading the registry's current record
//!   on every call ([`Registry::verify_client_assertion`],
//!   [`Registry::verify_request_object`]) and a replay guard in the database
//!   ([`Registry::first_use`]).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use oidfed::registry::Registry;
//! use oidfed::testing::FederationBuilder;
//! use oidfed::{EntityType, Resolver};
//!
//! let fed = FederationBuilder::new("https://fed.example")
//!     .anchor("ta")
//!     .intermediate("org", &["ta"])
//!     .leaf("rp", &["org"])
//!     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
//!     .build();
//! let resolver = Resolver::builder()
//!     .trust_anchor(fed.id("ta").as_str(), &fed.public_jwks("ta"))
//!     .fetcher(fed.fetcher())
//!     .build()
//!     .unwrap();
//! let registry = Registry::open("sqlite::memory:").await.unwrap();
//! let client = registry
//!     .admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY)
//!     .await
//!     .unwrap();
//! assert_eq!(client.organization_id(), Some(fed.id("org").as_str()));
//! assert!(registry.status(&fed.id("rp")).await.unwrap().unwrap().is_active());
//! assert_eq!(registry.clients_of(&fed.id("org")).await.unwrap().len(), 1);
//! # });
//! ```

pub mod audit;
mod error;
pub mod model;

pub use audit::{AuditEntry, AuditEvent};
pub use error::RegistryError;
pub use model::{
    Actor, ClientStatus, Evidence, Organization, RegisteredClient, RegistrationModel, StatementRef,
    StatusKind,
};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod admit;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod consent;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod dynamic;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod dynamic_manage;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod dynamic_sweep;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod events;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod evidence;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod manual;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod monitor;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod notify;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod replay;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod requests;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod review;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod store;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod subordinate_events;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sweep;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod trail;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod transition;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use crate::resolver::SweepMemo;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use admit::OffboardReport;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use consent::ConsentCheck;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use dynamic::{DcrResponse, DuplicateSoftwareReport, DynamicRegistration};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use manual::{
    ManualError, ManualOnboarding, ManualOrganization, ManualRegistration, ManualRule,
    ModelReviewRow,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use replay::BoxFuture;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use requests::RegistryRequest;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use review::{FederationCandidate, ManualReview, ModelReview};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sweep::{ClientOutcome, SweepOutcome, SweepReport};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use trail::{REVIEW_CSV_HEADER, ReviewRow};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use handle::*;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod handle {
    use std::fmt;
    use std::sync::Arc;

    use super::model::{ClientStatus, Organization, RegisteredClient};
    use super::store::Store;
    use crate::clock::{Clock, SystemClock};
    use crate::error::Error;
    use crate::resolver::EntityType;

    /// How a registry behaves; [`Registry::open_with`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use oidfed::registry::{Registry, RegistryOptions};
    /// let mut options = RegistryOptions::default();
    /// assert!(options.admit_unknown);
    /// options.admit_unknown = false;
    /// let registry = Registry::open_with("sqlite::memory:", options).await.unwrap();
    /// assert!(!registry.options().admit_unknown);
    /// # });
    /// ```
    #[derive(Debug, Clone)]
    #[non_exhaustive]
    pub struct RegistryOptions {
        /// Whether the request checks admit a client the registry does not know yet
        /// (automatic registration, default true) or refuse it with
        /// [`super::RegistryError::UnknownClient`].
        pub admit_unknown: bool,
        /// Refuse clients whose chain names no organization, even when the resolver does
        /// not require one (default false; the resolver's strict organization mode refuses
        /// them anyway).
        pub require_organization: bool,
        /// Re-resolutions a sweep runs at once (default 8).
        pub sweep_concurrency: usize,
        /// After a transient failure, when to try again, in seconds (default 60; never
        /// after a stale record's expiry).
        pub retry_after: i64,
    }

    impl Default for RegistryOptions {
        fn default() -> Self {
            Self {
                admit_unknown: true,
                require_organization: false,
                sweep_concurrency: 8,
                retry_after: 60,
            }
        }
    }

    /// A handle on a registry database. Cheap to clone; every handle on the same database
    /// (in this process or another replica) sees every committed change at once.
    ///
    /// This example also serves the small accessors ([`Registry::engine`],
    /// [`Registry::schema_version`], [`Registry::client`], [`Registry::organizations`],
    /// [`Registry::close`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
    /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
    /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
    /// #     .build();
    /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
    /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-registry.db", std::process::id()));
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// use oidfed::{EntityType, registry::Registry};
    /// let url = format!("sqlite://{}", db.display());
    /// let registry = Registry::open(&url).await.unwrap();
    /// assert_eq!(registry.engine(), "sqlite");
    /// assert!(registry.schema_version().await.unwrap() >= 1);
    /// registry.admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
    /// // A second handle on the same file sees the client at once.
    /// let other = Registry::open(&url).await.unwrap();
    /// let client = other.client(&fed.id("rp")).await.unwrap().unwrap();
    /// assert_eq!(client.organization_id(), Some(fed.id("org").as_str()));
    /// let orgs = other.organizations().await.unwrap();
    /// assert_eq!((orgs[0].organization_id.as_str(), orgs[0].clients), (fed.id("org").as_str(), 1));
    /// other.close().await;
    /// registry.close().await;
    /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
    /// # });
    /// ```
    #[derive(Clone)]
    pub struct Registry {
        pub(crate) store: Arc<Store>,
        pub(crate) options: Arc<RegistryOptions>,
        pub(crate) clock: Arc<dyn Clock>,
    }

    impl fmt::Debug for Registry {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Registry")
                .field("engine", &self.store.engine.name())
                .field("options", &self.options)
                .finish()
        }
    }

    /// Something that names an Entity Type: an [`EntityType`] or its identifier.
    ///
    /// ```
    /// use oidfed::{EntityType, registry::AsEntityType};
    /// let rp = EntityType::OPENID_RELYING_PARTY;
    /// assert_eq!("openid_relying_party".as_entity_type(), rp);
    /// assert_eq!(String::from("openid_relying_party").as_entity_type(), rp);
    /// assert_eq!(rp.as_entity_type(), rp);
    /// ```
    pub trait AsEntityType {
        /// The Entity Type.
        fn as_entity_type(&self) -> EntityType;
    }

    impl AsEntityType for EntityType {
        fn as_entity_type(&self) -> EntityType {
            self.clone()
        }
    }

    impl AsEntityType for str {
        fn as_entity_type(&self) -> EntityType {
            EntityType::new(self)
        }
    }

    impl AsEntityType for String {
        fn as_entity_type(&self) -> EntityType {
            EntityType::new(self.as_str())
        }
    }

    impl Registry {
        /// Opens (creating and migrating when needed) the registry at `url`:
        /// `sqlite://PATH` (the file is created if missing), `sqlite::memory:` (this
        /// handle only), or `postgres://USER@HOST:PORT/DB`.
        ///
        /// ```
        /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-open.db", std::process::id()));
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// use oidfed::registry::Registry;
        /// let registry = Registry::open(&format!("sqlite://{}", db.display())).await.unwrap();
        /// assert!(db.exists());
        /// assert!(registry.clients().await.unwrap().is_empty());
        /// // Not a database URL: a typed error, no panic.
        /// assert!(Registry::open("mysql://nowhere").await.is_err());
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # });
        /// ```
        pub async fn open(url: &str) -> Result<Registry, Error> {
            Self::open_with(url, RegistryOptions::default()).await
        }

        /// [`Registry::open`] with options.
        ///
        /// ```
        /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-open_with.db", std::process::id()));
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// use oidfed::registry::{Registry, RegistryOptions};
        /// let mut options = RegistryOptions::default();
        /// options.sweep_concurrency = 2;
        /// let url = format!("sqlite://{}", db.display());
        /// let tuned = Registry::open_with(&url, options).await.unwrap();
        /// let plain = Registry::open(&url).await.unwrap();
        /// // Options belong to the handle; the data to the database both handles share.
        /// assert_eq!((tuned.options().sweep_concurrency, plain.options().sweep_concurrency), (2, 8));
        /// tuned.first_use("https://rp.example", "j1", 200, 100).await.unwrap();
        /// assert!(!plain.first_use("https://rp.example", "j1", 200, 150).await.unwrap());
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # });
        /// ```
        pub async fn open_with(url: &str, options: RegistryOptions) -> Result<Registry, Error> {
            let store = Store::open(url).await?;
            Ok(Registry {
                store: Arc::new(store),
                options: Arc::new(options),
                clock: Arc::new(SystemClock),
            })
        }

        /// The same registry judged by `clock` for the operations that take no resolver
        /// (offboarding, consent, the replay guard's default time); operations given a
        /// resolver use the resolver's clock.
        ///
        /// ```
        /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
        /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
        /// #     .build();
        /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
        /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-with_clock.db", std::process::id()));
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
        /// #     .await.unwrap().with_clock(fed.clock());
        /// # registry.admit(&resolver, &fed.id("rp"), &oidfed::EntityType::OPENID_RELYING_PARTY).await.unwrap();
        /// use oidfed::FixedClock;
        /// let registry = registry.with_clock(FixedClock::new(1_900_000_000));
        /// registry.offboard_client(&fed.id("rp"), "contract ended").await.unwrap();
        /// let trail = registry.audit_of_client(&fed.id("rp")).await.unwrap();
        /// assert_eq!(trail.last().unwrap().at, 1_900_000_000);
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # });
        /// ```
        pub fn with_clock(mut self, clock: impl Clock) -> Self {
            self.clock = Arc::new(clock);
            self
        }

        /// The options; see [`RegistryOptions`].
        pub fn options(&self) -> &RegistryOptions {
            &self.options
        }

        /// `sqlite` or `postgres`; see the [`Registry`] example.
        pub fn engine(&self) -> &'static str {
            self.store.engine.name()
        }

        /// The schema version of the database; see the [`Registry`] example.
        pub async fn schema_version(&self) -> Result<i64, Error> {
            Ok(super::store::schema_version(&self.store).await?)
        }

        /// The status of `client_id`, or `None` when it is not registered. Read from the
        /// database on every call.
        ///
        /// ```
        /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
        /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
        /// #     .build();
        /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
        /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-status.db", std::process::id()));
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
        /// #     .await.unwrap().with_clock(fed.clock());
        /// use oidfed::{EntityType, registry::StatusKind};
        /// assert!(registry.status(&fed.id("rp")).await.unwrap().is_none());
        /// registry.admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
        /// let status = registry.status(&fed.id("rp")).await.unwrap().unwrap();
        /// assert_eq!(status.kind, StatusKind::Active);
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # });
        /// ```
        pub async fn status(
            &self,
            client_id: &(impl AsRef<str> + ?Sized),
        ) -> Result<Option<ClientStatus>, Error> {
            Ok(self
                .store
                .client(client_id.as_ref())
                .await?
                .map(|c| c.status))
        }

        /// The registered client `client_id` (its current record, organization, status); see
        /// the [`Registry`] example.
        pub async fn client(
            &self,
            client_id: &(impl AsRef<str> + ?Sized),
        ) -> Result<Option<RegisteredClient>, Error> {
            Ok(self.store.client(client_id.as_ref()).await?)
        }

        /// The clients bound to `organization_id` (any status), by client_id.
        ///
        /// ```
        /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        /// # let fed = oidfed::testing::FederationBuilder::new("https://fed.example")
        /// #     .anchor("ta").intermediate("org", &["ta"]).leaf("rp", &["org"])
        /// #     .metadata("rp", "openid_relying_party", serde_json::json!({"client_name": "RP"}))
        /// #     .build();
        /// # let resolver = fed.resolver_builder(&["ta"]).build().unwrap();
        /// # let db = std::env::temp_dir().join(format!("oidfed-doc-{}-clients_of.db", std::process::id()));
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # let registry = oidfed::registry::Registry::open(&format!("sqlite://{}", db.display()))
        /// #     .await.unwrap().with_clock(fed.clock());
        /// use oidfed::EntityType;
        /// assert!(registry.clients_of(&fed.id("org")).await.unwrap().is_empty());
        /// registry.admit(&resolver, &fed.id("rp"), &EntityType::OPENID_RELYING_PARTY).await.unwrap();
        /// let clients = registry.clients_of(&fed.id("org")).await.unwrap();
        /// assert_eq!(clients[0].client_id(), fed.id("rp").as_str());
        /// # for ext in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{ext}", db.display())).ok(); }
        /// # });
        /// ```
        pub async fn clients_of(
            &self,
            organization_id: &(impl AsRef<str> + ?Sized),
        ) -> Result<Vec<RegisteredClient>, Error> {
            Ok(self.store.clients_of(organization_id.as_ref()).await?)
        }

        /// Every organization with its client counts; see the [`Registry`] example.
        pub async fn organizations(&self) -> Result<Vec<Organization>, Error> {
            Ok(self.store.organizations().await?)
        }

        /// Closes the handle's connections; see the [`Registry`] example.
        pub async fn close(&self) {
            self.store.close().await
        }
    }
}
