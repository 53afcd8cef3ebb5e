//! Placeholder; the latency harness is written below.
fn main() {}
