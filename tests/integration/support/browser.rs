//! A real headless Chromium driven through WebDriver (`chromedriver` and
//! the `fantoccini` crate), for the console's browser tests.
//!
//! Everything stays on loopback: `chromedriver` listens on `127.0.0.1` and
//! allows only that address, and Chromium runs without a proxy, background
//! networking, component updates or sync, in a profile folder of its own
//! that is removed afterwards.
//!
//! Without `chromium` or `chromedriver` on `PATH`, [`Browser::start`] says
//! on stderr that the browser tests are skipped and returns `None`; with
//! `CI=true` (or `CI=1`) it panics instead, so a CI run never passes
//! without them (`.ci/run` installs Debian's `chromium` and
//! `chromium-driver`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, Value, json};

use super::database::on_ci;

/// The viewport a [`Browser`] emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserSize {
    /// A phone: 390×844 CSS pixels, device scale factor 1, touch, mobile.
    Phone,
    /// A desktop window: 1280×800, device scale factor 1.
    #[allow(dead_code)] // for the console's desktop tests
    Desktop,
}

impl BrowserSize {
    /// Width and height in CSS pixels.
    pub fn css_pixels(self) -> (u32, u32) {
        match self {
            BrowserSize::Phone => (390, 844),
            BrowserSize::Desktop => (1280, 800),
        }
    }

    /// Device pixels per CSS pixel.
    pub fn device_scale(self) -> u32 {
        1
    }
}

/// How long `chromedriver` has to start listening.
const DRIVER_START: Duration = Duration::from_secs(10);

/// A headless Chromium session and the `chromedriver` behind it. Dropping
/// it kills their whole process group and removes the profile folder;
/// [`Browser::quit`] ends the session politely first.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    size: BrowserSize,
    profile: tempfile::TempDir,
}

/// The path of `program` on `PATH`, if it is there and executable.
pub fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A port on loopback that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The `goog:chromeOptions` capabilities: headless, on loopback only.
fn capabilities(chromium: &Path, profile: &Path, size: BrowserSize) -> Map<String, Value> {
    let (w, h) = size.css_pixels();
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-dev-shm-usage".to_string(),
        format!("--window-size={w},{h}"),
        "--no-proxy-server".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--no-first-run".to_string(),
        "--no-default-browser-check".to_string(),
        "--disable-default-apps".to_string(),
        "--disable-extensions".to_string(),
        "--hide-scrollbars".to_string(),
        "--disable-breakpad".to_string(),
        "--disable-crash-reporter".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut options = json!({ "binary": chromium.display().to_string(), "args": args });
    if size == BrowserSize::Phone {
        options["mobileEmulation"] = json!({
            "deviceMetrics": {
                "width": w, "height": h,
                "pixelRatio": size.device_scale(),
                "mobile": true, "touch": true,
            }
        });
    }
    let mut caps = Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    caps
}

impl Browser {
    /// Starts `chromedriver` on a free loopback port and opens a headless
    /// Chromium session of `size`. `None` (said on stderr) when `chromium`
    /// or `chromedriver` is missing; panics then if `CI=true`, and whenever
    /// they are there but do not start.
    pub async fn start(size: BrowserSize) -> Option<Browser> {
        let chromium = on_path("chromium")
            .or_else(|| on_path("chromium-browser"))
            .or_else(|| on_path("google-chrome"));
        let (Some(chromium), Some(chromedriver)) = (chromium, on_path("chromedriver")) else {
            if on_ci() {
                panic!(
                    "CI=true but chromium/chromedriver not found: the browser tests need them \
                     (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!("chromium/chromedriver not found: browser tests skipped");
            return None;
        };
        let profile = tempfile::tempdir().expect("a profile folder");
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg("--allowed-origins=http://127.0.0.1")
            .arg("--silent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // A process group of its own, so Drop kills Chromium with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", chromedriver.display()));
        let mut browser = Browser {
            client: None,
            driver,
            size,
            profile,
        };
        browser.wait_for_driver(port);
        let caps = capabilities(&chromium, browser.profile.path(), size);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session from chromedriver: {e}"));
        browser.client = Some(client);
        Some(browser)
    }

    /// Waits until `chromedriver` accepts connections on `port`.
    fn wait_for_driver(&mut self, port: u16) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let start = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited before listening on port {port}: {status}");
            }
            assert!(
                start.elapsed() < DRIVER_START,
                "chromedriver did not listen on port {port} within {DRIVER_START:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// The size this browser was started with.
    pub fn size(&self) -> BrowserSize {
        self.size
    }

    /// Loads `url` and waits for its `load` event.
    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element `css` selects, waiting up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client()
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css:?}: {e}"))
    }

    /// Clears the field `css` selects and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css:?}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css:?}: {e}"));
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css:?}: {e}"));
    }

    /// The rendered text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css:?}: {e}"))
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> url::Url {
        self.client()
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("current URL: {e}"))
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> Vec<u8> {
        self.client()
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"))
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn save_screenshot(&self, path: &Path) {
        let png = self.screenshot_png().await;
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// The cookies the current page can see.
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client()
            .get_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("cookies: {e}"))
    }

    /// Ends the session (Chromium exits), then `chromedriver`.
    pub async fn quit(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        // Drop kills what is left of the process group.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its process group, Chromium's processes are in it.
        let pgid = self.driver.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

/// The width and height of a PNG, from its `IHDR` chunk; panics when
/// `png` is not a PNG.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "not a PNG ({} bytes)",
        png.len()
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}
