//! The distributed services, one per process: `api`, `recurring`, `notification` and `audit`.
