//! Fuzz target: `sim::scenario::fuzz::set_override` (see that module). Findings go to
//! `fuzz/regressions/set_override/`, replayed on stable by `sim/tests/fuzz_regressions.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sim::scenario::fuzz::set_override(data);
});
