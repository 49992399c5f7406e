//! Counting the signature checks a scope of work pays for (a monitor pass, a benchmark).
//!
//! Every cryptographic verification goes through [`super::KeySet::verify`], which calls
//! [`count_signature`]. The count goes to the counter of the task that runs the check, set
//! with [`count_signatures`]; outside such a scope nothing is counted and nothing is paid.
//! Verification never happens in a task spawned by the walk (the walk only fetches and does
//! cheap checks), so a scope around a resolution sees all of its checks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    static SIGNATURES: Arc<AtomicU64>;
}

/// Records one signature check in the current scope's counter, if any.
pub(crate) fn count_signature() {
    let _ = SIGNATURES.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
}

/// Runs `work` with every signature check it makes counted in `counter`.
pub(crate) async fn count_signatures<F: Future>(counter: Arc<AtomicU64>, work: F) -> F::Output {
    SIGNATURES.scope(counter, work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_only_inside_the_scope() {
        count_signature();
        let c = Arc::new(AtomicU64::new(0));
        count_signatures(c.clone(), async {
            count_signature();
            count_signature();
        })
        .await;
        count_signature();
        assert_eq!(c.load(Ordering::Relaxed), 2);
    }
}
