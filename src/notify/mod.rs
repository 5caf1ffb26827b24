//! Notification: the outbox written with each finding, a worker that
//! delivers it with retries, and the email templates.
//!
//! A delivery step groups what it claimed so that no subscriber is
//! flooded: the immediate rows of one shop and scan make one e-mail (one
//! finding alone keeps its own), the rows of a shop's first scan (its
//! baseline) one summary, the digest rows due together one digest. Each
//! subscriber gets at most [`Mailer::daily_cap`] messages in 24 hours: the
//! rest wait for the next daily digest. Nothing is sent to an address that
//! unsubscribed or paused its alerts: its rows are cancelled.

pub mod links;
pub mod mailer;
pub mod templates;

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Europe::Paris;

use crate::domain::{Delivery, Digest, Language};
use crate::store::{OutboxItem, Store, StoreError};
pub use mailer::{Mailer, SendError};
use templates::{Email, MailLinks};

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
    /// The subscriber reached the daily cap: the message's rows became
    /// daily digest rows due at `until`.
    Deferred {
        /// Outbox id.
        id: i64,
        /// When the digest that carries them is due.
        until: DateTime<Utc>,
    },
    /// The address unsubscribed or paused: its rows were cancelled.
    Cancelled {
        /// Outbox id.
        id: i64,
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

/// Rows claimed per step: enough for a whole scan's findings to be claimed
/// together, so that they make one message per shop and subscriber.
const CLAIM: i64 = 1000;

/// The links e-mails carry: under `public_url` and signed with the
/// database's key when a public URL is set, none otherwise (the database is
/// not asked).
pub async fn console_links(
    store: &dyn Store,
    public_url: Option<url::Url>,
) -> Result<links::Links, StoreError> {
    match public_url {
        Some(url) => links::Links::from_store(store, Some(url)).await,
        None => Ok(links::Links::new(None, Vec::new())),
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One finding's e-mail.
    Single,
    /// Several findings of one shop and scan.
    Shop,
    /// The summary of a shop's first scan.
    Baseline,
    /// A digest.
    Digest,
}

/// What rows sharing one message have in common (besides address and
/// language).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Digest(Digest),
    Baseline(String, Option<i64>),
    Shop(String, i64),
    Alone(i64),
}

/// One message to send: a finding's email, a shop's findings, a first
/// scan's summary or a digest.
struct Message<'a> {
    kind: Kind,
    rows: Vec<&'a OutboxItem>,
}

impl Message<'_> {
    fn ids(&self) -> Vec<i64> {
        self.rows.iter().map(|r| r.id).collect()
    }

    fn first_id(&self) -> i64 {
        self.rows.first().map_or(0, |r| r.id)
    }

    /// The local part of the Message-ID, derived from the row ids, so a
    /// message sent again after a crash carries the same Message-ID.
    fn message_id(&self) -> String {
        let (first, n) = (self.first_id(), self.rows.len());
        match (self.kind, self.rows.as_slice()) {
            (Kind::Single, [one]) => format!("outbox-{}.finding-{}", one.id, one.finding.id),
            (Kind::Shop, [one, ..]) => {
                format!("outbox-{first}.scan-{}-{n}", one.scan_id.unwrap_or(0))
            }
            (Kind::Baseline, _) => format!("outbox-{first}.baseline-{n}"),
            _ => format!("outbox-{first}.digest-{n}"),
        }
    }

    /// The e-mail, in the rows' language.
    fn render(&self, links: &MailLinks<'_>, now: DateTime<Utc>) -> Result<Email, askama::Error> {
        match (self.kind, self.rows.as_slice()) {
            (Kind::Single, [one]) => templates::finding_email(one, links),
            (Kind::Shop, rows) => templates::shop_email(rows, links),
            (Kind::Baseline, rows) => templates::baseline_email(rows, links),
            (_, rows) => templates::digest_email(rows, now, links),
        }
    }
}

/// Groups claimed rows into messages, in the order of their first row:
/// the digest rows of one address, language and digest; the immediate
/// rows of one address, language, shop and scan (one summary for a first
/// scan's rows); an immediate row without a scan alone.
fn group(items: &[OutboxItem]) -> Vec<Message<'_>> {
    let mut index: HashMap<(&str, Language, GroupKey), usize> = HashMap::new();
    let mut messages: Vec<Message<'_>> = Vec::new();
    for item in items {
        let shop = || item.finding.shop.clone();
        let (kind, key) = match (item.digest, item.baseline, item.scan_id) {
            (Some(d), _, _) => (Kind::Digest, GroupKey::Digest(d)),
            (None, true, scan) => (Kind::Baseline, GroupKey::Baseline(shop(), scan)),
            (None, false, Some(scan)) => (Kind::Shop, GroupKey::Shop(shop(), scan)),
            (None, false, None) => (Kind::Single, GroupKey::Alone(item.id)),
        };
        let n = *index
            .entry((item.email.as_str(), item.language, key))
            .or_insert_with(|| {
                messages.push(Message {
                    kind,
                    rows: Vec::new(),
                });
                messages.len() - 1
            });
        if let Some(m) = messages.get_mut(n) {
            m.rows.push(item);
        }
    }
    for m in &mut messages {
        if m.kind == Kind::Shop && m.rows.len() == 1 {
            m.kind = Kind::Single;
        }
    }
    messages
}

/// What delivery knows of an address before sending to it.
struct Recipient {
    /// Its link version.
    version: i64,
    /// Why nothing is sent to it (unsubscribed, paused).
    stopped: Option<&'static str>,
    /// The local time of its daily digest.
    digest_time: NaiveTime,
    /// Messages it may still get in the coming 24 hours.
    budget: i64,
}

async fn recipient(
    store: &dyn Store,
    mailer: &Mailer,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Recipient, StoreError> {
    let pref = store.preference(email).await?;
    let stopped = match &pref {
        Some(p) if p.unsubscribed_at.is_some() => Some("unsubscribed"),
        Some(p) if p.paused => Some("alerts paused"),
        _ => None,
    };
    let digest_time = match pref.as_ref().and_then(|p| p.delivery) {
        Some(Delivery::Daily(t) | Delivery::Weekly(_, t)) => t,
        _ => NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
    };
    let sent = if stopped.is_some() {
        0
    } else {
        let since = now - chrono::Duration::hours(24);
        store.messages_sent_since(email, since).await?
    };
    Ok(Recipient {
        version: pref.map_or(0, |p| p.link_version),
        stopped,
        digest_time,
        budget: i64::from(mailer.daily_cap()) - sent,
    })
}

/// Claims what is due at `now` and sends it, grouped (see the module
/// documentation). Returns what happened to each message; an empty list
/// when nothing was due.
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
    let messages = group(&items);
    let mut recipients: HashMap<&str, Recipient> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    let total = messages.len();
    for (n, m) in messages.iter().enumerate() {
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
        let r = match recipients.entry(first.email.as_str()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(recipient(store, mailer, &first.email, now).await?)
            }
        };
        if let Some(reason) = r.stopped {
            let cancelled = store.cancel_outbox_to(&first.email, reason).await?;
            mailer.metrics().outbox_cancelled(cancelled);
            tracing::info!(outbox = first.id, to = %first.email, cancelled, "not sent: {reason}");
            out.push(StepOutcome::Cancelled { id: first.id });
            continue;
        }
        if m.kind != Kind::Digest && r.budget <= 0 {
            let until = Delivery::Daily(r.digest_time).next_after(now, Paris);
            store.defer_outbox(&m.ids(), Digest::Daily, until).await?;
            mailer.metrics().alerts_throttled(m.rows.len());
            tracing::info!(outbox = first.id, to = %first.email, %until, rows = m.rows.len(),
                "daily cap reached: deferred to the next digest");
            out.push(StepOutcome::Deferred {
                id: first.id,
                until,
            });
            continue;
        }
        let links = MailLinks::new(mailer.links(), &first.email, r.version, now);
        let outcome = send(store, mailer, m, &links, now).await?;
        if matches!(outcome, StepOutcome::Sent { .. }) {
            r.budget -= 1;
            if matches!(m.kind, Kind::Shop | Kind::Baseline) {
                mailer.metrics().alerts_grouped(m.rows.len());
            }
        }
        out.push(outcome);
    }
    Ok(out)
}

/// Renders and sends one message, and records what happened to its rows.
async fn send(
    store: &dyn Store,
    mailer: &Mailer,
    m: &Message<'_>,
    links: &MailLinks<'_>,
    now: DateTime<Utc>,
) -> Result<StepOutcome, StoreError> {
    let Some(first) = m.rows.first().copied() else {
        return Ok(StepOutcome::Sent { id: 0 });
    };
    let ids = m.ids();
    let message_id = m.message_id();
    let sent = match m.render(links, now) {
        Ok(email) => mailer.send(first, &email, &message_id).await,
        Err(e) => Err(SendError::Render(e.to_string())),
    };
    let error = match sent {
        Ok(()) => {
            store.mark_sent(&ids, Utc::now(), &message_id).await?;
            return Ok(StepOutcome::Sent { id: first.id });
        }
        Err(e) => e.to_string(),
    };
    let attempts = m.rows.iter().map(|r| r.attempts).max().unwrap_or(0);
    if attempts + 1 >= MAX_ATTEMPTS {
        store.mark_failed(&ids, &error, None).await?;
        tracing::error!(outbox = first.id, to = %first.email, "giving up after {MAX_ATTEMPTS} attempts: {error}");
        Ok(StepOutcome::Dead {
            id: first.id,
            error,
        })
    } else {
        let next = now + retry_delay(attempts);
        store.mark_failed(&ids, &error, Some(next)).await?;
        tracing::warn!(outbox = first.id, to = %first.email, %next, "delivery failed, will retry: {error}");
        Ok(StepOutcome::Retry {
            id: first.id,
            next,
            error,
        })
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
    /// Messages over their subscriber's daily cap, deferred to a digest.
    pub deferred: usize,
    /// Messages not sent because their address unsubscribed or paused.
    pub cancelled: usize,
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
                StepOutcome::Deferred { .. } => s.deferred += 1,
                StepOutcome::Cancelled { .. } => s.cancelled += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Rule, Scope, Severity};
    use crate::store::FindingRow;

    fn row(id: i64, email: &str, shop: &str, scan: Option<i64>) -> OutboxItem {
        let t = DateTime::from_timestamp(1_773_220_000, 0).unwrap_or_default();
        OutboxItem {
            id,
            subscriber: "Ana".into(),
            email: email.into(),
            attempts: 0,
            digest: None,
            language: Language::Fr,
            scan_id: scan,
            baseline: false,
            finding: FindingRow {
                id: id + 100,
                rule: Rule::R3,
                severity: Severity::Report,
                legal_basis: "L310-3".into(),
                shop: shop.into(),
                brand: "Maison".into(),
                product_name: Some("Lampe".into()),
                url: "https://shop.example/p".into(),
                price_minor: 100,
                reference_minor: None,
                currency: "EUR".into(),
                percent: None,
                calendar: "national".into(),
                details: "{}".into(),
                opened_at: t,
                last_seen_at: t,
                closed_at: None,
                evidence_id: None,
                scope: Scope::Product,
                product_id: 1,
                dismissed_at: None,
                dismissed_reason: None,
            },
        }
    }

    fn shape(items: &[OutboxItem]) -> Vec<(Kind, Vec<i64>)> {
        group(items).iter().map(|m| (m.kind, m.ids())).collect()
    }

    #[test]
    fn one_message_per_address_shop_and_scan() {
        let mut items = vec![
            row(1, "a@x.fr", "A", Some(7)),
            row(2, "b@x.fr", "A", Some(7)),
            row(3, "a@x.fr", "A", Some(7)),
            row(4, "a@x.fr", "B", Some(7)),
            row(5, "a@x.fr", "A", Some(8)),
            row(6, "a@x.fr", "A", None),
            row(7, "a@x.fr", "A", None),
            row(8, "a@x.fr", "A", Some(7)),
        ];
        items[1].language = Language::En;
        assert_eq!(
            shape(&items),
            vec![
                (Kind::Shop, vec![1, 3, 8]),
                (Kind::Single, vec![2]),
                (Kind::Single, vec![4]),
                (Kind::Single, vec![5]),
                (Kind::Single, vec![6]),
                (Kind::Single, vec![7]),
            ]
        );
        let m = group(&items);
        assert_eq!(m[0].message_id(), "outbox-1.scan-7-3");
        assert_eq!(m[1].message_id(), "outbox-2.finding-102");
    }

    #[test]
    fn baseline_rows_make_one_summary_per_shop_and_digests_stay_digests() {
        let mut items = vec![
            row(1, "a@x.fr", "A", Some(7)),
            row(2, "a@x.fr", "B", Some(7)),
            row(3, "a@x.fr", "A", Some(7)),
            row(4, "a@x.fr", "A", Some(7)),
            row(5, "a@x.fr", "C", Some(7)),
        ];
        for r in &mut items[..3] {
            r.baseline = true;
        }
        items[3].digest = Some(Digest::Daily);
        items[4].digest = Some(Digest::Daily);
        assert_eq!(
            shape(&items),
            vec![
                (Kind::Baseline, vec![1, 3]),
                (Kind::Baseline, vec![2]),
                (Kind::Digest, vec![4, 5]),
            ]
        );
    }

    #[test]
    fn deferred_rows_wait_for_the_next_morning_in_paris() {
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Winter: 08:00 Paris is 07:00 UTC.
        assert_eq!(
            Delivery::Daily(eight).next_after(at("2026-03-11T09:00:00Z"), Paris),
            at("2026-03-12T07:00:00Z")
        );
        assert_eq!(
            Delivery::Daily(eight).next_after(at("2026-03-11T06:59:00Z"), Paris),
            at("2026-03-11T07:00:00Z")
        );
        // Summer: 06:00 UTC.
        assert_eq!(
            Delivery::Daily(eight).next_after(at("2026-07-01T22:30:00Z"), Paris),
            at("2026-07-02T06:00:00Z")
        );
    }
}
