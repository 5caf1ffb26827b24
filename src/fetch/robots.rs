//! robots.txt verdicts (RFC 9309), parsed by the `texting_robots` crate.
//!
//! Status handling follows RFC 9309 §2.3.1: a 2xx body is parsed; a 4xx
//! ("unavailable") allows everything; a 5xx or an unreachable host
//! ("unreachable") disallows everything for the run.

use std::time::Duration;

use texting_robots::Robot;
use url::Url;

use super::FetchOutcome;

/// The product token Vigie matches in robots.txt groups.
pub const PRODUCT_TOKEN: &str = "vigie";

/// Largest robots.txt read (RFC 9309 asks for at least 500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;

/// What robots.txt lets Vigie do on one host.
pub enum RobotsVerdict {
    /// The file was read and parsed.
    Rules(Box<Robot>),
    /// No usable file (4xx): everything is allowed.
    AllowAll,
    /// The file could not be fetched (5xx, network): nothing is allowed.
    DisallowAll {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Debug for RobotsVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl RobotsVerdict {
    /// Builds the verdict from the parsed bytes of a robots.txt file.
    pub fn parse(body: &[u8]) -> RobotsVerdict {
        let body = &body[..body.len().min(MAX_ROBOTS_BYTES)];
        match Robot::new(PRODUCT_TOKEN, body) {
            Ok(robot) => RobotsVerdict::Rules(Box::new(robot)),
            // An unparsable file has no rule for us: allow, as crawlers do.
            Err(_) => RobotsVerdict::AllowAll,
        }
    }

    /// Builds the verdict from the outcome of fetching `/robots.txt`.
    pub fn from_outcome(outcome: &FetchOutcome) -> RobotsVerdict {
        match outcome {
            FetchOutcome::Fetched(page) => RobotsVerdict::parse(&page.body),
            FetchOutcome::Status { status, .. } if (400..500).contains(status) => {
                RobotsVerdict::AllowAll
            }
            FetchOutcome::Status { status, .. } => RobotsVerdict::DisallowAll {
                reason: format!("robots.txt answered HTTP {status}"),
            },
            FetchOutcome::Disallowed { .. } | FetchOutcome::NotModified { .. } => {
                RobotsVerdict::AllowAll
            }
            FetchOutcome::Refused { reason, .. } | FetchOutcome::Failed { reason, .. } => {
                RobotsVerdict::DisallowAll {
                    reason: format!("robots.txt unreachable: {reason}"),
                }
            }
        }
    }

    /// Whether the URL may be fetched. `/robots.txt` itself always may.
    pub fn allows(&self, url: &Url) -> bool {
        if url.path() == "/robots.txt" {
            return true;
        }
        match self {
            RobotsVerdict::Rules(robot) => {
                let mut path = url.path().to_string();
                if let Some(q) = url.query() {
                    path.push('?');
                    path.push_str(q);
                }
                robot.allowed(&path)
            }
            RobotsVerdict::AllowAll => true,
            RobotsVerdict::DisallowAll { .. } => false,
        }
    }

    /// The `Crawl-delay` for Vigie's group, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            RobotsVerdict::Rules(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(3600.0))),
            _ => None,
        }
    }

    /// The `Sitemap:` URLs listed.
    pub fn sitemaps(&self) -> Vec<String> {
        match self {
            RobotsVerdict::Rules(robot) => robot.sitemaps.clone(),
            _ => Vec::new(),
        }
    }

    /// A short description for logs.
    pub fn summary(&self) -> String {
        match self {
            RobotsVerdict::Rules(r) => format!(
                "rules (crawl-delay {:?}, {} sitemap(s))",
                r.delay,
                r.sitemaps.len()
            ),
            RobotsVerdict::AllowAll => "allow all".into(),
            RobotsVerdict::DisallowAll { reason } => format!("disallow all: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(p: &str) -> Url {
        Url::parse("http://shop.example").unwrap().join(p).unwrap()
    }

    #[test]
    fn groups_longest_match_wildcards_and_end_anchor() {
        let txt = b"User-agent: *\nDisallow: /\n\nUser-agent: Vigie\nDisallow: /private/\nAllow: /private/ok\nDisallow: /*.pdf$\nCrawl-delay: 3\nSitemap: http://shop.example/sm.xml\n";
        let v = RobotsVerdict::parse(txt);
        assert!(v.allows(&u("/produits/a")));
        assert!(!v.allows(&u("/private/x")));
        assert!(v.allows(&u("/private/ok")));
        assert!(!v.allows(&u("/doc.pdf")));
        assert!(v.allows(&u("/doc.pdf?x=1")));
        assert!(v.allows(&u("/robots.txt")));
        assert_eq!(v.crawl_delay(), Some(Duration::from_secs(3)));
        assert_eq!(v.sitemaps(), vec!["http://shop.example/sm.xml".to_string()]);
    }

    #[test]
    fn a_bom_and_a_huge_file_are_handled() {
        let v = RobotsVerdict::parse(b"\xef\xbb\xbfUser-agent: *\nDisallow: /x\n");
        assert!(
            !v.allows(&u("/x/y")),
            "the BOM does not hide the first group"
        );
        // Rules past 500 KiB are not read (RFC 9309 §2.5).
        let mut big = b"User-agent: *\n".to_vec();
        big.extend(std::iter::repeat_n(b"# padding line\n".as_slice(), 40_000).flatten());
        big.extend_from_slice(b"Disallow: /late\n");
        assert!(big.len() > MAX_ROBOTS_BYTES);
        assert!(RobotsVerdict::parse(&big).allows(&u("/late")));
    }

    #[test]
    fn statuses_follow_rfc_9309() {
        let url = u("/robots.txt");
        let v = RobotsVerdict::from_outcome(&FetchOutcome::Status {
            url: url.clone(),
            status: 404,
        });
        assert!(v.allows(&u("/anything")));
        let v = RobotsVerdict::from_outcome(&FetchOutcome::Status {
            url: url.clone(),
            status: 503,
        });
        assert!(!v.allows(&u("/anything")));
        assert!(v.allows(&u("/robots.txt")));
        let v = RobotsVerdict::from_outcome(&FetchOutcome::Failed {
            url,
            reason: "x".into(),
        });
        assert!(!v.allows(&u("/anything")));
    }
}
