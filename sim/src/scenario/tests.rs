//! Tests of scenario loading: one per error class, defaults, overrides, the timeline and the
//! resolved-TOML round trip.
