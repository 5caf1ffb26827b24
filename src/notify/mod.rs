//! Notification: the outbox written with each finding, a worker that
//! delivers it with retries, and the email templates.

pub mod links;
pub mod mailer;
pub mod templates;

use chrono::{DateTime, Utc};

use crate::store::{OutboxItem, Store, StoreError};
pub use mailer::{Mailer, SendError};

/// Attempts before an outbox row is declared dead.
pub const MAX_ATTEMPTS: i64 = 5;

/// What happened to one message of a delivery step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
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

/// How long a worker holds the rows it claimed: a worker that dies leaves
/// them to be claimed again after this.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// Rows claimed per step.
const CLAIM: i64 = 50;

/// One message to send: a finding's email, or a digest of several rows.
struct Message<'a> {
    rows: Vec<&'a OutboxItem>,
}

impl Message<'_> {
    fn ids(&self) -> Vec<i64> {
        self.rows.iter().map(|r| r.id).collect()
    }

    /// The local part of the Message-ID, derived from the row ids, so a
    /// message sent again after a crash carries the same Message-ID.
    fn message_id(&self) -> String {
        match self.rows.as_slice() {
            [one] if one.digest.is_none() => {
                format!("outbox-{}.finding-{}", one.id, one.finding.id)
            }
            rows => format!(
                "outbox-{}.digest-{}",
                rows.first().map_or(0, |r| r.id),
                rows.len()
            ),
        }
    }
}

/// Claims what is due at `now` and sends it: one email per immediate row,
/// one digest per subscriber for the digest rows due together. Returns what
/// happened to each message; an empty list when nothing was due.
pub async fn deliver_step(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<Vec<StepOutcome>, StoreError> {
    deliver_step_leased(store, mailer, now, LEASE).await
}

/// [`deliver_step`] with the claimed rows leased for `lease` (a fleet
/// worker's `--lease-seconds`): a worker that dies mid-step leaves its rows
/// to the others when the lease ends. A row sent just before such a death
/// and not yet marked sent is sent again: delivery is at least once in
/// that window of a few milliseconds, exactly once otherwise.
pub async fn deliver_step_leased(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<Vec<StepOutcome>, StoreError> {
    // The lease counts from the claim itself (a long pass calls this many
    // times with the same `now`), and this worker stops sending before it
    // ends: a row whose lease ended may be claimed by another worker.
    let lease_until = Utc::now().max(now) + lease;
    let send_until = std::time::Instant::now() + lease.to_std().unwrap_or_default().mul_f64(0.8);
    let items = store.claim_outbox(now, lease_until, CLAIM).await?;
    let mut messages: Vec<Message<'_>> = Vec::new();
    for item in &items {
        let joins = item.digest.is_some().then(|| {
            messages.iter_mut().find(|m| {
                m.rows.first().is_some_and(|r| {
                    r.digest == item.digest && r.email == item.email && r.language == item.language
                })
            })
        });
        match joins.flatten() {
            Some(m) => m.rows.push(item),
            None => messages.push(Message { rows: vec![item] }),
        }
    }
    let mut out = Vec::with_capacity(messages.len());
    let total = messages.len();
    for (n, m) in messages.into_iter().enumerate() {
        let Some(first) = m.rows.first().copied() else {
            continue;
        };
        if std::time::Instant::now() >= send_until {
            tracing::info!(
                left = total - n,
                "the lease on the claimed outbox rows is nearly over: the rest waits for the next pass"
            );
            break;
        }
        let email = if first.digest.is_some() {
            templates::digest_email(&m.rows, now)
        } else {
            templates::finding_email(first)
        };
        let ids = m.ids();
        let sent = match email {
            Ok(email) => mailer.send(first, &email, &m.message_id()).await,
            Err(e) => Err(SendError::Render(e.to_string())),
        };
        match sent {
            Ok(()) => {
                store.mark_sent(&ids, Utc::now(), &m.message_id()).await?;
                out.push(StepOutcome::Sent { id: first.id });
            }
            Err(e) => {
                let error = e.to_string();
                let attempts = m.rows.iter().map(|r| r.attempts).max().unwrap_or(0);
                if attempts + 1 >= MAX_ATTEMPTS {
                    store.mark_failed(&ids, &error, None).await?;
                    tracing::error!(outbox = first.id, to = %first.email, "giving up after {MAX_ATTEMPTS} attempts: {error}");
                    out.push(StepOutcome::Dead {
                        id: first.id,
                        error,
                    });
                } else {
                    let next = now + retry_delay(attempts);
                    store.mark_failed(&ids, &error, Some(next)).await?;
                    tracing::warn!(outbox = first.id, to = %first.email, %next, "delivery failed, will retry: {error}");
                    out.push(StepOutcome::Retry {
                        id: first.id,
                        next,
                        error,
                    });
                }
            }
        }
    }
    Ok(out)
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

/// Delivers every row due at `now`; a row that fails is not retried in the
/// same pass (its next attempt is later than `now`).
pub async fn drain(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<DrainSummary, StoreError> {
    drain_leased(store, mailer, now, LEASE).await
}

/// [`drain`] with rows leased for `lease` (see [`deliver_step_leased`]).
pub async fn drain_leased(
    store: &dyn Store,
    mailer: &Mailer,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<DrainSummary, StoreError> {
    let mut s = DrainSummary::default();
    loop {
        let step = deliver_step_leased(store, mailer, now, lease).await?;
        if step.is_empty() {
            return Ok(s);
        }
        for outcome in step {
            match outcome {
                StepOutcome::Sent { .. } => s.sent += 1,
                StepOutcome::Retry { .. } => s.retrying += 1,
                StepOutcome::Dead { .. } => s.dead += 1,
            }
        }
    }
}
