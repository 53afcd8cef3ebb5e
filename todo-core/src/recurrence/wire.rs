//! The outside forms of a [`Recurrence`]: JSON (the REST contract) and one line of text (storage).
//!
//! JSON: `"daily"`, `"weekly"`, `"monthly"` or `{"rrule": "FREQ=...", "anchor": "due" | "completion"}`,
//! where `anchor` may be left out on input (it defaults to `due`) and is always written on output.
//!
//! Text: `daily`, `weekly`, `monthly`, or `RRULE:` followed by the canonical rule, with `;anchor=completion`
//! appended when the rule follows completions: `RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE` or
//! `RRULE:FREQ=DAILY;INTERVAL=3;anchor=completion`. Lower case keeps the anchor apart from RRULE parts.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Anchor, CustomRule, Recurrence};
use crate::error::ValidationError;

const EXPECTED: &str =
    r#""daily", "weekly", "monthly" or {"rrule": "FREQ=...", "anchor": "due" | "completion"}"#;

impl Serialize for Recurrence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Daily => serializer.serialize_str("daily"),
            Self::Weekly => serializer.serialize_str("weekly"),
            Self::Monthly => serializer.serialize_str("monthly"),
            Self::Rule(rule) => {
                let mut object = serializer.serialize_struct("Recurrence", 2)?;
                object.serialize_field("rrule", rule.rrule())?;
                object.serialize_field("anchor", &rule.anchor())?;
                object.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Recurrence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RecurrenceVisitor)
    }
}

struct RecurrenceVisitor;

impl<'de> Visitor<'de> for RecurrenceVisitor {
    type Value = Recurrence;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Recurrence, E> {
        match value {
            "daily" => Ok(Recurrence::Daily),
            "weekly" => Ok(Recurrence::Weekly),
            "monthly" => Ok(Recurrence::Monthly),
            other => Err(E::custom(format!(
                "unknown recurrence {other:?}; expected {EXPECTED}"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Recurrence, A::Error> {
        let mut rrule: Option<String> = None;
        let mut anchor: Option<Anchor> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "rrule" if rrule.is_some() => return Err(de::Error::duplicate_field("rrule")),
                "rrule" => rrule = Some(map.next_value()?),
                "anchor" if anchor.is_some() => return Err(de::Error::duplicate_field("anchor")),
                "anchor" => anchor = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["rrule", "anchor"])),
            }
        }
        let rrule = rrule.ok_or_else(|| de::Error::missing_field("rrule"))?;
        CustomRule::parse(&rrule, anchor.unwrap_or_default())
            .map(Recurrence::Rule)
            .map_err(|e| de::Error::custom(e.message))
    }
}

impl fmt::Display for Recurrence {
    /// The storage text (see the module documentation); [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Daily => f.write_str("daily"),
            Self::Weekly => f.write_str("weekly"),
            Self::Monthly => f.write_str("monthly"),
            Self::Rule(rule) => {
                write!(f, "RRULE:{}", rule.rrule())?;
                match rule.anchor() {
                    Anchor::Due => Ok(()),
                    Anchor::Completion => f.write_str(";anchor=completion"),
                }
            }
        }
    }
}

impl FromStr for Recurrence {
    type Err = ValidationError;

    /// Reads the storage text; also accepts a bare rule (`FREQ=DAILY`), any case, and `;anchor=due`.
    fn from_str(text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        for (name, preset) in [
            ("daily", Self::Daily),
            ("weekly", Self::Weekly),
            ("monthly", Self::Monthly),
        ] {
            if text.eq_ignore_ascii_case(name) {
                return Ok(preset);
            }
        }
        let body = text
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("RRULE:"))
            .map_or(text, |_| &text[6..]);
        let mut anchor = None;
        let mut rule_parts = Vec::new();
        for part in body.split(';') {
            match part.split_once('=') {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("anchor") => {
                    if anchor.is_some() {
                        return Err(ValidationError::new(
                            "recurrence",
                            "anchor appears more than once",
                        ));
                    }
                    anchor = Some(match value.trim().to_ascii_lowercase().as_str() {
                        "due" => Anchor::Due,
                        "completion" => Anchor::Completion,
                        other => {
                            return Err(ValidationError::new(
                                "recurrence",
                                format!("anchor={other} is not an anchor; use due or completion"),
                            ))
                        }
                    });
                }
                _ => rule_parts.push(part),
            }
        }
        CustomRule::parse(&rule_parts.join(";"), anchor.unwrap_or_default()).map(Self::Rule)
    }
}
