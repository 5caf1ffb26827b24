//! Watchlists for the tests: `[[shop]]` entries, the usual brands and
//! subscribers, and the file they are written to.

use std::fmt;
use std::path::{Path, PathBuf};

/// Writes a watchlist file into `dir/watchlists/` and returns that folder.
pub fn watchlist(dir: &Path, name: &str, text: &str) -> PathBuf {
    let wl = dir.join("watchlists");
    std::fs::create_dir_all(&wl).unwrap();
    std::fs::write(wl.join(name), text).unwrap();
    wl
}

/// A `[[shop]]` entry. A test shop serves on loopback, so the entry allows
/// private network addresses unless [`Shop::public_only`] says otherwise.
#[derive(Debug, Clone)]
pub struct Shop {
    name: String,
    url: String,
    rate: f64,
    allow_private_network: bool,
    keys: Vec<(String, String)>,
    listing: Option<[String; 3]>,
}

impl Shop {
    /// The shop `name` at `base_url` (no trailing slash), at `rate`
    /// requests per second.
    pub fn new(name: &str, base_url: &str, rate: f64) -> Shop {
        Shop {
            name: name.into(),
            url: format!("{base_url}/"),
            rate,
            allow_private_network: true,
            keys: Vec::new(),
            listing: None,
        }
    }

    /// Without `allow_private_network`: a loopback shop is then refused.
    pub fn public_only(mut self) -> Shop {
        self.allow_private_network = false;
        self
    }

    /// A crontab schedule (`vigie daemon`, `vigie worker`).
    pub fn schedule(self, crontab: &str) -> Shop {
        self.key("schedule", crontab)
    }

    /// Any other key of the entry, with a string value.
    pub fn key(mut self, key: &str, value: &str) -> Shop {
        self.keys.push((key.into(), value.into()));
        self
    }

    /// A `[shop.listing]` table: the first listing page, the product link
    /// selector, the next page selector.
    pub fn listing(mut self, start: &str, product: &str, next: &str) -> Shop {
        self.listing = Some([start.into(), product.into(), next.into()]);
        self
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> toml::Value {
    toml::Value::String(s.to_string())
}

impl fmt::Display for Shop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[[shop]]")?;
        writeln!(f, "name = {}", quoted(&self.name))?;
        writeln!(f, "url = {}", quoted(&self.url))?;
        writeln!(f, "rate = {}", self.rate)?;
        if self.allow_private_network {
            writeln!(f, "allow_private_network = true")?;
        }
        for (key, value) in &self.keys {
            writeln!(f, "{key} = {}", quoted(value))?;
        }
        if let Some([start, product, next]) = &self.listing {
            writeln!(f, "\n[shop.listing]")?;
            writeln!(f, "start = {}", quoted(start))?;
            writeln!(f, "product = {}", quoted(product))?;
            writeln!(f, "next = {}", quoted(next))?;
        }
        writeln!(f)
    }
}

/// A watchlist of these shops followed by [`BRANDS_AND_SUBSCRIBERS`].
pub fn with_brands_and_subscribers(shops: &[Shop]) -> String {
    let mut text: String = shops.iter().map(Shop::to_string).collect();
    text.push_str(BRANDS_AND_SUBSCRIBERS);
    text
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
