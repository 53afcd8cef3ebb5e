//! OpenAPI schemas of domain types whose JSON shape no derive can describe (feature `openapi`).

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use crate::recurrence::Recurrence;

/// `"daily" | "weekly" | "monthly"` or `{"rrule": "...", "anchor"?: "due" | "completion"}`, exactly
/// what [`Recurrence`]'s `Deserialize` accepts.
impl utoipa::PartialSchema for Recurrence {
    fn schema() -> RefOr<Schema> {
        let preset = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["daily", "weekly", "monthly"]))
            .description(Some(
                "A preset, at the due date's local time in the task's time zone.",
            ));
        let rule = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "rrule",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("An RFC 5545 RRULE without DTSTART (the due date is the series start)."))
                    .examples([serde_json::json!("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2")]),
            )
            .required("rrule")
            .property(
                "anchor",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["due", "completion"]))
                    .default(Some(serde_json::json!("due")))
                    .description(Some(
                        "`due`: the next occurrence follows the rule from the completed one's due date; `completion`: the rule restarts from the completion time.",
                    )),
            )
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(
                false,
            )));
        OneOfBuilder::new()
            .item(preset)
            .item(rule)
            .description(Some("How a task repeats."))
            .into()
    }
}

impl utoipa::ToSchema for Recurrence {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Recurrence")
    }
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn the_recurrence_schema_offers_the_presets_and_a_rule_object() {
        let json = serde_json::to_value(Recurrence::schema()).unwrap();
        let one_of = json["oneOf"].as_array().expect("oneOf");
        assert_eq!(
            one_of[0]["enum"],
            serde_json::json!(["daily", "weekly", "monthly"])
        );
        assert_eq!(one_of[1]["required"], serde_json::json!(["rrule"]));
        // Every example the schema gives parses.
        for preset in ["daily", "weekly", "monthly"] {
            serde_json::from_value::<Recurrence>(serde_json::json!(preset)).unwrap();
        }
        serde_json::from_value::<Recurrence>(
            serde_json::json!({"rrule": one_of[1]["properties"]["rrule"]["examples"][0], "anchor": "completion"}),
        )
        .unwrap();
    }
}
