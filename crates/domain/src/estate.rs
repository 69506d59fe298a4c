//! Identifiers of estates and the objects bills attach to.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An estate's short code, e.g. `demo`: 1–32 characters of a-z, 0-9 and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EstateCode(String);

impl EstateCode {
    /// Parses and validates an estate code.
    pub fn parse(s: &str) -> Result<EstateCode, DomainError> {
        let t = s.trim();
        let ok = !t.is_empty()
            && t.len() <= 32
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            return Err(DomainError::invalid(
                "estate",
                format!("{s:?} is not an estate code (1–32 characters of a-z, 0-9, -)"),
            ));
        }
        Ok(EstateCode(t.to_string()))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EstateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for EstateCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        EstateCode::parse(&s)
    }
}
impl From<EstateCode> for String {
    fn from(c: EstateCode) -> String {
        c.0
    }
}

/// What a bill line is charged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A room (房).
    Room,
    /// A parking space (车位).
    Space,
}

impl ObjectKind {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            ObjectKind::Room => "room",
            ObjectKind::Space => "space",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Result<ObjectKind, DomainError> {
        match s {
            "room" => Ok(ObjectKind::Room),
            "space" => Ok(ObjectKind::Space),
            _ => Err(DomainError::invalid(
                "object_kind",
                format!("unknown object kind {s:?}"),
            )),
        }
    }
}

/// Validates a room label part such as a building name (`3`, `3号楼`, `A座`).
pub fn validate_label(field: &'static str, s: &str, max: usize) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "is empty"));
    }
    if t.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("{t:?} is longer than {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid(
            field,
            format!("{t:?} contains control characters"),
        ));
    }
    Ok(t.to_string())
}

/// The usual short label of a room: `3号楼2单元202室`, or `3号楼202室` without entrance.
pub fn room_label(building: &str, entrance: &str, number: &str) -> String {
    let b = if building.ends_with(['楼', '栋', '座']) {
        building.to_string()
    } else {
        format!("{building}号楼")
    };
    let e = if entrance.is_empty() {
        String::new()
    } else if entrance.ends_with('单') || entrance.ends_with("单元") {
        entrance.to_string()
    } else {
        format!("{entrance}单元")
    };
    let n = if number.ends_with('室') {
        number.to_string()
    } else {
        format!("{number}室")
    };
    format!("{b}{e}{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels() {
        assert!(EstateCode::parse("demo").is_ok());
        assert!(EstateCode::parse("Demo Estate").is_err());
        assert_eq!(room_label("3", "", "202"), "3号楼202室");
        assert_eq!(room_label("3号楼", "2", "202"), "3号楼2单元202室");
        assert!(validate_label("building", "  ", 10).is_err());
    }
}
