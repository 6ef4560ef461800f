//! Canonical JSON: object keys sorted recursively, no insignificant whitespace.
