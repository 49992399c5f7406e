//! oidfed — OpenID Federation 1.0 trust-chain resolution for authorization servers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod entity_id;
pub mod fetch;
pub mod json;

pub use clock::{Clock, FixedClock, SystemClock};
pub use entity_id::{EntityId, EntityIdError};
