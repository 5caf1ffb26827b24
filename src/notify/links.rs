//! Signed links for retailers: "my alerts" and one-click unsubscribe, in
//! every e-mail. A link carries its address, its purpose, when it expires
//! and the address's link version, signed with HMAC-SHA256 under a key
//! kept in the database (table `console_keys`), so every process sharing
//! the database makes and accepts the same links. No password: the link
//! is the credential. It expires, and bumping the address's link version
//! (a new link sent, or the operator revoking) refuses every older one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::{Store, StoreError};

type HmacSha256 = Hmac<Sha256>;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Open "my alerts" (and the findings of the brands followed).
    Manage,
    /// Unsubscribe in one click (RFC 8058): valid longer, does nothing else.
    Unsubscribe,
}

impl LinkPurpose {
    fn tag(self) -> &'static str {
        match self {
            LinkPurpose::Manage => "manage",
            LinkPurpose::Unsubscribe => "unsubscribe",
        }
    }

    /// How long a link of this purpose stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            LinkPurpose::Manage => Duration::days(60),
            LinkPurpose::Unsubscribe => Duration::days(365),
        }
    }
}

/// What a valid link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The address, lower-case.
    pub email: String,
    /// The address's link version when the link was made.
    pub version: i64,
    /// When it stops being accepted.
    pub expires: DateTime<Utc>,
}

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link Vigie made (cut, or changed).
    #[error("this link is not valid: it may have been cut or changed")]
    Invalid,
    /// Past its date.
    #[error("this link has expired: use the link of a more recent e-mail")]
    Expired,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    /// Purpose.
    p: String,
    /// Address.
    e: String,
    /// Expiry, Unix seconds.
    x: i64,
    /// Link version.
    v: i64,
}

/// Makes and checks retailer links, and the console's URLs in e-mails.
#[derive(Clone)]
pub struct Links {
    base: Option<url::Url>,
    key: Vec<u8>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never appears in logs.
        f.debug_struct("Links")
            .field("base", &self.base.as_ref().map(url::Url::as_str))
            .finish_non_exhaustive()
    }
}

/// A fresh random 32-byte key.
pub fn random_key() -> Result<Vec<u8>, StoreError> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| StoreError::Corrupt(format!("no random bytes for a key: {e}")))?;
    Ok(key)
}

impl Links {
    /// Links under `base` (the console's public URL; none: e-mails carry
    /// no console link), signed with `key`.
    pub fn new(base: Option<url::Url>, key: Vec<u8>) -> Links {
        Links { base, key }
    }

    /// Links signed with the database's `link` key (created on first use).
    pub async fn from_store(
        store: &dyn Store,
        base: Option<url::Url>,
    ) -> Result<Links, StoreError> {
        let key = store.console_key("link", &random_key()?).await?;
        Ok(Links::new(base, key))
    }

    /// The console's public URL, when set.
    pub fn base(&self) -> Option<&url::Url> {
        self.base.as_ref()
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        // HMAC accepts a key of any length: this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(b"vigie-link-v1\0");
        mac.update(payload);
        mac
    }

    /// A signed token for `email` (its current link `version`), valid for
    /// the purpose's lifetime from `now`.
    pub fn token(
        &self,
        purpose: LinkPurpose,
        email: &str,
        version: i64,
        now: DateTime<Utc>,
    ) -> String {
        let payload = Payload {
            p: purpose.tag().into(),
            e: email.to_ascii_lowercase(),
            x: (now + purpose.lifetime()).timestamp(),
            v: version,
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let sig = self.mac(&json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Checks a token for `purpose` at `now`. The caller still checks the
    /// version against the address's current one, and that the address is
    /// still a subscriber.
    pub fn verify(
        &self,
        purpose: LinkPurpose,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkClaims, LinkError> {
        let (body, sig) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| LinkError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| LinkError::Invalid)?;
        // Constant-time comparison.
        self.mac(&json)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        let p: Payload = serde_json::from_slice(&json).map_err(|_| LinkError::Invalid)?;
        if p.p != purpose.tag() {
            return Err(LinkError::Invalid);
        }
        let expires = DateTime::from_timestamp(p.x, 0).ok_or(LinkError::Invalid)?;
        if expires <= now {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaims {
            email: p.e,
            version: p.v,
            expires,
        })
    }

    fn url(&self, path: &str) -> Option<String> {
        let base = self.base.as_ref()?;
        let mut s = base.as_str().trim_end_matches('/').to_string();
        s.push_str(path);
        Some(s)
    }

    /// The "my alerts" page of `email`.
    pub fn manage_url(&self, email: &str, version: i64, now: DateTime<Utc>) -> Option<String> {
        self.url(&format!(
            "/my/{}",
            self.token(LinkPurpose::Manage, email, version, now)
        ))
    }

    /// The one-click unsubscribe URL of `email` (RFC 8058: POST answers
    /// without a session; GET shows a confirmation button).
    pub fn unsubscribe_url(&self, email: &str, version: i64, now: DateTime<Utc>) -> Option<String> {
        self.url(&format!(
            "/unsubscribe/{}",
            self.token(LinkPurpose::Unsubscribe, email, version, now)
        ))
    }

    /// A finding's page, opened by `email` with its "my alerts" credential
    /// (the page shows the findings of the brands the address follows).
    pub fn finding_url(
        &self,
        id: i64,
        email: &str,
        version: i64,
        now: DateTime<Utc>,
    ) -> Option<String> {
        self.url(&format!(
            "/findings/{id}?t={}",
            self.token(LinkPurpose::Manage, email, version, now)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    fn links() -> Links {
        Links::new(
            Some("https://vigie.example.org/".parse().unwrap()),
            vec![7; 32],
        )
    }

    #[test]
    fn a_link_verifies_for_its_purpose_until_it_expires() {
        let l = links();
        let t = l.token(LinkPurpose::Manage, "Anne@Boutique.FR", 3, now());
        let c = l.verify(LinkPurpose::Manage, &t, now()).unwrap();
        assert_eq!(c.email, "anne@boutique.fr");
        assert_eq!(c.version, 3);
        assert_eq!(
            l.verify(LinkPurpose::Unsubscribe, &t, now()),
            Err(LinkError::Invalid),
            "a manage link is not an unsubscribe link"
        );
        assert_eq!(
            l.verify(LinkPurpose::Manage, &t, now() + Duration::days(61)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_link_is_refused() {
        let l = links();
        let t = l.token(LinkPurpose::Manage, "anne@boutique.fr", 0, now());
        let (body, sig) = t.split_once('.').unwrap();
        // Another address in the body, the old signature.
        let forged_body = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(body).unwrap())
                .unwrap()
                .replace("anne", "eve"),
        );
        for bad in [
            format!("{forged_body}.{sig}"),
            format!("{body}.{}", &sig[1..]),
            body.to_string(),
            String::new(),
            "..".into(),
        ] {
            assert_eq!(
                l.verify(LinkPurpose::Manage, &bad, now()),
                Err(LinkError::Invalid),
                "{bad}"
            );
        }
        let other = Links::new(None, vec![8; 32]);
        assert_eq!(
            other.verify(LinkPurpose::Manage, &t, now()),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn urls_need_a_public_url() {
        let l = links();
        let u = l.unsubscribe_url("a@b.fr", 0, now()).unwrap();
        assert!(
            u.starts_with("https://vigie.example.org/unsubscribe/"),
            "{u}"
        );
        assert!(
            l.finding_url(12, "a@b.fr", 0, now())
                .unwrap()
                .contains("/findings/12?t=")
        );
        assert_eq!(
            Links::new(None, vec![1; 32]).manage_url("a@b.fr", 0, now()),
            None
        );
        assert!(
            !format!("{l:?}").contains("7, 7"),
            "the key is not in Debug"
        );
    }
}
