//! Transports: SMTP through lettre, or a directory of `.eml` files.

use std::path::PathBuf;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::links::Links;
use super::templates::Email;
use crate::config::{DEFAULT_ALERTS_DAILY_CAP, MailTransport, Settings};
use crate::metrics::Metrics;
use crate::store::OutboxItem;

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// An address is invalid.
    #[error("invalid address {0:?}: {1}")]
    Address(String, String),
    /// A template could not be rendered.
    #[error("cannot render the email: {0}")]
    Render(String),
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The `.eml` file could not be written.
    /// (The message, kept in the outbox as the failure's reason, carries
    /// the cause itself.)
    #[error("cannot write {}: {cause}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The IO error.
        cause: std::io::Error,
    },
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir(PathBuf),
}

/// Sends outbox messages, with the console links they carry, under the
/// daily cap, counting into its metrics.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    links: Links,
    daily_cap: u32,
    metrics: Metrics,
}

impl Mailer {
    /// Builds the transport the settings name.
    pub fn from_settings(s: &Settings) -> Result<Mailer, SendError> {
        let from: Mailbox = s
            .mail_from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                SendError::Address(s.mail_from.clone(), e.to_string())
            })?;
        let transport = match &s.mail {
            MailTransport::Dir(d) => Transport::Dir(d.clone()),
            MailTransport::Smtp(url) => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .map_err(|e| SendError::Smtp(e.to_string()))?
                    .timeout(Some(std::time::Duration::from_secs(30)));
                // Credentials from the environment, so they stay out of
                // files and command lines; never logged.
                if let Some((user, password)) = &s.smtp_credentials {
                    b = b.credentials(lettre::transport::smtp::authentication::Credentials::new(
                        user.clone(),
                        password.clone(),
                    ));
                }
                if let Some(ca) = &s.smtp_ca_file {
                    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
                    let pem = std::fs::read(ca).map_err(|e| {
                        SendError::Smtp(format!("cannot read {}: {e}", ca.display()))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        SendError::Smtp(format!("{} is not a PEM certificate: {e}", ca.display()))
                    })?;
                    let host = url.host_str().unwrap_or("localhost").to_string();
                    let params = TlsParameters::builder(host)
                        .add_root_certificate(cert)
                        .build_rustls()
                        .map_err(|e| SendError::Smtp(e.to_string()))?;
                    // A CA file means TLS: implicit for smtps://, STARTTLS otherwise.
                    b = b.tls(if url.scheme() == "smtps" {
                        Tls::Wrapper(params)
                    } else {
                        Tls::Required(params)
                    });
                }
                let t = b.build();
                Transport::Smtp(t)
            }
        };
        Ok(Mailer {
            transport,
            from,
            // No console link until `with_links` (the key is in the database).
            links: Links::new(None, Vec::new()),
            daily_cap: s.alerts_daily_cap,
            metrics: Metrics::default(),
        })
    }

    /// The same mailer, its e-mails carrying `links` (see
    /// [`super::console_links`]).
    pub fn with_links(self, links: Links) -> Mailer {
        Mailer { links, ..self }
    }

    /// The same mailer, counting into `metrics` (the process's, served on
    /// `/metrics`) instead of its own.
    pub fn with_metrics(self, metrics: Metrics) -> Mailer {
        Mailer { metrics, ..self }
    }

    /// The console links its e-mails carry.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Messages per subscriber and 24 hours.
    pub fn daily_cap(&self) -> u32 {
        if self.daily_cap == 0 {
            DEFAULT_ALERTS_DAILY_CAP
        } else {
            self.daily_cap
        }
    }

    /// The metrics it counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// `List-Unsubscribe` (RFC 2369): the one-click URL when the e-mail has
    /// one, and a `mailto:` to the sender always.
    fn list_unsubscribe(&self, email: &Email) -> String {
        let mailto = format!("<mailto:{}?subject=unsubscribe>", self.from.email);
        match &email.unsubscribe {
            Some(url) => format!("<{url}>, {mailto}"),
            None => mailto,
        }
    }

    /// A short description (no secrets).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Dir(d) => format!("the folder {}", d.display()),
        }
    }

    /// Builds the MIME message for an outbox row; `message_id` is the local
    /// part of its Message-ID, derived from the outbox row ids.
    pub fn build(
        &self,
        item: &OutboxItem,
        email: &Email,
        message_id: &str,
    ) -> Result<Message, SendError> {
        let address: lettre::Address =
            item.email
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    SendError::Address(item.email.clone(), e.to_string())
                })?;
        let to = Mailbox::new(Some(one_line(&item.subscriber)), address);
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&email.subject))
            .message_id(Some(format!("<{message_id}@{domain}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                one_line(&self.list_unsubscribe(email)),
            ));
        if email.unsubscribe.is_some() {
            // RFC 8058: a POST to the URL unsubscribes, no page to click.
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Build(e.to_string()))
    }

    /// Sends one message.
    pub async fn send(
        &self,
        item: &OutboxItem,
        email: &Email,
        message_id: &str,
    ) -> Result<(), SendError> {
        let message = self.build(item, email, message_id)?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(message)
                    .await
                    .map_err(|e| SendError::Smtp(e.to_string()))?;
            }
            Transport::Dir(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|cause| SendError::File {
                        path: dir.clone(),
                        cause,
                    })?;
                let path = dir.join(format!("outbox-{:06}.eml", item.id));
                let tmp = path.with_extension("eml.tmp");
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|cause| SendError::File {
                        path: tmp.clone(),
                        cause,
                    })?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|cause| SendError::File { path, cause })?;
            }
        }
        Ok(())
    }
}

/// Removes control characters (CR, LF…) so scraped text can never start a
/// new header line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
