//! Plain domain types passed between the pipeline stages.

pub mod calendar;
pub mod crontab;
pub mod email;
pub mod history;
pub mod money;
pub mod observation;
pub mod policy;
pub mod subscription;
pub mod vocab;

pub use crontab::Crontab;
pub use email::{Email, EmailError};
pub use history::History;
pub use money::{Currency, Money, MoneyError};
pub use observation::{
    Baseline, FindingDraft, NewObservation, ObservedOffer, Recipient, StoredObservation,
};
pub use policy::Policy;
pub use subscription::{Delivery, Preference};
pub use vocab::{
    Digest, Language, OutboxStatus, Platform, PromoClass, ReferenceKind, Rule, RunStatus, Scope,
    Severity, Source,
};

/// An error followed by each of its causes, `: `-separated, for logs: an
/// error whose message says what failed keeps the why in its source.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// Folds a name for comparison: accents removed, lower case, punctuation
/// and runs of white space collapsed to one space.
///
/// `"Maison Lumière"`, `"MAISON-LUMIERE"` and `" maison  lumière "` all fold
/// to `"maison lumiere"`.
pub fn fold_name(s: &str) -> String {
    let ascii = deunicode::deunicode(s);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else if c == '&' {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push('&');
            pending_space = true;
        } else {
            pending_space = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold_name;

    #[test]
    fn folding_ignores_case_accents_and_punctuation() {
        assert_eq!(fold_name("Maison Lumière"), "maison lumiere");
        assert_eq!(fold_name("MAISON-LUMIERE"), "maison lumiere");
        assert_eq!(fold_name("  maison   lumière. "), "maison lumiere");
        assert_eq!(fold_name("Dolce&Gabbana"), "dolce & gabbana");
        assert_eq!(fold_name(""), "");
    }
}
