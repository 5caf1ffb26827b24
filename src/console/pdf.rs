//! Printing a page to PDF with a headless Chromium, when one is installed.
//!
//! [`print_to_pdf`] runs `chromium --headless=new --print-to-pdf=…` on a
//! page of the console itself, on loopback, in a profile folder of its own
//! (removed afterwards), without a proxy or background networking, and
//! kills it after [`PRINT_TIMEOUT`]. Which Chromium: [`chromium_path`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use url::Url;

/// The variable naming the Chromium to print with (a path, or a program
/// name looked up on `PATH`).
pub const CHROMIUM_VAR: &str = "VIGIE_CHROMIUM";

/// How long Chromium has to print a page before it is killed.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(30);

/// The programs looked up on `PATH` when [`CHROMIUM_VAR`] is not set.
const CANDIDATES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// Why a page could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// Neither [`CHROMIUM_VAR`] nor `PATH` names a Chromium.
    #[error("no Chromium found: install Debian's chromium package or set {CHROMIUM_VAR}")]
    NoChromium,
    /// Only the console's own pages, on loopback, are printed.
    #[error("{0}: only http(s) pages on loopback (127.0.0.0/8, ::1, localhost) are printed")]
    NotLoopback(Url),
    /// The temporary folder, or Chromium itself, could not be set up.
    #[error("printing to PDF: {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Chromium did not finish in time, and was killed.
    #[error("Chromium did not print {url} within {timeout:?}: killed")]
    TimedOut {
        /// The page.
        url: Url,
        /// The time it had.
        timeout: Duration,
    },
    /// Chromium exited with an error.
    #[error("Chromium failed to print {url} ({status}): {stderr}")]
    Failed {
        /// The page.
        url: Url,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of what it said on stderr.
        stderr: String,
    },
    /// Chromium exited without writing a PDF.
    #[error("Chromium wrote no PDF for {url}: {detail}")]
    NoPdf {
        /// The page.
        url: Url,
        /// What was found instead.
        detail: String,
    },
}

/// The Chromium to print with: [`CHROMIUM_VAR`] when set (a path, or a
/// name on `PATH`), else the first of `chromium`, `chromium-browser` and
/// `google-chrome` on `PATH`.
pub fn chromium_path() -> Option<PathBuf> {
    match std::env::var_os(CHROMIUM_VAR) {
        Some(v) if !v.is_empty() => find_program(&v),
        _ => CANDIDATES.iter().find_map(|c| find_program(OsStr::new(c))),
    }
}

/// `program` itself when it is a path to an executable file, else the
/// first executable of that name on `PATH`.
fn find_program(program: &OsStr) -> Option<PathBuf> {
    let program = Path::new(program);
    if program.components().count() > 1 {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `url` is an http(s) page on loopback.
fn on_loopback(url: &Url) -> bool {
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    host && matches!(url.scheme(), "http" | "https")
}

/// A folder of its own under the system's temporary folder, removed
/// with everything in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> std::io::Result<ScratchDir> {
        use std::os::unix::fs::DirBuilderExt;
        let mut tries = 0;
        loop {
            let name = format!(
                "vigie-pdf-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            );
            let path = std::env::temp_dir().join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(ScratchDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints the page at `url` (a page of the console, on loopback) to PDF
/// with a headless Chromium; the PDF's bytes.
pub async fn print_to_pdf(url: &Url) -> Result<Vec<u8>, PdfError> {
    let chromium = chromium_path().ok_or(PdfError::NoChromium)?;
    print_with(&chromium, url, PRINT_TIMEOUT).await
}

/// [`print_to_pdf`] with the given Chromium and time limit.
async fn print_with(chromium: &Path, url: &Url, timeout: Duration) -> Result<Vec<u8>, PdfError> {
    if !on_loopback(url) {
        return Err(PdfError::NotLoopback(url.clone()));
    }
    print_target(chromium, url, timeout).await
}

/// Prints a page the console rendered itself (its stylesheets inlined) to
/// PDF: the page is written to a private temporary folder and printed from
/// there, so the browser reaches no server at all.
pub async fn print_html_to_pdf(html: &str) -> Result<Vec<u8>, PdfError> {
    let chromium = chromium_path().ok_or(PdfError::NoChromium)?;
    let scratch = ScratchDir::create().map_err(|source| PdfError::Io {
        what: "creating a temporary folder".into(),
        source,
    })?;
    let page = scratch.0.join("dossier.html");
    std::fs::write(&page, html).map_err(|source| PdfError::Io {
        what: format!("writing {}", page.display()),
        source,
    })?;
    let url = Url::from_file_path(&page).map_err(|()| PdfError::Io {
        what: format!("{} as a URL", page.display()),
        source: std::io::Error::other("not an absolute path"),
    })?;
    print_target(&chromium, &url, PRINT_TIMEOUT).await
}

/// Runs Chromium on `url` (checked by the caller) and returns the PDF.
async fn print_target(chromium: &Path, url: &Url, timeout: Duration) -> Result<Vec<u8>, PdfError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| PdfError::Io { what, source }
    };
    let scratch = ScratchDir::create().map_err(io("creating a temporary folder"))?;
    let pdf = scratch.0.join("page.pdf");
    let profile = scratch.0.join("profile");
    let mut print_to = std::ffi::OsString::from("--print-to-pdf=");
    print_to.push(&pdf);
    let mut user_data = std::ffi::OsString::from("--user-data-dir=");
    user_data.push(&profile);
    let child = tokio::process::Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            "--no-proxy-server",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-breakpad",
            "--disable-crash-reporter",
        ])
        .arg(&user_data)
        .arg(&print_to)
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io(&format!("starting {}", chromium.display())))?;
    // On timeout the child is dropped, hence killed.
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(io(&format!("waiting for {}", chromium.display())))?,
        Err(_) => {
            return Err(PdfError::TimedOut {
                url: url.clone(),
                timeout,
            });
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(PdfError::Failed {
            url: url.clone(),
            status: output.status,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let bytes = match tokio::fs::read(&pdf).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Err(PdfError::NoPdf {
                url: url.clone(),
                detail: e.to_string(),
            });
        }
    };
    if !bytes.starts_with(b"%PDF-") {
        return Err(PdfError::NoPdf {
            url: url.clone(),
            detail: format!("{} bytes not starting with %PDF-", bytes.len()),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
    }

    /// Serves one small page on 127.0.0.1; its URL.
    async fn serve_page() -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!(
            "http://{}/dossier",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let app = axum::Router::new().route(
            "/dossier",
            axum::routing::get(|| async {
                axum::response::Html(
                    "<!doctype html><meta charset=utf-8><title>Dossier</title>\
                     <h1>Dossier de preuve</h1><p>Prix barré : 129,00 €</p>",
                )
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_loopback_page_prints_to_a_pdf() {
        let Some(chromium) = chromium_path() else {
            assert!(!on_ci(), "CI=true but {}", PdfError::NoChromium);
            eprintln!("{}: PDF test SKIPPED", PdfError::NoChromium);
            return;
        };
        let url = serve_page().await;
        let started = std::time::Instant::now();
        let pdf = print_with(&chromium, &url, PRINT_TIMEOUT).await.unwrap();
        eprintln!("printed {} bytes in {:?}", pdf.len(), started.elapsed());
        assert!(pdf.starts_with(b"%PDF-"), "{:?}", &pdf[..pdf.len().min(16)]);
    }

    #[tokio::test]
    async fn only_loopback_pages_are_printed() {
        for url in [
            "https://example.com/",
            "http://10.0.0.1/dossier",
            "file:///etc/passwd",
        ] {
            let url = Url::parse(url).unwrap();
            let err = print_with(Path::new("/nonexistent/chromium"), &url, PRINT_TIMEOUT)
                .await
                .unwrap_err();
            assert!(matches!(err, PdfError::NotLoopback(_)), "{url}: {err}");
        }
        for url in [
            "http://127.0.0.1:8080/a",
            "http://[::1]/a",
            "http://localhost/a",
        ] {
            assert!(on_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn the_missing_chromium_error_says_what_to_do() {
        assert_eq!(
            PdfError::NoChromium.to_string(),
            "no Chromium found: install Debian's chromium package or set VIGIE_CHROMIUM"
        );
    }
}
