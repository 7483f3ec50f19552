//! Fuzz target: `sim::scenario::fuzz::scenario_load` (see that module). Findings go to
//! `fuzz/regressions/scenario_load/`, replayed on stable by `sim/tests/fuzz_regressions.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sim::scenario::fuzz::scenario_load(data);
});
