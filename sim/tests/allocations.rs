//! No allocation per event in steady state (an architecture invariant; the issue: "fan-out must
//! not allocate per event in steady state").
//!
//! A counting global allocator (the system allocator, plus a per-thread counter of allocations
//! and reallocations) measures `sim::model::run` alone, in process, on a horizon `H` and on
//! `2H` of the same steady traffic. The second half of the longer run adds as many events again;
//! it may allocate only for what grows with simulated time, not with events:
//!
//! - a time-series row per sample interval (the row's two per-provider vectors, and a new
//!   chunk of packed rows every couple of hundred rows), here one row a minute;
//! - a slab, a task queue, a queue bucket or a tool pool's waiting list reaching a new
//!   high-water mark (doubling: a handful over the whole run);
//! - a recorded fleet event (an instance starting or stopping), none with a fixed fleet.
//!
//! So the extra allocations must stay under one per `EVENTS_PER_ALLOCATION` extra events; a
//! single allocation per event, or per activity, would exceed that a hundredfold.
//!
//! The counter is per thread: the test harness runs other tests, and `run` is single-threaded.

use sim::scenario::Scenario;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread being torn down has no counter left; its allocations do not matter.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting allocates nothing.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// At most one allocation per this many extra events.
const EVENTS_PER_ALLOCATION: u64 = 1_000;

/// Allocations made by one run of `scenario` on this thread, and the events it processed.
fn allocations_and_events(scenario: &Scenario) -> (u64, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let output = sim::model::run(scenario).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, output.summary.events_processed)
}

/// Runs `text` (a scenario) on `horizon` and on twice that, and checks the second half's
/// allocations against its events.
fn check_steady_state(text: &str, horizon: &str, double: &str) {
    let load = |horizon: &str| {
        let overrides = vec![format!("run.horizon={horizon}")];
        sim::scenario::load_bytes(text.as_bytes(), Path::new("allocations.toml"), &overrides)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (short, long) = (load(horizon), load(double));
    let (allocations_short, events_short) = allocations_and_events(&short);
    let (allocations_long, events_long) = allocations_and_events(&long);
    let extra_events = events_long - events_short;
    let extra_allocations = allocations_long.saturating_sub(allocations_short);
    assert!(
        extra_events >= 100_000,
        "{}: too few events to tell ({extra_events})",
        short.name
    );
    assert!(
        extra_allocations * EVENTS_PER_ALLOCATION < extra_events,
        "{}: {extra_allocations} more allocations for {extra_events} more events \
         ({allocations_short} on {horizon}, {allocations_long} on {double})",
        short.name
    );
}

/// A parallel fan-out (5 branches, one with a repeat, one a child workflow), with on-failure
/// fallbacks, retries, streaming, growing and cached prompts and a tool connection pool, on a
/// fixed fleet under constant traffic.
const FAN_OUT: &str = r#"
name = "fan-out"
seed = 7

[run]
sample_interval = "60s"

[traffic]
kind = "constant"
rate_per_s = 0.5

[conversation]
messages = { kind = "geometric", mean = 3 }
think_time = { kind = "lognormal", median = "20s", p99 = "2m" }
idle_timeout = "5m"
abandon_after = "10m"

[[agent.steps]]
name = "plan"
kind = "llm"
group = "main"
input_tokens = { kind = "lognormal", median = 2000, p99 = 8000 }
output_tokens = { kind = "lognormal", median = 200, p99 = 800 }
input_tokens_per_turn = 300
carry_previous_output = true
cached_input_fraction = 0.4
first_chunk_tokens = 20
cpu = "5ms"

[[agent.steps]]
name = "fan-out"
kind = "parallel"
width = { kind = "constant", value = 5 }
on_branch_failure = "continue"

[[agent.steps.steps]]
name = "search-loop"
kind = "repeat"
count = { kind = "uniform", min = 0.5, max = 3.5 }

[[agent.steps.steps.steps]]
name = "search"
kind = "tool"
latency = { kind = "lognormal", median = "300ms", p99 = "3s" }
failure_probability = 0.2
max_concurrent_calls = 12
cpu = "2ms"
start_to_close_timeout = "10s"

[agent.steps.steps.steps.on_failure]
max_runs = 2
steps = [
  { name = "replan", kind = "llm", group = "main", input_tokens = { kind = "constant", value = 1000 }, output_tokens = { kind = "constant", value = 50 } },
  { name = "search-again", kind = "tool", latency = { kind = "constant", value = "500ms" }, failure_probability = 0.1 },
]

[[agent.steps.steps]]
name = "read"
kind = "llm"
group = "main"
input_tokens = { kind = "lognormal", median = 1500, p99 = 5000 }
output_tokens = { kind = "lognormal", median = 100, p99 = 400 }
first_chunk_tokens = 10

[[agent.steps]]
name = "subagents"
kind = "parallel"
child_workflow = true
wait_for = 1

[[agent.steps.branches]]
name = "a"
steps = [{ name = "a-call", kind = "tool", latency = { kind = "exponential", mean = "1s" }, failure_probability = 0.02 }]

[[agent.steps.branches]]
name = "b"
steps = [{ name = "b-call", kind = "tool", latency = { kind = "exponential", mean = "2s" } }]

[[agent.steps]]
name = "respond"
kind = "llm"
group = "main"
input_tokens = { kind = "lognormal", median = 3000, p99 = 12000 }
output_tokens = { kind = "lognormal", median = 300, p99 = 1000 }
cpu = "10ms"

[retry]
initial_interval = "1s"
backoff_coefficient = 2.0
maximum_interval = "10s"
maximum_attempts = 3

[temporal]
cache_size = 500
max_concurrent_activities = 200
max_concurrent_workflow_tasks = 200

[instance]
vcpus = 4
memory_limit = "8GiB"

[autoscaler]
kind = "fixed"
instances = 4

[providers.first]
ttft = { kind = "lognormal", median = "500ms", p99 = "5s" }
output_tokens_per_s = 100
prefill_tokens_per_s = 20000
error_probability = 0.02
timeout = "60s"
input_price_per_million_usd = 3.0
output_price_per_million_usd = 15.0
cached_input_price_per_million_usd = 0.3

[providers.second]
ttft = { kind = "lognormal", median = "700ms", p99 = "7s" }
output_tokens_per_s = 80
error_probability = 0.01
timeout = "60s"

[provider_groups]
main = ["first", "second"]
"#;

#[test]
fn fan_out_does_not_allocate_per_event_in_steady_state() {
    check_steady_state(FAN_OUT, "1h", "2h");
}

#[test]
fn the_support_agent_does_not_allocate_per_event() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/support-agent.toml");
    let text = std::fs::read_to_string(&path).expect("the support-agent scenario");
    // The night: the traffic grows slowly, so slabs and queues reach new high-water marks now
    // and then (a doubling each), and the autoscaler adds an instance or two.
    check_steady_state(&text, "2h", "4h");
}
