//! The resolution's deadline as the policy code sees it: checked between statements and
//! between parameters, so merging and applying a large policy (or a slow custom operator)
//! cannot run past the time a resolution has.

use tokio::time::Instant;

use super::error::{PolicyError, PolicyErrorKind as K};
use crate::error::Limit;

/// When the work must stop, and the configured timeout to report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    timeout_ms: u64,
}

impl Deadline {
    /// No deadline (the policy API used on its own).
    pub(crate) const NONE: Deadline = Deadline {
        at: None,
        timeout_ms: 0,
    };

    pub(crate) fn new(at: Option<Instant>, timeout_ms: u64) -> Self {
        Self { at, timeout_ms }
    }

    /// `Err` once the deadline has passed.
    pub(crate) fn check(&self, during: &str) -> Result<(), PolicyError> {
        match self.at {
            Some(at) if Instant::now() >= at => Err(PolicyError::new(
                K::LimitExceeded {
                    limit: Limit::ResolutionTime,
                    value: self.timeout_ms,
                },
                format!("the resolution ran out of time while {during}"),
            )),
            _ => Ok(()),
        }
    }
}
