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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use host::Host;
pub use host::HostKey;
pub use robots::RobotsVerdict;

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
    /// Retries after a 429, a 503, a time-out or a connection error.
    pub max_retries: u32,
    /// Longest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
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
            max_retries: 2,
            max_retry_after: Duration::from_secs(600),
            backoff_base: Duration::from_millis(500),
        }
    }
}

/// What a shop allows: its rate and whether it may live on a private address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostPolicy {
    /// Requests per second.
    pub rate: f64,
    /// Whether private, loopback and link-local addresses are accepted.
    pub allow_private_network: bool,
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

    /// The body as text: charset from the header, a BOM or `<meta charset>`,
    /// else UTF-8 with replacement characters.
    pub fn text(&self) -> String {
        net::decode_body(&self.body, self.header("content-type"))
    }
}

/// The result of fetching one URL.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// A 2xx response.
    Fetched(Page),
    /// A non-2xx status after retries.
    Status {
        /// The URL.
        url: Url,
        /// The status.
        status: u16,
    },
    /// robots.txt forbids the URL; it was not requested.
    Disallowed {
        /// The URL.
        url: Url,
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
            | FetchOutcome::Disallowed { url }
            | FetchOutcome::Refused { url, .. }
            | FetchOutcome::Failed { url, .. } => url,
        }
    }

    /// A one-line description for logs and summaries.
    pub fn describe(&self) -> String {
        match self {
            FetchOutcome::Fetched(p) => format!("{} {}", p.status, p.url),
            FetchOutcome::Status { url, status } => format!("HTTP {status} for {url}"),
            FetchOutcome::Disallowed { url } => format!("{url} is disallowed by robots.txt"),
            FetchOutcome::Refused { url, reason } => format!("{url} refused: {reason}"),
            FetchOutcome::Failed { url, reason } => format!("{url} failed: {reason}"),
        }
    }
}

/// The per-host politeness owner, shared by every task of a run.
pub struct HostPool {
    config: FetchConfig,
    public_client: reqwest::Client,
    private_client: reqwest::Client,
    hosts: Mutex<HashMap<HostKey, Arc<Host>>>,
}

/// Why the pool could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct PoolError(#[from] reqwest::Error);

impl HostPool {
    /// Builds the pool and its two HTTP clients (one refusing private addresses).
    pub fn new(config: FetchConfig) -> Result<HostPool, PoolError> {
        let public_client = net::client(&config, false)?;
        let private_client = net::client(&config, true)?;
        Ok(HostPool {
            config,
            public_client,
            private_client,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    fn host(&self, key: &HostKey, policy: HostPolicy) -> Arc<Host> {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Host::new(key.clone(), policy)))
            .clone()
    }

    /// The robots.txt verdict for the URL's host, fetched once per pool.
    pub async fn robots(&self, url: &Url, policy: HostPolicy) -> Arc<RobotsVerdict> {
        let Some(key) = HostKey::of(url) else {
            return Arc::new(RobotsVerdict::AllowAll);
        };
        let host = self.host(&key, policy);
        self.robots_for(&host, policy).await
    }

    async fn robots_for(&self, host: &Host, policy: HostPolicy) -> Arc<RobotsVerdict> {
        host.robots
            .get_or_init(|| async {
                let robots_url = host.key.robots_url();
                let outcome = self.request(host, &robots_url, policy).await;
                let verdict = RobotsVerdict::from_outcome(&outcome);
                if let Some(delay) = verdict.crawl_delay() {
                    host.slow_down_to(delay);
                }
                tracing::debug!(host = %host.key, verdict = verdict.summary(), "robots.txt");
                Arc::new(verdict)
            })
            .await
            .clone()
    }

    /// Fetches a URL politely: robots.txt first, then pacing, concurrency
    /// limit, retries and caps.
    pub async fn fetch(&self, url: &Url, policy: HostPolicy) -> FetchOutcome {
        let Some(key) = HostKey::of(url) else {
            return FetchOutcome::Failed {
                url: url.clone(),
                reason: "not an http(s) URL with a host".into(),
            };
        };
        let host = self.host(&key, policy);
        let robots = self.robots_for(&host, policy).await;
        if !robots.allows(url) {
            tracing::info!(%url, "skipped: disallowed by robots.txt");
            return FetchOutcome::Disallowed { url: url.clone() };
        }
        self.request(&host, url, policy).await
    }

    async fn request(&self, host: &Host, url: &Url, policy: HostPolicy) -> FetchOutcome {
        if let Err(reason) = net::check_literal_address(url, policy.allow_private_network) {
            return FetchOutcome::Refused {
                url: url.clone(),
                reason,
            };
        }
        let client = if policy.allow_private_network {
            &self.private_client
        } else {
            &self.public_client
        };
        let mut attempt = 0;
        loop {
            let outcome = {
                let _permit = host.acquire().await;
                net::get(client, url, &self.config).await
            };
            let retry_in = match &outcome {
                net::Attempt::Done(_) => None,
                net::Attempt::Retryable { retry_after, .. } => Some(*retry_after),
            };
            match (outcome, retry_in) {
                (net::Attempt::Done(o), _) => {
                    host.recover();
                    return o;
                }
                (net::Attempt::Retryable { outcome, .. }, _)
                    if attempt >= self.config.max_retries =>
                {
                    return outcome;
                }
                (net::Attempt::Retryable { outcome, .. }, Some(retry_after)) => {
                    attempt += 1;
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
                (net::Attempt::Retryable { outcome, .. }, None) => return outcome,
            }
        }
    }
}
