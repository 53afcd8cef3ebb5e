//! Unit tests: the SPEC examples.
