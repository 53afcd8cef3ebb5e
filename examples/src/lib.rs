//! Programs that embed `todo-core`; run them with `cargo run --example <name>`.
