//! Settings: the optional `vigie.toml` file, overridden by `VIGIE_*`
//! environment variables, overridden by command-line flags.
//!
//! Secrets (an SMTP password) are never printed: [`Settings`] implements
//! `Debug` by hand and [`redact_url`] hides passwords in URLs.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

/// Default database when none is configured.
pub const DEFAULT_DATABASE: &str = "sqlite://vigie.db";
/// Default directory for `.eml` files when no SMTP server is configured.
pub const DEFAULT_MAIL_DIR: &str = "vigie-mail";
/// Default contact URL put in the User-Agent.
pub const DEFAULT_CONTACT_URL: &str = "https://github.com/vigie-watch/vigie";
/// Default sender address.
pub const DEFAULT_MAIL_FROM: &str = "Vigie <vigie@localhost>";
/// Default [`Settings::alerts_daily_cap`]: messages per subscriber and 24 hours.
pub const DEFAULT_ALERTS_DAILY_CAP: u32 = 20;

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// What the config file may contain; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub database: Option<String>,
    /// Directory of watchlists.
    pub watchlists: Option<PathBuf>,
    /// Contact URL put in the User-Agent, so shop owners can reach the operator.
    pub contact_url: Option<String>,
    /// The console's public URL (`https://vigie.example.org`), put in
    /// e-mails' links; none: e-mails carry no console link.
    pub public_url: Option<String>,
    /// Messages per subscriber and 24 hours (see [`Settings::alerts_daily_cap`]).
    pub alerts_daily_cap: Option<u32>,
    /// Mail settings.
    #[serde(default)]
    pub mail: MailFileConfig,
}

/// The `[mail]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailFileConfig {
    /// `smtp://host:port` (no TLS: loopback relays only), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://host:465` (implicit TLS); credentials in the URL.
    pub smtp_url: Option<String>,
    /// Directory of `.eml` files, used when no SMTP URL is set.
    pub dir: Option<PathBuf>,
    /// The `From:` address.
    pub from: Option<String>,
}

/// Values given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config FILE` / `VIGIE_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--database URL` / `VIGIE_DATABASE`.
    pub database: Option<String>,
    /// `--watchlists DIR` / `VIGIE_WATCHLISTS`.
    pub watchlists: Option<PathBuf>,
    /// `--smtp-url URL` / `VIGIE_SMTP_URL`.
    pub smtp_url: Option<String>,
    /// `--mail-dir DIR` / `VIGIE_MAIL_DIR`.
    pub mail_dir: Option<PathBuf>,
    /// `--contact-url URL` / `VIGIE_CONTACT_URL`.
    pub contact_url: Option<String>,
    /// `VIGIE_MAIL_FROM`.
    pub mail_from: Option<String>,
    /// `VIGIE_SMTP_USERNAME` (environment only: kept out of files and command lines).
    pub smtp_username: Option<String>,
    /// `VIGIE_SMTP_PASSWORD` (environment only; never logged).
    pub smtp_password: Option<String>,
    /// `VIGIE_SMTP_CA_FILE`: a PEM certificate authority to trust for the
    /// SMTP server's TLS, besides the system's (a private relay).
    pub smtp_ca_file: Option<PathBuf>,
    /// `VIGIE_PUBLIC_URL`: the console's public URL.
    pub public_url: Option<String>,
    /// `VIGIE_ALERTS_DAILY_CAP`, as written (checked by [`Settings::merge`]).
    pub alerts_daily_cap: Option<String>,
}

/// Where email goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// An SMTP server.
    Smtp(Url),
    /// A directory of `.eml` files.
    Dir(PathBuf),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(u) => write!(f, "Smtp({})", redact_url(u.as_str())),
            MailTransport::Dir(d) => write!(f, "Dir({})", d.display()),
        }
    }
}

/// The effective settings.
#[derive(Clone)]
pub struct Settings {
    /// Database URL.
    pub database: String,
    /// Watchlist directory.
    pub watchlists: PathBuf,
    /// Contact URL for the User-Agent.
    pub contact_url: String,
    /// Mail transport.
    pub mail: MailTransport,
    /// `From:` address.
    pub mail_from: String,
    /// SMTP user name and password, from the environment.
    pub smtp_credentials: Option<(String, String)>,
    /// Extra certificate authority for the SMTP server's TLS.
    pub smtp_ca_file: Option<PathBuf>,
    /// The console's public URL (http or https), from `public_url` in
    /// `vigie.toml` or `VIGIE_PUBLIC_URL`. When set, every e-mail links to
    /// the finding's page, "my alerts" and a one-click unsubscribe URL
    /// (also in its `List-Unsubscribe` header); when not, e-mails carry no
    /// console link.
    pub public_url: Option<Url>,
    /// At most this many messages to one subscriber in 24 hours
    /// (`alerts_daily_cap` in `vigie.toml`, `VIGIE_ALERTS_DAILY_CAP`;
    /// default 20, at least 1). Alerts over the cap are not dropped: they
    /// wait for the subscriber's next daily digest (08:00 Paris time unless
    /// the subscriber chose another time). Digests themselves are never held.
    pub alerts_daily_cap: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &redact_url(&self.database))
            .field("watchlists", &self.watchlists)
            .field("contact_url", &self.contact_url)
            .field("mail", &self.mail)
            .field("mail_from", &self.mail_from)
            .field(
                "smtp_credentials",
                &self.smtp_credentials.as_ref().map(|(u, _)| (u, "***")),
            )
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("alerts_daily_cap", &self.alerts_daily_cap)
            .finish()
    }
}

impl Settings {
    /// Resolves the settings: defaults < file < environment < command line.
    ///
    /// The file is `--config` when given (it must exist), else `vigie.toml`
    /// in the current directory when present.
    pub fn resolve(o: &Overrides) -> Result<Settings, ConfigError> {
        let file = match &o.config {
            Some(path) => read_file(path)?,
            None if Path::new("vigie.toml").is_file() => read_file(Path::new("vigie.toml"))?,
            None => FileConfig::default(),
        };
        Settings::merge(file, o)
    }

    /// Merges a parsed file with overrides.
    pub fn merge(file: FileConfig, o: &Overrides) -> Result<Settings, ConfigError> {
        let database = o
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.into());
        if !(database.starts_with("sqlite:")
            || database.starts_with("postgres://")
            || database.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "database URL {} is neither sqlite://FILE nor postgres://…",
                redact_url(&database)
            )));
        }
        let smtp = o.smtp_url.clone().or(file.mail.smtp_url);
        let mail = match smtp {
            Some(s) if !s.trim().is_empty() => {
                let url = Url::parse(s.trim()).map_err(|e| {
                    ConfigError::Invalid(format!(
                        "SMTP URL {} is not a URL ({e}); expected smtp://host:port",
                        redact_url(&s)
                    ))
                })?;
                if !matches!(url.scheme(), "smtp" | "smtps") {
                    return Err(ConfigError::Invalid(format!(
                        "SMTP URL {} must start with smtp:// (add ?tls=required for STARTTLS) or smtps://",
                        redact_url(&s)
                    )));
                }
                MailTransport::Smtp(url)
            }
            _ => MailTransport::Dir(
                o.mail_dir
                    .clone()
                    .or(file.mail.dir)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_MAIL_DIR)),
            ),
        };
        let contact_url = o
            .contact_url
            .clone()
            .or(file.contact_url)
            .unwrap_or_else(|| DEFAULT_CONTACT_URL.into());
        if contact_url.chars().any(|c| c.is_control() || c == ')') {
            return Err(ConfigError::Invalid(format!(
                "contact URL {contact_url:?} must not contain control characters or `)`"
            )));
        }
        let public_url = match o.public_url.clone().or(file.public_url) {
            Some(u) if !u.trim().is_empty() => Some(parse_public_url(u.trim())?),
            _ => None,
        };
        let alerts_daily_cap = match &o.alerts_daily_cap {
            Some(v) => v.trim().parse::<u32>().map_err(|_| {
                ConfigError::Invalid(format!(
                    "VIGIE_ALERTS_DAILY_CAP = {v:?} is not a whole number of messages"
                ))
            })?,
            None => file.alerts_daily_cap.unwrap_or(DEFAULT_ALERTS_DAILY_CAP),
        };
        if alerts_daily_cap == 0 {
            return Err(ConfigError::Invalid(
                "alerts_daily_cap must be at least 1 message a day".into(),
            ));
        }
        Ok(Settings {
            database,
            watchlists: o
                .watchlists
                .clone()
                .or(file.watchlists)
                .unwrap_or_else(|| PathBuf::from("watchlists")),
            contact_url,
            mail,
            mail_from: o
                .mail_from
                .clone()
                .or(file.mail.from)
                .unwrap_or_else(|| DEFAULT_MAIL_FROM.into()),
            smtp_credentials: o.smtp_username.clone().zip(o.smtp_password.clone()),
            smtp_ca_file: o.smtp_ca_file.clone(),
            public_url,
            alerts_daily_cap,
        })
    }

    /// The User-Agent Vigie sends: `Vigie/<version> (+<contact URL>)`.
    pub fn user_agent(&self) -> String {
        format!("Vigie/{} (+{})", crate::VERSION, self.contact_url)
    }
}

/// Checks the console's public URL: absolute http(s), no query or fragment
/// (links are made by appending paths to it).
pub fn parse_public_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| {
        ConfigError::Invalid(format!(
            "public URL {raw:?} is not a URL ({e}); expected https://host[/path]"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::Invalid(format!(
            "public URL {raw:?} must be an http:// or https:// URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || url.password().is_some() {
        return Err(ConfigError::Invalid(format!(
            "public URL {raw:?} must have no query, fragment or password"
        )));
    }
    Ok(url)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1),
        message: e.message().trim().to_string(),
    })
}

/// Hides the password of a URL (`postgres://u:secret@h` → `postgres://u:***@h`),
/// including a `password=` query parameter (`postgres://h/db?password=secret`,
/// which PostgreSQL URLs accept). A URL that does not parse keeps nothing
/// between `user:` and `@`.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut u) = Url::parse(raw) else {
        return redact_unparsed(raw);
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// [`redact_url`] for text that is not a URL: the authority's password, if
/// it has one, and any `password=` value are replaced.
fn redact_unparsed(raw: &str) -> String {
    let mut out = raw.to_string();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@').map(|i| start + i)
            && let Some(colon) = out[start..at].find(':').map(|i| start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(p) = out.find("password=").map(|i| i + "password=".len()) {
        let end = out[p..].find(['&', '#']).map_or(out.len(), |i| p + i);
        out.replace_range(p..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_beats_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "database = \"sqlite://file.db\"\ncontact_url = \"https://c.example\"\n[mail]\ndir = \"m\"\n",
        )
        .unwrap();
        let o = Overrides {
            database: Some("sqlite://cli.db".into()),
            ..Default::default()
        };
        let s = Settings::merge(file, &o).unwrap();
        assert_eq!(s.database, "sqlite://cli.db");
        assert_eq!(s.mail, MailTransport::Dir("m".into()));
        assert_eq!(
            s.user_agent(),
            format!("Vigie/{} (+https://c.example)", crate::VERSION)
        );
        let s = Settings::merge(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(s.database, DEFAULT_DATABASE);
        assert_eq!(s.mail, MailTransport::Dir(DEFAULT_MAIL_DIR.into()));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let o = Overrides {
            smtp_url: Some("smtp://user:hunter2@127.0.0.1:2525".into()),
            database: Some("postgres://vigie:s3cret@db/vigie".into()),
            ..Default::default()
        };
        let s = Settings::merge(FileConfig::default(), &o).unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://vigie:s3cret@db:5432/vigie"),
            "postgres://vigie:***@db:5432/vigie"
        );
        assert_eq!(
            redact_url("postgresql://db/vigie?user=v&password=s3cret&sslmode=require"),
            "postgresql://db/vigie?user=v&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://vigie@db/vigie"),
            "postgres://vigie@db/vigie"
        );
        assert_eq!(redact_url("sqlite://vigie.db"), "sqlite://vigie.db");
        // Not a URL (bad port), still no password.
        let shown = redact_url("postgres://vigie:s3cret@db:99999/vigie?password=s3cret");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.starts_with("postgres://vigie:***@db"), "{shown}");
    }

    #[test]
    fn bad_values_are_refused() {
        let o = Overrides {
            smtp_url: Some("http://mail".into()),
            ..Default::default()
        };
        assert!(Settings::merge(FileConfig::default(), &o).is_err());
        let o = Overrides {
            database: Some("mysql://x".into()),
            ..Default::default()
        };
        assert!(Settings::merge(FileConfig::default(), &o).is_err());
        for bad in [
            "ftp://x.example",
            "vigie.example.org",
            "https://x.example/?a=1",
        ] {
            let o = Overrides {
                public_url: Some(bad.into()),
                ..Default::default()
            };
            let e = Settings::merge(FileConfig::default(), &o).unwrap_err();
            assert!(e.to_string().contains("public URL"), "{bad}: {e}");
        }
        for bad in ["0", "many", "-3"] {
            let o = Overrides {
                alerts_daily_cap: Some(bad.into()),
                ..Default::default()
            };
            assert!(Settings::merge(FileConfig::default(), &o).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_url_and_daily_cap_from_file_and_environment() {
        let file: FileConfig =
            toml::from_str("public_url = \"https://vigie.example.org/\"\nalerts_daily_cap = 5\n")
                .unwrap();
        let s = Settings::merge(file, &Overrides::default()).unwrap();
        assert_eq!(
            s.public_url.as_ref().map(Url::as_str),
            Some("https://vigie.example.org/")
        );
        assert_eq!(s.alerts_daily_cap, 5);
        let file: FileConfig = toml::from_str("alerts_daily_cap = 5\n").unwrap();
        let o = Overrides {
            alerts_daily_cap: Some("7".into()),
            public_url: Some("http://127.0.0.1:8080/vigie".into()),
            ..Default::default()
        };
        let s = Settings::merge(file, &o).unwrap();
        assert_eq!(s.alerts_daily_cap, 7);
        assert!(s.public_url.is_some());
        let s = Settings::merge(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(s.alerts_daily_cap, DEFAULT_ALERTS_DAILY_CAP);
        assert_eq!(s.public_url, None);
    }
}
