//! Free-text fields of a task: its title and description.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Longest title, in characters, after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// A task's title: 1..=200 characters after trimming, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    /// Trims and checks a title.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let title = raw.trim();
        let chars = title.chars().count();
        if chars == 0 {
            return Err(ValidationError::new("title", "must not be empty"));
        }
        if chars > TITLE_MAX_CHARS {
            return Err(ValidationError::new(
                "title",
                format!("must be at most {TITLE_MAX_CHARS} characters (got {chars})"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "title",
                "must not contain control characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    /// The title text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Title {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Title> for String {
    fn from(title: Title) -> Self {
        title.0
    }
}

/// A task's description: up to 10 000 characters; may span lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// Checks a description; surrounding whitespace is trimmed.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars > DESCRIPTION_MAX_CHARS {
            return Err(ValidationError::new(
                "description",
                format!("must be at most {DESCRIPTION_MAX_CHARS} characters (got {chars})"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ValidationError::new(
                "description",
                "must not contain control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The description text (possibly empty).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Description> for String {
    fn from(description: Description) -> Self {
        description.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Buy milk ").unwrap().as_str(), "Buy milk");
        assert_eq!(Title::parse("   ").unwrap_err().field, "title");
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
        assert!(Title::parse("a\nb").is_err());
    }

    #[test]
    fn descriptions_allow_lines_but_not_other_control_characters() {
        assert!(Description::parse("line one\nline two").is_ok());
        assert_eq!(
            Description::parse("bell\u{7}").unwrap_err().field,
            "description"
        );
        assert!(Description::parse(&"x".repeat(10_001)).is_err());
        assert_eq!(Description::parse("").unwrap().as_str(), "");
    }
}
