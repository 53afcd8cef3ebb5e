//! Test support for integration tests that need real infrastructure.
