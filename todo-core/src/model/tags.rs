//! Tags: normalised labels such as `work` or `home`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 40;
/// Most tags on one task.
pub const TAGS_MAX: usize = 20;

/// One tag: trimmed, lower-case, 1..=40 characters, no commas (they separate tags in queries).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Normalises and checks one tag; `field` names it in errors (`tags`, `tags_all`).
    pub fn parse_for(raw: &str, field: &str) -> Result<Self, ValidationError> {
        let tag = raw.trim().to_lowercase();
        let chars = tag.chars().count();
        if chars == 0 {
            return Err(ValidationError::new(field, "a tag must not be empty"));
        }
        if chars > TAG_MAX_CHARS {
            return Err(ValidationError::new(
                field,
                format!("a tag must be at most {TAG_MAX_CHARS} characters"),
            ));
        }
        if tag.chars().any(|c| c == ',' || c.is_control()) {
            return Err(ValidationError::new(
                field,
                "a tag must not contain commas or control characters",
            ));
        }
        Ok(Self(tag))
    }

    /// Normalises and checks one tag of a task.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_for(raw, "tags")
    }

    /// The normalised tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

/// A task's tags: a set (duplicates after normalisation merge), at most 20.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Tags(BTreeSet<Tag>);

impl Tags {
    /// Normalises and checks a list of tags.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ValidationError> {
        let tags = raw
            .iter()
            .map(|t| Tag::parse(t.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if tags.len() > TAGS_MAX {
            return Err(ValidationError::new(
                "tags",
                format!("at most {TAGS_MAX} tags per task (got {})", tags.len()),
            ));
        }
        Ok(Self(tags))
    }

    /// Iterates the tags in order.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    /// Whether the task carries `tag`.
    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<String>> for Tags {
    type Error = ValidationError;
    fn try_from(raw: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Tags> for Vec<String> {
    fn from(tags: Tags) -> Self {
        tags.0.into_iter().map(String::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = Tags::parse(&[" Work", "work", "HOME "]).unwrap();
        let names: Vec<String> = tags.into();
        assert_eq!(names, vec!["home", "work"]);
    }

    #[test]
    fn tags_are_bounded() {
        assert!(Tags::parse(&[""]).is_err());
        assert!(Tags::parse(&["a,b"]).is_err());
        assert!(Tags::parse(&["x".repeat(41)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse(&many).unwrap_err().field, "tags");
        assert!(Tags::parse(&many[..20]).is_ok());
    }
}
