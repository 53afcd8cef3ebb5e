//! Arbitrary input for the adapters' no-panic property tests: JSON of any shape, with `notable`
//! strings (ids, event types, near misses) mixed in among random ones, so that decoders meet both
//! noise and values that almost pass.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value up to three levels deep, its strings random or one of `notable`.
pub fn any_json(notable: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        prop::sample::select(notable).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
