//! Who may see what: the operator signs in (a password hash or a token
//! from the environment, never from a watchlist); a session is a signed
//! cookie (HttpOnly, SameSite=Strict, Secure behind https); every form
//! carries a CSRF token bound to the session or to the retailer's link;
//! sign-in attempts are rate-limited per client address.

use std::net::IpAddr;
use std::num::NonZeroU32;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The environment variable holding the operator's password hash (an
/// argon2 PHC string, as `vigie serve --hash-password` prints it).
pub const PASSWORD_HASH_ENV: &str = "VIGIE_OPERATOR_PASSWORD_HASH";
/// The environment variable holding the operator's sign-in token (at least
/// 20 characters), an alternative to a password hash.
pub const TOKEN_ENV: &str = "VIGIE_OPERATOR_TOKEN";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vigie_session";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// What the operator signs in with.
#[derive(Clone)]
pub enum OperatorSecret {
    /// An argon2 password hash (PHC string).
    PasswordHash(String),
    /// A long random token.
    Token(String),
}

impl std::fmt::Debug for OperatorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself, even hashed.
        f.write_str(match self {
            OperatorSecret::PasswordHash(_) => "OperatorSecret::PasswordHash(…)",
            OperatorSecret::Token(_) => "OperatorSecret::Token(…)",
        })
    }
}

/// A secret in the environment that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The hash is not a PHC string.
    #[error(
        "{PASSWORD_HASH_ENV} is not a password hash (expected an argon2 string starting with $argon2; make one with `vigie serve --hash-password`)"
    )]
    BadHash,
    /// The token is too short to resist guessing.
    #[error("{TOKEN_ENV} is too short: use at least 20 random characters")]
    ShortToken,
}

impl OperatorSecret {
    /// The operator's secret from the environment: the password hash, else
    /// the token; `None` when neither is set (no one can sign in).
    pub fn from_env() -> Result<Option<OperatorSecret>, SecretError> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(hash) = get(PASSWORD_HASH_ENV) {
            let hash = hash.trim().to_string();
            PasswordHash::new(&hash).map_err(|_| SecretError::BadHash)?;
            return Ok(Some(OperatorSecret::PasswordHash(hash)));
        }
        if let Some(token) = get(TOKEN_ENV) {
            if token.trim().chars().count() < 20 {
                return Err(SecretError::ShortToken);
            }
            return Ok(Some(OperatorSecret::Token(token.trim().to_string())));
        }
        Ok(None)
    }

    /// Whether `given` is the operator's password or token.
    pub fn check(&self, given: &str) -> bool {
        match self {
            OperatorSecret::PasswordHash(hash) => PasswordHash::new(hash).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(given.as_bytes(), &h)
                    .is_ok()
            }),
            OperatorSecret::Token(token) => {
                // Compare MACs of both, so the time taken says nothing.
                let tag = |s: &str| {
                    let mut m = new_mac(b"vigie-token-compare");
                    m.update(s.as_bytes());
                    m.finalize().into_bytes()
                };
                tag(token) == tag(given)
            }
        }
    }
}

/// The argon2 hash of a password, for [`PASSWORD_HASH_ENV`].
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random bytes: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// Sessions and CSRF tokens, signed with the database's `session` key.
#[derive(Clone)]
pub struct Sessions {
    key: Vec<u8>,
    secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SessionPayload {
    /// Expiry, Unix seconds.
    x: i64,
    /// A random nonce: two sessions never share a CSRF token.
    n: String,
}

impl Sessions {
    /// Sessions signed with `key`; `secure` marks the cookie Secure (the
    /// console's public URL is https).
    pub fn new(key: Vec<u8>, secure: bool) -> Sessions {
        Sessions { key, secure }
    }

    fn sign(&self, domain: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut m = new_mac(&self.key);
        m.update(domain);
        m.update(payload);
        m.finalize().into_bytes().to_vec()
    }

    /// A new session cookie's value, valid [`SESSION_HOURS`] from `now`.
    pub fn issue(&self, now: DateTime<Utc>) -> String {
        let mut nonce = [0u8; 16];
        // Without randomness the nonce is the time: still unique per session.
        if getrandom::fill(&mut nonce).is_err() {
            nonce[..8].copy_from_slice(&now.timestamp_micros().to_be_bytes());
        }
        let payload = SessionPayload {
            x: (now + Duration::hours(SESSION_HOURS)).timestamp(),
            n: URL_SAFE_NO_PAD.encode(nonce),
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let sig = self.sign(b"session\0", &json);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Whether a session cookie's value is ours and not expired.
    pub fn valid(&self, value: &str, now: DateTime<Utc>) -> bool {
        let Some((body, sig)) = value.split_once('.') else {
            return false;
        };
        let (Ok(json), Ok(sig)) = (URL_SAFE_NO_PAD.decode(body), URL_SAFE_NO_PAD.decode(sig))
        else {
            return false;
        };
        let mut m = new_mac(&self.key);
        m.update(b"session\0");
        m.update(&json);
        if m.verify_slice(&sig).is_err() {
            return false;
        }
        serde_json::from_slice::<SessionPayload>(&json).is_ok_and(|p| p.x > now.timestamp())
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn set_cookie(&self, value: &str) -> String {
        format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            SESSION_HOURS * 3600,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that ends a session.
    pub fn clear_cookie(&self) -> String {
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The CSRF token of the forms shown to the holder of `binding` (the
    /// session cookie's value, or a retailer's link token).
    pub fn csrf(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.sign(b"csrf\0", binding.as_bytes()))
    }

    /// Whether a posted CSRF token is the one of `binding`.
    pub fn csrf_ok(&self, binding: &str, given: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(given) else {
            return false;
        };
        let mut m = new_mac(&self.key);
        m.update(b"csrf\0");
        m.update(binding.as_bytes());
        m.verify_slice(&given).is_ok()
    }
}

/// The value of a cookie in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Sign-in attempts allowed per client address: 5 a minute, then one
/// every 12 seconds.
pub struct SignInLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl Default for SignInLimiter {
    fn default() -> SignInLimiter {
        let five = NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN);
        SignInLimiter(RateLimiter::keyed(Quota::per_minute(five)))
    }
}

impl SignInLimiter {
    /// Whether this address may try now (counts the attempt).
    pub fn allow(&self, ip: IpAddr) -> bool {
        // Forget idle addresses now and then: the map stays small.
        if self.0.len() > 10_000 {
            self.0.retain_recent();
        }
        self.0.check_key(&ip).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn a_session_is_valid_until_it_expires_and_only_with_our_key() {
        let s = Sessions::new(vec![1; 32], false);
        let v = s.issue(now());
        assert!(s.valid(&v, now()));
        assert!(!s.valid(&v, now() + Duration::hours(SESSION_HOURS + 1)));
        assert!(!Sessions::new(vec![2; 32], false).valid(&v, now()));
        assert!(!s.valid(&v.replace('.', ""), now()));
        let cookie = s.set_cookie(&v);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(!cookie.contains("Secure"));
        assert!(
            Sessions::new(vec![1; 32], true)
                .set_cookie(&v)
                .ends_with("; Secure")
        );
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_holder() {
        let s = Sessions::new(vec![1; 32], false);
        let a = s.issue(now());
        let b = s.issue(now());
        assert_ne!(a, b);
        let t = s.csrf(&a);
        assert!(s.csrf_ok(&a, &t));
        assert!(!s.csrf_ok(&b, &t), "another session's token");
        assert!(!s.csrf_ok(&a, ""));
    }

    #[test]
    fn passwords_and_tokens_check() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2"));
        let p = OperatorSecret::PasswordHash(hash);
        assert!(p.check("correct horse"));
        assert!(!p.check("correct horse "));
        let t = OperatorSecret::Token("0123456789abcdefghijkl".into());
        assert!(t.check("0123456789abcdefghijkl"));
        assert!(!t.check("0123456789abcdefghijk"));
        assert!(!format!("{p:?}{t:?}").contains("0123"));
    }

    #[test]
    fn sign_in_attempts_are_limited_per_address() {
        let l = SignInLimiter::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        assert!((0..5).all(|_| l.allow(a)));
        assert!(!l.allow(a));
        assert!(l.allow(b));
    }

    #[test]
    fn cookies_are_read_from_the_header() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", "a=1; vigie_session=abc.def; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc.def"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
