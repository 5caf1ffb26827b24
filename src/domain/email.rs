//! An e-mail address, checked once where it is read.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A checked e-mail address such as `contact@boutique.example`: a local
/// part, `@`, a domain with a dot inside, nothing that would let a header
/// be forged (spaces, controls, `<>,;"`), and accepted by the mailer's own
/// address parser.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an email address such as \"contact@boutique.example\"")]
pub struct EmailError(pub String);

impl Email {
    /// The address as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Email, EmailError> {
        let s = s.trim();
        let plain = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
            }
            None => false,
        };
        if plain && s.parse::<lettre::Address>().is_ok() {
            Ok(Email(s.to_string()))
        } else {
            Err(EmailError(s.to_string()))
        }
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_could_forge_a_header_or_bounce_are_refused() {
        assert_eq!(
            " ana@shop.example ".parse::<Email>().map(|e| e.to_string()),
            Ok("ana@shop.example".to_string())
        );
        for bad in [
            "not-an-email",
            "@shop.example",
            "ana@localhost",
            "ana@.example",
            "ana@shop.",
            "ana@shop.example\r\nBcc: x@y.example",
            "Ana <ana@shop.example>",
            "a,b@shop.example",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} accepted");
        }
    }
}
