//! One host's politeness state.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};
use url::Url;

use super::{HostPolicy, RobotsVerdict};

/// Scheme, host and port: the unit of politeness.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostKey {
    scheme: String,
    host: String,
    port: u16,
}

impl HostKey {
    /// The key of an http(s) URL with a host.
    pub fn of(url: &Url) -> Option<HostKey> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(HostKey {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// `scheme://host:port/robots.txt`.
    pub fn robots_url(&self) -> Url {
        let raw = format!("{}://{}:{}/robots.txt", self.scheme, self.host, self.port);
        // Built from a URL that parsed; fall back to an obviously invalid URL otherwise.
        Url::parse(&raw).unwrap_or_else(|_| {
            Url::parse("http://invalid.invalid/robots.txt").unwrap_or_else(|_| unreachable!())
        })
    }
}

impl fmt::Display for HostKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A small safety margin added to every interval (1 %, at most 2 ms), so
/// that scheduling jitter on the way to the server never makes two
/// requests arrive closer than the interval the shop asked for.
fn with_margin(interval: Duration) -> Duration {
    interval + (interval / 100).min(Duration::from_millis(2))
}

/// A cached robots.txt verdict and when it was fetched.
pub(super) type CachedRobots = Option<(Instant, Arc<RobotsVerdict>)>;

pub(super) struct Host {
    pub(super) key: HostKey,
    pub(super) robots: tokio::sync::Mutex<CachedRobots>,
    limiter: RwLock<Arc<DefaultDirectRateLimiter>>,
    interval: RwLock<Duration>,
    concurrency: Semaphore,
    /// Earliest instant of the next request after a 429/503 or an error.
    not_before: Mutex<Option<Instant>>,
    /// Pace multiplier in hundredths: 100 = the shop's pace; doubles after an
    /// error (up to 8×) and comes back by a tenth after each success.
    slowdown: AtomicU32,
    /// Retries left in this run.
    budget: AtomicU32,
    /// Requests allowed in flight at once.
    concurrency_limit: u32,
}

fn limiter_for(interval: Duration) -> DefaultDirectRateLimiter {
    let quota = Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    RateLimiter::direct(quota)
}

impl Host {
    pub(super) fn new(key: HostKey, policy: HostPolicy, budget: u32) -> Host {
        let interval = with_margin(Duration::from_secs_f64(1.0 / policy.rate));
        Host {
            key,
            robots: tokio::sync::Mutex::new(None),
            limiter: RwLock::new(Arc::new(limiter_for(interval))),
            interval: RwLock::new(interval),
            concurrency: Semaphore::new(policy.concurrency.max(1) as usize),
            not_before: Mutex::new(None),
            slowdown: AtomicU32::new(100),
            budget: AtomicU32::new(budget),
            concurrency_limit: policy.concurrency.max(1),
        }
    }

    /// Called when a request has completed. With one request at a time
    /// (the default), the next one waits a full interval counted from this
    /// completion: the server received this request at the latest now, so it
    /// never sees two requests closer than the interval, however late the
    /// first one reached it (a new connection, a busy event loop). With
    /// several in flight, the rate limiter alone spaces their starts.
    pub(super) fn request_done(&self) {
        if self.concurrency_limit == 1 {
            let next = Instant::now() + self.interval();
            let mut nb = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            if nb.is_none_or(|t| t < next) {
                *nb = Some(next);
            }
        }
    }

    /// How long from now until this host may get its next request: the
    /// pause after the last response (or a Retry-After), and at least one
    /// interval, stretched while the pace is slowed after errors.
    pub(super) fn rest(&self) -> Duration {
        let nb = *self.not_before.lock().unwrap_or_else(|p| p.into_inner());
        let pause = nb.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        let slowdown = self.slowdown.load(Ordering::Relaxed);
        let paced = self
            .interval()
            .mul_f64(f64::from(slowdown.max(100)) / 100.0);
        pause.max(paced)
    }

    fn interval(&self) -> Duration {
        match self.interval.read() {
            Ok(i) => *i,
            Err(p) => *p.into_inner(),
        }
    }

    pub(super) fn reset_budget(&self, budget: u32) {
        self.budget.store(budget, Ordering::Relaxed);
    }

    /// Takes one retry from the run's budget; false when none is left.
    pub(super) fn spend_retry(&self) -> bool {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok()
    }

    /// After an error the host's pace halves (down to an eighth).
    pub(super) fn slow_down_after_error(&self) {
        let _ = self
            .slowdown
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                Some((m * 2).min(800))
            });
    }

    fn limiter(&self) -> Arc<DefaultDirectRateLimiter> {
        match self.limiter.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Slows the host to at most one request per `delay` (robots.txt
    /// `Crawl-delay`), when that is slower than the shop's rate.
    pub(super) fn slow_down_to(&self, delay: Duration) {
        let wanted = with_margin(delay);
        if wanted <= self.interval() {
            return;
        }
        let mut interval = match self.interval.write() {
            Ok(i) => i,
            Err(p) => p.into_inner(),
        };
        if wanted <= *interval {
            return;
        }
        *interval = wanted;
        let limiter = limiter_for(wanted);
        // The robots.txt request just went out: the next one waits a full interval.
        let _ = limiter.check();
        match self.limiter.write() {
            Ok(mut l) => *l = Arc::new(limiter),
            Err(p) => *p.into_inner() = Arc::new(limiter),
        }
        drop(interval);
        self.request_done();
    }

    /// Waits for a concurrency slot, any penalty, and the rate limiter.
    pub(super) async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = match self.concurrency.acquire().await {
            Ok(p) => p,
            Err(_) => unreachable!("the host semaphore is never closed"),
        };
        let pause = *self.not_before.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = pause {
            tokio::time::sleep_until(t.into()).await;
        }
        self.limiter().until_ready().await;
        let slowdown = self.slowdown.load(Ordering::Relaxed);
        if slowdown > 100 {
            // Slowed after errors: stretch the interval by the multiplier.
            let extra = self.interval().mul_f64(f64::from(slowdown - 100) / 100.0);
            tokio::time::sleep(extra).await;
        }
        permit
    }

    /// No request before `wait` from now (Retry-After or backoff).
    pub(super) fn penalise(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut nb = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
        if nb.is_none_or(|t| t < until) {
            *nb = Some(until);
        }
    }

    /// A request succeeded: the pace recovers by a tenth.
    pub(super) fn recover(&self) {
        let _ = self
            .slowdown
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                Some((m * 9 / 10).max(100))
            });
    }
}

/// Capped exponential backoff with ±25 % jitter.
pub(super) fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(10));
    let capped = exp.min(Duration::from_secs(300));
    let jitter = 0.75 + fastrand::f64() / 2.0;
    capped.mul_f64(jitter)
}
