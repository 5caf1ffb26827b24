//! A real SMTP server on loopback (mailin-embedded) that keeps what it
//! receives.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Response, Server, response};

/// A message the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    pub fn subject(&self) -> String {
        let parsed = mailparse::parse_mail(&self.raw).expect("parse mail");
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
            .map(|h| h.get_value())
            .unwrap_or_default()
    }

    /// The decoded parts, text then HTML.
    pub fn bodies(&self) -> Vec<(String, String)> {
        let parsed = mailparse::parse_mail(&self.raw).expect("parse mail");
        parsed
            .subparts
            .iter()
            .map(|p| (p.ctype.mimetype.clone(), p.get_body().expect("body")))
            .collect()
    }

    pub fn header(&self, name: &str) -> Vec<String> {
        let parsed = mailparse::parse_mail(&self.raw).expect("parse mail");
        parsed
            .headers
            .iter()
            .filter(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .collect()
    }
}

#[derive(Clone)]
struct Collector {
    /// Required user and password (AUTH PLAIN over STARTTLS), if any.
    auth: Option<(String, String)>,
    authed: bool,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn mail(&mut self, _ip: std::net::IpAddr, _domain: &str, _from: &str) -> Response {
        if self.auth.is_some() && !self.authed {
            response::AUTHENTICATION_REQUIRED
        } else {
            response::OK
        }
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        if self
            .auth
            .as_ref()
            .is_some_and(|(u, p)| u == user && p == password)
        {
            self.authed = true;
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
    }
    fn rcpt(&mut self, to: &str) -> Response {
        // Any address of the `rejected.example` domain is refused, for good.
        if to.ends_with("@rejected.example") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.mails.lock().unwrap().push(ReceivedMail {
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        });
        response::OK
    }
}

/// A real SMTP server (mailin-embedded) on 127.0.0.1, in a background thread.
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_on(TcpListener::bind("127.0.0.1:0").expect("bind smtp"))
    }

    /// A free loopback port nothing listens on yet (the server "down").
    pub fn free_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().unwrap().port()
    }

    /// The server on a given port (the server coming back).
    pub fn start_at(port: u16) -> SmtpServer {
        SmtpServer::start_on(TcpListener::bind(("127.0.0.1", port)).expect("bind smtp again"))
    }

    /// A server that offers STARTTLS (the test certificate of
    /// `tests/fixtures/tls/`) and accepts mail only after AUTH PLAIN with
    /// this user and password.
    pub fn start_tls_auth(user: &str, password: &str) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        SmtpServer::start_with(listener, Some((user.into(), password.into())))
    }

    fn start_on(listener: TcpListener) -> SmtpServer {
        SmtpServer::start_with(listener, None)
    }

    fn start_with(listener: TcpListener, auth: Option<(String, String)>) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let tls = auth.is_some();
        let handler = Collector {
            auth,
            authed: false,
            mails: mails.clone(),
            to: vec![],
            data: vec![],
        };
        let mut server = Server::new(handler);
        server.with_name("localhost").with_tcp_listener(listener);
        if tls {
            // mailin's rustls sees two crypto back-ends in the test build; pick one.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let dir = tls_dir();
            server
                .with_ssl(mailin_embedded::SslConfig::SelfSigned {
                    cert_path: dir.join("server.pem").display().to_string(),
                    key_path: dir.join("server.key").display().to_string(),
                })
                .expect("TLS config")
                .with_auth(mailin_embedded::AuthMechanism::Plain);
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpServer { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }
}

/// The test-only TLS material.
pub fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls")
}
