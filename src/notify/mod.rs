//! Notification: the outbox written with each finding, a worker that
//! delivers it with retries, and the email templates.

pub mod mailer;
pub mod templates;

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError};
pub use mailer::{Mailer, SendError};

/// Attempts before an outbox row is declared dead.
pub const MAX_ATTEMPTS: i64 = 5;

/// What one delivery step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Nothing was due.
    Idle,
    /// The message was accepted by the transport.
    Sent {
        /// Outbox id.
        id: i64,
    },
    /// Sending failed; it will be retried at `next`.
    Retry {
        /// Outbox id.
        id: i64,
        /// Next attempt.
        next: DateTime<Utc>,
        /// Why.
        error: String,
    },
    /// Sending failed for the last time.
    Dead {
        /// Outbox id.
        id: i64,
        /// Why.
        error: String,
    },
}

/// Backoff before attempt `attempts + 1`: 1 min, 2, 4, 8… capped at 1 h.
pub fn retry_delay(attempts: i64) -> chrono::Duration {
    let minutes = 1i64 << attempts.clamp(0, 6);
    chrono::Duration::minutes(minutes.min(60))
}

/// Delivers at most one due outbox row.
pub async fn deliver_one(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<StepOutcome, StoreError> {
    let Some(item) = store.due_outbox(now, 1).await?.into_iter().next() else {
        return Ok(StepOutcome::Idle);
    };
    let message = templates::finding_email(&item);
    match mailer.send(&item, &message).await {
        Ok(()) => {
            store.mark_sent(item.id, Utc::now()).await?;
            Ok(StepOutcome::Sent { id: item.id })
        }
        Err(e) => {
            let error = e.to_string();
            if item.attempts + 1 >= MAX_ATTEMPTS {
                store.mark_failed(item.id, &error, None).await?;
                tracing::error!(outbox = item.id, to = %item.email, "giving up after {MAX_ATTEMPTS} attempts: {error}");
                Ok(StepOutcome::Dead { id: item.id, error })
            } else {
                let next = Utc::now() + retry_delay(item.attempts);
                store.mark_failed(item.id, &error, Some(next)).await?;
                tracing::warn!(outbox = item.id, to = %item.email, %next, "delivery failed, will retry: {error}");
                Ok(StepOutcome::Retry {
                    id: item.id,
                    next,
                    error,
                })
            }
        }
    }
}

/// Totals of a delivery pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainSummary {
    /// Messages sent.
    pub sent: usize,
    /// Messages that failed and wait for a retry.
    pub retrying: usize,
    /// Messages given up.
    pub dead: usize,
}

/// Delivers every row due now; a row that fails is not retried in the same pass.
pub async fn drain(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<DrainSummary, StoreError> {
    let mut s = DrainSummary::default();
    loop {
        match deliver_one(store, mailer, now).await? {
            StepOutcome::Idle => return Ok(s),
            StepOutcome::Sent { .. } => s.sent += 1,
            StepOutcome::Retry { .. } => s.retrying += 1,
            StepOutcome::Dead { .. } => s.dead += 1,
        }
    }
}
