//! Phone numbers on file: mainland mobiles (11 digits) and landlines.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised phone number: `13812345678` or a landline like `010-12345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number written with spaces, dashes or a +86 prefix.
    pub fn parse(s: &str) -> Result<PhoneNumber, DomainError> {
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '（' | '）'))
            .collect();
        let d = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .unwrap_or(&digits);
        if !d.chars().all(|c| c.is_ascii_digit()) || d.is_empty() {
            return Err(DomainError::invalid(
                "phone",
                format!("{s:?} is not a phone number"),
            ));
        }
        let b = d.as_bytes();
        if d.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(PhoneNumber(d.to_string()));
        }
        // Landline: area code 0xx or 0xxx, then a 7–8 digit local number.
        if b[0] == b'0' && (10..=12).contains(&d.len()) {
            let area_len = if matches!(&d[..2], "01" | "02") { 3 } else { 4 };
            let local = &d[area_len..];
            if (7..=8).contains(&local.len()) {
                return Ok(PhoneNumber(format!("{}-{}", &d[..area_len], local)));
            }
        }
        Err(DomainError::invalid(
            "phone",
            format!(
                "{s:?} is not a mainland mobile (11 digits, 1[3-9]…) or landline (0xx-xxxxxxxx)"
            ),
        ))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether SMS can reach it.
    pub fn is_mobile(&self) -> bool {
        self.0.len() == 11 && self.0.starts_with('1')
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for PhoneNumber {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        PhoneNumber::parse(&s)
    }
}
impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(
            PhoneNumber::parse("138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            PhoneNumber::parse("+86-13812345678").unwrap().as_str(),
            "13812345678"
        );
        assert_eq!(
            PhoneNumber::parse("010-12345678").unwrap().as_str(),
            "010-12345678"
        );
        assert_eq!(
            PhoneNumber::parse("05718888888").unwrap().as_str(),
            "0571-8888888"
        );
        assert!(PhoneNumber::parse("12345").is_err());
        assert!(PhoneNumber::parse("12812345678").is_err());
        assert!(PhoneNumber::parse("1381234567x").is_err());
        assert!(PhoneNumber::parse("").is_err());
    }
}
