//! A task's priority and status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// How important a task is. Orders high → medium → low (so ascending sort puts high first).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priority {
    /// Shown first and in red.
    High,
    /// The default.
    #[default]
    Medium,
    /// Can wait.
    Low,
}

impl Priority {
    /// All priorities, high first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];

    /// The wire name: `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// Position in ascending order: high = 0, medium = 1, low = 2.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Parses a wire name; `field` names the parameter in errors.
    pub fn parse_for(raw: &str, field: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "high" => Ok(Priority::High),
            "medium" => Ok(Priority::Medium),
            "low" => Ok(Priority::Low),
            _ => Err(ValidationError::new(
                field,
                format!("unknown priority `{raw}` (expected high, medium or low)"),
            )),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_for(s, "priority")
    }
}

/// Whether a task is still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still to do.
    #[default]
    Pending,
    /// Done.
    Completed,
}

impl Status {
    /// The wire name: `pending` or `completed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Completed => "completed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Status::Pending),
            "completed" => Ok(Status::Completed),
            _ => Err(ValidationError::new(
                "status",
                format!("unknown status `{s}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_order_high_first_and_use_snake_case() {
        assert!(Priority::High < Priority::Medium && Priority::Medium < Priority::Low);
        assert_eq!(serde_json::to_string(&Priority::High).unwrap(), "\"high\"");
        assert_eq!("LOW".parse::<Priority>().unwrap(), Priority::Low);
        assert_eq!("urgent".parse::<Priority>().unwrap_err().field, "priority");
    }
}
