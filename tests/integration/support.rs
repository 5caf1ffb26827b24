//! Test support: a real SMTP server on loopback (mailin-embedded), the
//! `vigie` binary, temporary watchlists.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
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
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
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

    fn start_on(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let handler = Collector {
            mails: mails.clone(),
            to: vec![],
            data: vec![],
        };
        let mut server = Server::new(handler);
        server.with_name("smtp.test").with_tcp_listener(listener);
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

/// Runs the real `vigie` binary with arguments, in `cwd`.
pub async fn vigie(cwd: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .current_dir(cwd)
        .env_remove("VIGIE_DATABASE")
        .env_remove("VIGIE_SMTP_URL")
        .env_remove("VIGIE_WATCHLISTS")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run vigie")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes a watchlist file into `dir/watchlists/` and returns that folder.
pub fn watchlist(dir: &Path, name: &str, text: &str) -> PathBuf {
    let wl = dir.join("watchlists");
    std::fs::create_dir_all(&wl).unwrap();
    std::fs::write(wl.join(name), text).unwrap();
    wl
}

/// The usual brands and subscribers of the tests.
pub const BRANDS_AND_SUBSCRIBERS: &str = r#"
[[brand]]
name = "Maison Lumière"

[[brand]]
name = "Atelier Brume"

[[subscriber]]
name = "Ana (Lyon)"
email = "ana@lanterne.example"
brands = ["Maison Lumière"]

[[subscriber]]
name = "Bruno"
email = "bruno@quais.example"
brands = ["maison lumiere", "Atelier Brume"]

[[subscriber]]
name = "Chloé"
email = "chloe@laine.example"
brands = ["Atelier Brume"]
"#;
