//! The HTTP layer under [`super::HostPool`]: clients, address checks, one
//! attempt with caps, and body decoding.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::{FetchConfig, FetchOutcome, Page};
use crate::metrics::Metrics;

/// Whether an address is one a public shop must not use.
pub(super) fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64) // CGNAT 100.64/10
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_non_public(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg0 & 0xfe00) == 0xfc00 // unique local
                || (seg0 & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// A URL whose host is a literal private, loopback or link-local address,
/// for a shop not allowed on the private network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ip} is a private, loopback or link-local address; set allow_private_network = true on the shop if this is intended"
)]
pub(super) struct NonPublicAddress {
    /// The address the URL names.
    pub(super) ip: IpAddr,
}

/// Refuses a URL whose host is a literal non-public IP, unless allowed.
pub(super) fn check_literal_address(
    url: &Url,
    allow_private: bool,
) -> Result<(), NonPublicAddress> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_non_public(ip) {
        Err(NonPublicAddress { ip })
    } else {
        Ok(())
    }
}

/// A resolver that drops non-public addresses, so that neither DNS nor a
/// redirect can lead a public shop's crawl into the local network.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| !is_non_public(a.ip()))
                .collect();
            if public.is_empty() {
                let msg = format!(
                    "{host} resolves only to private, loopback or link-local addresses; set allow_private_network = true on the shop if this is intended"
                );
                return Err(msg.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

pub(super) fn client(
    config: &FetchConfig,
    allow_private: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut b = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .timeout(config.timeout)
        .connect_timeout(Duration::from_secs(10).min(config.timeout))
        // Redirects are followed by the pool, hop by hop, through robots.txt and pacing.
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .brotli(true)
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(2);
    if !allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build()
}

/// The result of one attempt.
pub(super) enum Attempt {
    /// Final: success, a definitive status, or a non-retryable failure;
    /// with the `Location` of a redirect.
    Done(FetchOutcome, Option<String>),
    /// Worth another try, maybe after the server's `Retry-After`.
    Retryable {
        outcome: FetchOutcome,
        retry_after: Option<Duration>,
    },
}

impl Attempt {
    /// Whether the server answered (any status), rather than the request
    /// failing or being refused.
    pub(super) fn answered(&self) -> bool {
        let outcome = match self {
            Attempt::Done(o, _) | Attempt::Retryable { outcome: o, .. } => o,
        };
        !matches!(
            outcome,
            FetchOutcome::Failed { .. } | FetchOutcome::Refused { .. }
        )
    }
}

fn error_reason(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_redirect() {
        "too many redirects".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&Utc) - Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

pub(super) async fn get(
    client: &reqwest::Client,
    url: &Url,
    config: &FetchConfig,
    validators: Option<&super::Validators>,
    metrics: &Metrics,
) -> Attempt {
    let failed = |reason: String| FetchOutcome::Failed {
        url: url.clone(),
        reason,
    };
    let mut request = client.get(url.clone());
    if let Some(v) = validators {
        if let Some(etag) = &v.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &v.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
    }
    let mut resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let reason = error_reason(&e);
            if reason.contains("allow_private_network") {
                // The resolver refused a private address: the shop's policy, not a failure.
                return Attempt::Done(
                    FetchOutcome::Refused {
                        url: url.clone(),
                        reason,
                    },
                    None,
                );
            }
            let outcome = failed(reason);
            return if e.is_timeout() || e.is_connect() {
                Attempt::Retryable {
                    outcome,
                    retry_after: None,
                }
            } else {
                Attempt::Done(outcome, None)
            };
        }
    };
    let status = resp.status().as_u16();
    metrics.page_fetched(status);
    if status == 304 {
        return Attempt::Done(FetchOutcome::NotModified { url: url.clone() }, None);
    }
    if (300..400).contains(&status) {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        return Attempt::Done(
            FetchOutcome::Status {
                url: url.clone(),
                status,
            },
            location,
        );
    }
    if !(200..300).contains(&status) {
        let outcome = FetchOutcome::Status {
            url: url.clone(),
            status,
        };
        return if matches!(status, 429 | 503 | 502 | 504) {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            Attempt::Retryable {
                outcome,
                retry_after,
            }
        } else {
            Attempt::Done(outcome, None)
        };
    }
    if let Some(len) = resp.content_length()
        && len > config.max_body as u64
    {
        return Attempt::Done(
            failed(format!(
                "body of {len} bytes is over the {} byte cap",
                config.max_body
            )),
            None,
        );
    }
    let final_url = resp.url().clone();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body =
        Vec::with_capacity(resp.content_length().unwrap_or(64 * 1024).min(1 << 20) as usize);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > config.max_body {
                    return Attempt::Done(
                        failed(format!(
                            "body is over the {} byte cap; aborted",
                            config.max_body
                        )),
                        None,
                    );
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Attempt::Retryable {
                    outcome: failed(error_reason(&e)),
                    retry_after: None,
                };
            }
        }
    }
    Attempt::Done(
        FetchOutcome::Fetched(Page {
            requested: url.clone(),
            url: final_url,
            status,
            headers,
            body,
            fetched_at: Utc::now(),
        }),
        None,
    )
}

/// Decodes a body to text: BOM, then the header's charset, then a
/// `<meta charset>` in the first 1024 bytes, else UTF-8.
pub(super) fn decode_body<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> std::borrow::Cow<'a, str> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(body) {
        return enc.decode_without_bom_handling(&body[bom_len..]).0;
    }
    let from_header = content_type.and_then(|ct| {
        ct.split(';')
            .filter_map(|p| p.trim().strip_prefix("charset="))
            .next()
            .and_then(|c| encoding_rs::Encoding::for_label(c.trim_matches('"').as_bytes()))
    });
    let enc = from_header
        .or_else(|| meta_charset(&body[..body.len().min(1024)]))
        .unwrap_or(encoding_rs::UTF_8);
    // Valid UTF-8 is borrowed, not copied.
    enc.decode_without_bom_handling(body).0
}

fn meta_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let lower = head.to_ascii_lowercase();
    let pos = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = &lower[pos + 8..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        .unwrap_or(rest.len());
    encoding_rs::Encoding::for_label(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert!(parse_retry_after("soon").is_none());
    }

    #[test]
    fn charsets_come_from_bom_header_or_meta() {
        let latin = b"<p>Caf\xe9 \x80 12,00</p>";
        assert_eq!(
            decode_body(latin, Some("text/html; charset=windows-1252")),
            "<p>Café € 12,00</p>"
        );
        let meta = b"<html><head><meta charset=\"iso-8859-15\"></head>\xa4</html>";
        assert!(decode_body(meta, Some("text/html")).contains('€'));
        let bom = b"\xef\xbb\xbfbonjour";
        assert_eq!(decode_body(bom, None), "bonjour");
    }
}
