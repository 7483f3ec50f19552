//! Fuzz target: `sim::scenario::fuzz::model_run` (see that module). Findings go to
//! `fuzz/regressions/model_run/`, replayed on stable by `sim/tests/fuzz_regressions.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sim::scenario::fuzz::model_run(data);
});
