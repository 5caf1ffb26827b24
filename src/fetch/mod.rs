//! Polite fetching. [`HostPool`] is the one owner of politeness: per host it
//! holds the robots.txt verdict, a governor rate limiter, a concurrency
//! semaphore and the retry policy. Nothing else in Vigie sleeps or retries.
//!
//! A fetch returns a [`FetchOutcome`] value: a 404, a robots refusal or an
//! unreachable host is an outcome to record, not an `Err`.

mod host;
mod net;
pub mod robots;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::metrics::Metrics;
use host::Host;
pub use host::HostKey;
pub use robots::RobotsVerdict;

/// Decodes an HTML document's bytes: BOM, then the `Content-Type` charset,
/// then `<meta charset>`, else UTF-8.
pub fn decode_html(body: &[u8], content_type: Option<&str>) -> String {
    net::decode_body(body, content_type).into_owned()
}

/// Settings shared by every host.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The User-Agent header (`Vigie/<version> (+contact)`).
    pub user_agent: String,
    /// Largest body read, in bytes; larger responses are aborted.
    pub max_body: usize,
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Retries of one URL after a 429, a 503, a time-out or a connection error.
    pub max_retries: u32,
    /// Longest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
    /// Retries allowed per host per run, all URLs together.
    pub retry_budget: u32,
    /// How long a robots.txt verdict is kept.
    pub robots_ttl: Duration,
    /// How long a "disallow all" verdict (5xx, unreachable) is kept before retrying.
    pub robots_retry: Duration,
    /// First backoff delay (doubled at each retry, with jitter).
    pub backoff_base: Duration,
}

impl FetchConfig {
    /// Defaults for a given User-Agent.
    pub fn new(user_agent: String) -> Self {
        FetchConfig {
            user_agent,
            max_body: 10 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_retries: 3,
            max_retry_after: Duration::from_secs(600),
            retry_budget: 20,
            robots_ttl: Duration::from_secs(24 * 3600),
            robots_retry: Duration::from_secs(600),
            backoff_base: Duration::from_millis(500),
        }
    }
}

/// What a shop allows: its pace, and where its requests may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostPolicy {
    /// Requests per second.
    pub rate: f64,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// Whether private, loopback and link-local addresses are accepted.
    pub allow_private_network: bool,
    /// Whether redirects may lead to another site.
    pub offsite_redirects: bool,
}

impl HostPolicy {
    /// The policy a watchlist shop asks for.
    pub fn of(shop: &crate::catalog::Shop) -> HostPolicy {
        HostPolicy {
            rate: shop.rate,
            concurrency: shop.concurrency,
            allow_private_network: shop.allow_private_network,
            offsite_redirects: shop.follow_offsite_redirects,
        }
    }
}

/// Validators of a previous response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` received.
    pub etag: Option<String>,
    /// The `Last-Modified` received.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A response that was read.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL asked for.
    pub requested: Url,
    /// The final URL after redirects.
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from gzip/br but not from its charset.
    pub body: Vec<u8>,
    /// When the response was received.
    pub fetched_at: DateTime<Utc>,
}

impl Page {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The validators to send next time (`ETag`, `Last-Modified`).
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.header("etag").map(str::to_string),
            last_modified: self.header("last-modified").map(str::to_string),
        }
    }

    /// The body as text: charset from the header, a BOM or `<meta charset>`,
    /// else UTF-8 with replacement characters.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        net::decode_body(&self.body, self.header("content-type"))
    }
}

/// The result of fetching one URL.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// A 2xx response.
    Fetched(Page),
    /// 304: unchanged since the validators were issued.
    NotModified {
        /// The URL.
        url: Url,
    },
    /// A non-2xx status after retries.
    Status {
        /// The URL.
        url: Url,
        /// The status.
        status: u16,
    },
    /// robots.txt forbids the URL, or could not be read; it was not requested.
    Disallowed {
        /// The URL.
        url: Url,
        /// Which: a rule, or why robots.txt could not be read.
        reason: String,
    },
    /// The host resolves to an address the shop may not use.
    Refused {
        /// The URL.
        url: Url,
        /// Why.
        reason: String,
    },
    /// The request failed (connection, time-out, size cap, redirects).
    Failed {
        /// The URL.
        url: Url,
        /// Why.
        reason: String,
    },
}

impl FetchOutcome {
    /// The URL concerned.
    pub fn url(&self) -> &Url {
        match self {
            FetchOutcome::Fetched(p) => &p.requested,
            FetchOutcome::Status { url, .. }
            | FetchOutcome::NotModified { url }
            | FetchOutcome::Disallowed { url, .. }
            | FetchOutcome::Refused { url, .. }
            | FetchOutcome::Failed { url, .. } => url,
        }
    }

    /// A one-line description for logs and summaries.
    pub fn describe(&self) -> String {
        match self {
            FetchOutcome::Fetched(p) => format!("{} {}", p.status, p.url),
            FetchOutcome::Status { url, status } => format!("HTTP {status} for {url}"),
            FetchOutcome::NotModified { url } => format!("304 not modified {url}"),
            FetchOutcome::Disallowed { url, reason } => format!("{url} not fetched: {reason}"),
            FetchOutcome::Refused { url, reason } => format!("{url} refused: {reason}"),
            FetchOutcome::Failed { url, reason } => format!("{url} failed: {reason}"),
        }
    }
}

/// What one shop's page fetches met, counted by the fetch path as they
/// happen ([`HostPool::fetch_counted`]): robots.txt refusals and the
/// time the shop took to answer.
#[derive(Debug, Default)]
pub struct FetchTally {
    robots_refused: AtomicU64,
    answers: AtomicU64,
    answer_micros: AtomicU64,
}

impl FetchTally {
    /// Requests robots.txt refused (a rule, or robots.txt unreadable).
    pub fn robots_refused(&self) -> u64 {
        self.robots_refused.load(Ordering::Relaxed)
    }

    /// Mean time from request to the end of the body, over every request
    /// the shop answered (any status, retries included), in milliseconds;
    /// `None` when it answered none.
    pub fn mean_response_ms(&self) -> Option<f64> {
        let n = self.answers.load(Ordering::Relaxed);
        (n > 0).then(|| self.answer_micros.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0)
    }

    fn refused(&self) {
        self.robots_refused.fetch_add(1, Ordering::Relaxed);
    }

    fn answered(&self, took: Duration) {
        self.answers.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.answer_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The per-host politeness owner, shared by every task of a run.
pub struct HostPool {
    config: FetchConfig,
    public_client: reqwest::Client,
    private_client: reqwest::Client,
    hosts: Mutex<HashMap<HostKey, Arc<Host>>>,
    metrics: Metrics,
}

/// Why the pool could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct PoolError(#[from] reqwest::Error);

impl HostPool {
    /// Builds the pool and its two HTTP clients (one refusing private
    /// addresses). It counts into metrics of its own until
    /// [`HostPool::with_metrics`] gives it the process's.
    pub fn new(config: FetchConfig) -> Result<HostPool, PoolError> {
        let public_client = net::client(&config, false)?;
        let private_client = net::client(&config, true)?;
        Ok(HostPool {
            config,
            public_client,
            private_client,
            hosts: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
        })
    }

    /// The pool counting into `metrics` (the ones `/metrics` serves).
    pub fn with_metrics(self, metrics: Metrics) -> HostPool {
        HostPool { metrics, ..self }
    }

    /// The metrics this pool counts into; the scans and the scheduler that
    /// share the pool count theirs there too.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The settings in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Starts a new run: every host gets its retry budget back.
    pub fn new_run(&self) {
        for h in self.lock_hosts().values() {
            h.reset_budget(self.config.retry_budget);
        }
    }

    fn lock_hosts(&self) -> std::sync::MutexGuard<'_, HashMap<HostKey, Arc<Host>>> {
        match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The host's state, created on first use. Two shops on one host share
    /// it: the slower rate of the two applies to both.
    fn host(&self, key: &HostKey, policy: HostPolicy) -> Arc<Host> {
        let mut created = false;
        let host = self
            .lock_hosts()
            .entry(key.clone())
            .or_insert_with(|| {
                created = true;
                Arc::new(Host::new(key.clone(), policy, self.config.retry_budget))
            })
            .clone();
        if !created && policy.rate > 0.0 {
            host.slow_down_to(Duration::from_secs_f64(1.0 / policy.rate));
        }
        host
    }

    /// How long the URL's host must rest from now before its next request
    /// (see [`host`]); `None` for a host this pool never contacted. A fleet
    /// worker hands this to the next worker with the host's lease.
    pub fn rest(&self, url: &Url) -> Option<Duration> {
        let key = HostKey::of(url)?;
        self.lock_hosts().get(&key).map(|h| h.rest())
    }

    /// The robots.txt verdict for the URL's host, cached for
    /// [`FetchConfig::robots_ttl`] (a "disallow all" after a 5xx or a network
    /// error for [`FetchConfig::robots_retry`] only).
    pub async fn robots(&self, url: &Url, policy: HostPolicy) -> Arc<RobotsVerdict> {
        let Some(key) = HostKey::of(url) else {
            return Arc::new(RobotsVerdict::AllowAll);
        };
        let host = self.host(&key, policy);
        self.robots_for(&host, policy).await
    }

    async fn robots_for(&self, host: &Host, policy: HostPolicy) -> Arc<RobotsVerdict> {
        let mut cached = host.robots.lock().await;
        if let Some((at, verdict)) = cached.as_ref() {
            let ttl = match verdict.as_ref() {
                RobotsVerdict::DisallowAll { .. } => self.config.robots_retry,
                _ => self.config.robots_ttl,
            };
            if at.elapsed() < ttl {
                return verdict.clone();
            }
        }
        let robots_url = host.key.robots_url();
        // robots.txt: no redirect to another site, and at most 500 KiB.
        let (outcome, _) = self.request(host, &robots_url, policy, None, None).await;
        let verdict = Arc::new(RobotsVerdict::from_outcome(&outcome));
        if matches!(outcome, FetchOutcome::Refused { .. }) {
            // Refused by this shop's policy, not by the host: another shop on
            // the same host may allow it, so nothing is cached.
            return verdict;
        }
        if let Some(delay) = verdict.crawl_delay() {
            host.slow_down_to(delay);
        }
        tracing::debug!(host = %host.key, verdict = verdict.summary(), "robots.txt");
        *cached = Some((std::time::Instant::now(), verdict.clone()));
        verdict
    }

    /// Fetches a URL politely: robots.txt first, then pacing, concurrency
    /// limit, retries, redirects (same site unless the shop allows others)
    /// and caps.
    pub async fn fetch(&self, url: &Url, policy: HostPolicy) -> FetchOutcome {
        self.fetch_conditional(url, policy, None).await
    }

    /// Like [`HostPool::fetch`], sending `If-None-Match` / `If-Modified-Since`
    /// from `validators`; a 304 gives [`FetchOutcome::NotModified`].
    pub async fn fetch_conditional(
        &self,
        url: &Url,
        policy: HostPolicy,
        validators: Option<&Validators>,
    ) -> FetchOutcome {
        self.fetch_tallied(url, policy, validators, None).await
    }

    /// Like [`HostPool::fetch_conditional`], counting into `tally` the
    /// robots.txt refusals and the response times of the shop.
    pub async fn fetch_counted(
        &self,
        url: &Url,
        policy: HostPolicy,
        validators: Option<&Validators>,
        tally: &FetchTally,
    ) -> FetchOutcome {
        self.fetch_tallied(url, policy, validators, Some(tally))
            .await
    }

    async fn fetch_tallied(
        &self,
        url: &Url,
        policy: HostPolicy,
        validators: Option<&Validators>,
        tally: Option<&FetchTally>,
    ) -> FetchOutcome {
        let start = url.clone();
        let mut current = url.clone();
        let mut seen = vec![current.clone()];
        loop {
            let Some(key) = HostKey::of(&current) else {
                return FetchOutcome::Failed {
                    url: start,
                    reason: format!("{current} is not an http(s) URL with a host"),
                };
            };
            if let Err(refused) = net::check_literal_address(&current, policy.allow_private_network)
            {
                return FetchOutcome::Refused {
                    url: start,
                    reason: refused.to_string(),
                };
            }
            let host = self.host(&key, policy);
            let robots = self.robots_for(&host, policy).await;
            if !robots.allows(&current) {
                self.metrics.robots_refusal();
                if let Some(t) = tally {
                    t.refused();
                }
                let reason = match robots.as_ref() {
                    RobotsVerdict::DisallowAll { reason } => reason.clone(),
                    _ => "disallowed by robots.txt".to_string(),
                };
                tracing::info!(url = %current, "skipped: {reason}");
                return FetchOutcome::Disallowed { url: start, reason };
            }
            let (outcome, location) = self
                .request(&host, &current, policy, validators, tally)
                .await;
            let Some(location) = location else {
                return match outcome {
                    FetchOutcome::Fetched(mut page) => {
                        page.requested = start;
                        FetchOutcome::Fetched(page)
                    }
                    FetchOutcome::NotModified { .. } => FetchOutcome::NotModified { url: start },
                    FetchOutcome::Status { status, .. } => {
                        FetchOutcome::Status { url: start, status }
                    }
                    other => other,
                };
            };
            let next = match current.join(&location) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => u,
                _ => {
                    return FetchOutcome::Failed {
                        url: start,
                        reason: format!("redirect to an invalid location {location:?}"),
                    };
                }
            };
            if seen.contains(&next) {
                return FetchOutcome::Failed {
                    url: start,
                    reason: format!("redirect loop via {next}"),
                };
            }
            if seen.len() > self.config.max_redirects {
                return FetchOutcome::Failed {
                    url: start,
                    reason: format!("more than {} redirects", self.config.max_redirects),
                };
            }
            if !policy.offsite_redirects && !same_site(&start, &next) {
                return FetchOutcome::Failed {
                    url: start,
                    reason: format!(
                        "redirect to another site ({next}); set follow_offsite_redirects = true on the shop to follow it"
                    ),
                };
            }
            tracing::debug!(from = %current, to = %next, "redirect");
            seen.push(next.clone());
            current = next;
        }
    }

    /// One URL, with retries; a redirect comes back as its `Location`.
    async fn request(
        &self,
        host: &Host,
        url: &Url,
        policy: HostPolicy,
        validators: Option<&Validators>,
        tally: Option<&FetchTally>,
    ) -> (FetchOutcome, Option<String>) {
        if let Err(refused) = net::check_literal_address(url, policy.allow_private_network) {
            let refused = FetchOutcome::Refused {
                url: url.clone(),
                reason: refused.to_string(),
            };
            return (refused, None);
        }
        let client = if policy.allow_private_network {
            &self.private_client
        } else {
            &self.public_client
        };
        let mut attempt = 0;
        loop {
            let result = {
                let _permit = host.acquire().await;
                let asked = std::time::Instant::now();
                let r = net::get(client, url, &self.config, validators, &self.metrics).await;
                host.request_done();
                if let Some(t) = tally
                    && r.answered()
                {
                    t.answered(asked.elapsed());
                }
                r
            };
            match result {
                net::Attempt::Done(outcome, redirect) => {
                    host.recover();
                    return (outcome, redirect);
                }
                net::Attempt::Retryable {
                    outcome,
                    retry_after,
                } => {
                    host.slow_down_after_error();
                    if attempt >= self.config.max_retries || !host.spend_retry() {
                        tracing::warn!(url = %url, "giving up: {}", outcome.describe());
                        return (outcome, None);
                    }
                    attempt += 1;
                    self.metrics.retry();
                    let wait = retry_after
                        .map(|d| d.min(self.config.max_retry_after))
                        .unwrap_or_else(|| host::backoff(self.config.backoff_base, attempt));
                    tracing::warn!(
                        url = %url,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying after: {}",
                        outcome.describe()
                    );
                    host.penalise(wait);
                }
            }
        }
    }
}

/// Same site: the same host, or the same host with `www.` added or removed.
pub fn same_site(a: &Url, b: &Url) -> bool {
    let strip = |u: &Url| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    };
    strip(a).is_some() && strip(a) == strip(b)
}
