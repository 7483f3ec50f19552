//! Fuzz target: `sim::sweep::grid::fuzz_grid` (`--grid` arguments and the `[sweep]` table).
//! Findings go to `fuzz/regressions/grid/`, replayed on stable by `sim/tests/fuzz_regressions.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = sim::sweep::grid::fuzz_grid(data);
});
