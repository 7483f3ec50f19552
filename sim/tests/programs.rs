//! Acceptance tests of agent programs (`[[agent.steps]]` with parallel, repeat, choice,
//! on-failure, streaming, growing and cached prompts, tool prices and pools).
//!
//! Most tests compare a figure with a closed form, on scenarios built so that it holds
//! (`base`): no CPU anywhere, no cache-miss cost, a fixed fleet with more slots than are ever
//! used, timeouts out of reach and (unless a test needs them) no retries. Arrivals stop well
//! before the horizon, so every conversation has ended when the run does and per-turn or
//! per-conversation ratios have no edge effect. Random quantities are compared with the 95%
//! Student-t interval of the means of `REPLICATIONS` replications with independent seeds;
//! deterministic ones are compared exactly. The last two tests run one scenario with every
//! kind of step on a fleet that crashes and redeploys: its outputs do not depend on the number
//! of threads, and the end-of-run checks hold over several seeds. Seeds are fixed, so every
//! outcome is reproducible.

use rayon::prelude::*;
use sim::engine::rng::replication_seed;
use sim::metrics::report::Summary;
use sim::metrics::stats::Stats;
use sim::scenario::Scenario;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const REPLICATIONS: u32 = 10;

/// Everything but the program: Poisson arrivals at `rate_per_s` for `arrivals_s` seconds, then
/// none until `horizon_s`; one message per conversation; no CPU, cache or memory cost; one
/// instance with slots to spare; one attempt per activity; one LLM provider `llm` (TTFT
/// 500 ms, 100 tokens/s) in group `main`. Tests change what they need with overrides.
fn base(rate_per_s: f64, arrivals_s: u64, horizon_s: u64) -> String {
    format!(
        r#"
name = "programs"
seed = 1

[run]
horizon = "{horizon_s}s"
sample_interval = "1h"

[traffic]
kind = "piecewise"
points = [{{ at = "0s", rate_per_s = {rate_per_s:?} }}, {{ at = "{arrivals_s}s", rate_per_s = 0.0 }}]

[conversation]
messages = {{ kind = "constant", value = 1 }}
think_time = {{ kind = "constant", value = "1s" }}
idle_timeout = "0s"
abandon_after = "1000d"

[activity]
start_to_close_timeout = "1000d"
memory = "0B"

[retry]
maximum_attempts = 1

[temporal]
max_concurrent_activities = 1000000
max_concurrent_workflow_tasks = 1000000
cache_size = 1000000
workflow_task_cpu = "0s"
replay_cpu_per_event = "0s"
history_fetch_base = "0s"
history_fetch_per_page = "0s"
cached_workflow_memory = "0B"
cached_memory_per_event = "0B"

[instance]
vcpus = 1
memory_limit = "1TiB"
runtime_memory = "0B"
startup_cpu = "0s"

[autoscaler]
kind = "fixed"
instances = 1

[providers.llm]
ttft = {{ kind = "constant", value = "500ms" }}
output_tokens_per_s = 100
timeout = "1d"

[provider_groups]
main = ["llm"]
"#
    )
}

/// A tool step as an inline table, without CPU.
fn tool(name: &str, latency: &str, extra: &str) -> String {
    format!(r#"{{ kind = "tool", name = "{name}", cpu = "0s", latency = {latency}{extra} }}"#)
}

/// An LLM step on group `main` as an inline table, without CPU, with constant token counts.
fn llm(name: &str, input: u64, output: u64, extra: &str) -> String {
    format!(
        r#"{{ kind = "llm", name = "{name}", cpu = "0s", group = "main", input_tokens = {{ kind = "constant", value = {input} }}, output_tokens = {{ kind = "constant", value = {output} }}{extra} }}"#
    )
}

/// A program of inline step tables, as `[agent] steps = [...]`.
fn program(steps: &[String]) -> String {
    let steps: Vec<String> = steps.iter().map(|step| format!("    {step},\n")).collect();
    format!("[agent]\nsteps = [\n{}]\n", steps.concat())
}

fn exponential(mean: &str) -> String {
    format!(r#"{{ kind = "exponential", mean = "{mean}" }}"#)
}

fn constant(value: &str) -> String {
    format!(r#"{{ kind = "constant", value = "{value}" }}"#)
}

/// Loads `text` (with `overrides`, each `"dotted.key=value"`) from a temporary file.
fn load(text: &str, overrides: &[&str]) -> Scenario {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("programs.toml");
    fs::write(&path, text).expect("write scenario");
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    sim::scenario::load(&path, &overrides).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One run; the end-of-run checkers have passed (a failed check is an error). Asserts that
/// every conversation ended within the run.
fn run(scenario: &Scenario) -> Summary {
    let summary = sim::model::run(scenario)
        .unwrap_or_else(|e| panic!("seed {}: {e}", scenario.seed))
        .summary;
    assert!(summary.checks.conservation);
    assert_eq!(
        summary.conversations.open_at_end, 0,
        "arrivals stop in time"
    );
    assert_eq!(summary.messages.in_flight_at_end, 0);
    assert!(summary.agent.turns > 0);
    summary
}

/// The summaries of `REPLICATIONS` runs with independent seeds, in replication order.
fn replicate(scenario: &Scenario) -> Vec<Summary> {
    (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| {
            let mut replication = scenario.clone();
            replication.seed = replication_seed(scenario.seed, r);
            run(&replication)
        })
        .collect()
}

/// One figure of each replication.
fn each(summaries: &[Summary], measure: impl Fn(&Summary) -> f64) -> Vec<f64> {
    summaries.iter().map(measure).collect()
}

/// `count` per finished turn.
fn per_turn(count: u64, s: &Summary) -> f64 {
    count as f64 / s.agent.turns as f64
}

/// The closed form `expected` lies in the 95% interval of the replication means, and the
/// interval is narrow enough to mean something: its half-width is at most `max_relative`
/// of `expected`.
fn assert_in_ci(what: &str, values: &[f64], expected: f64, max_relative: f64) {
    let stats = Stats::of(values);
    let half_width = stats.ci95.expect("several replications");
    eprintln!(
        "{what}: expected {expected:.6}, observed {:.6} +- {half_width:.6}",
        stats.mean
    );
    assert!(
        (stats.mean - expected).abs() <= half_width,
        "{what}: closed form {expected:.6} outside {:.6} +- {half_width:.6}",
        stats.mean
    );
    assert!(
        half_width <= max_relative * expected,
        "{what}: interval too wide: +- {half_width:.6} around {expected:.6}"
    );
}

fn harmonic(n: u32) -> f64 {
    (1..=n).map(|i| 1.0 / i as f64).sum()
}

// ----- Fan-out and join -----

/// `width` copies of one tool with exponential latency of mean 1 s. With no queueing the
/// join waits for the slowest of N i.i.d. exponentials: E[max] = m (1 + 1/2 + ... + 1/N).
fn check_fan_out(width: u32) {
    let text = format!(
        r#"{}
[[agent.steps]]
kind = "parallel"
name = "fan"
width = {{ kind = "constant", value = {width} }}
steps = [{}]
"#,
        base(2.0, 5_000, 6_000),
        tool("leaf", &exponential("1s"), "")
    );
    let scenario = load(&text, &[]);
    let summaries = replicate(&scenario);
    for s in &summaries {
        let fan = &s.steps["fan"];
        // Nothing but the join takes time: the response is the step, turn by turn.
        assert_eq!(s.response_latency_s.mean, fan.latency_s.mean);
        assert_eq!(fan.completed, s.agent.turns);
        assert_eq!(s.steps["leaf"].tool_calls, width as u64 * s.agent.turns);
        assert_eq!(s.agent.branches.started, width as u64 * s.agent.turns);
        assert_eq!(s.agent.branches.succeeded, s.agent.branches.started);
        assert_eq!(s.agent.branches.abandoned, 0);
    }
    assert_in_ci(
        &format!("fan-out of {width}: join latency, s"),
        &each(&summaries, |s| s.steps["fan"].latency_s.mean),
        harmonic(width),
        0.01,
    );
}

#[test]
fn fan_out_of_1_takes_the_mean() {
    check_fan_out(1);
}

#[test]
fn fan_out_of_3_takes_m_h3() {
    check_fan_out(3);
}

#[test]
fn fan_out_of_10_takes_m_h10() {
    check_fan_out(10);
}

/// A fixed list of three branches with exponential tools of means 1, 2 and 4 s (rates
/// l1, l2, l3 = 1, 1/2, 1/4). By inclusion-exclusion, E[max] = sum 1/li - sum_{i<j} 1/(li + lj)
/// + 1/(l1 + l2 + l3) = 7 - (2/3 + 4/5 + 4/3) + 4/7 = 4.771429 s.
#[test]
fn fixed_branches_join_on_the_slowest() {
    let text = format!(
        r#"{}
[[agent.steps]]
kind = "parallel"
name = "fan"
[[agent.steps.branches]]
name = "one"
steps = [{}]
[[agent.steps.branches]]
name = "two"
steps = [{}]
[[agent.steps.branches]]
name = "four"
steps = [{}]
"#,
        base(1.0, 8_000, 9_000),
        tool("one-s", &exponential("1s"), ""),
        tool("two-s", &exponential("2s"), ""),
        tool("four-s", &exponential("4s"), ""),
    );
    let scenario = load(&text, &[]);
    let rates = [1.0, 0.5, 0.25];
    let singles: f64 = rates.iter().map(|l| 1.0 / l).sum();
    let pairs =
        1.0 / (rates[0] + rates[1]) + 1.0 / (rates[0] + rates[2]) + 1.0 / (rates[1] + rates[2]);
    let all = 1.0 / (rates[0] + rates[1] + rates[2]);
    let expected = singles - pairs + all;
    assert!((expected - 4.771_429).abs() < 1e-6);
    let summaries = replicate(&scenario);
    for s in &summaries {
        assert_eq!(s.response_latency_s.mean, s.steps["fan"].latency_s.mean);
        for step in ["one-s", "two-s", "four-s"] {
            assert_eq!(s.steps[step].tool_calls, s.agent.turns);
        }
    }
    let means = each(&summaries, |s| s.steps["fan"].latency_s.mean);
    assert_in_ci(
        "fixed branches 1 s, 2 s, 4 s: join latency, s",
        &means,
        expected,
        0.01,
    );
}

// ----- Repeat and re-plan: LLM calls per turn -----

/// A planning call, then a loop of (search call, fetch) run a geometric number of times, then
/// a loop of verify calls whose count may be 0. The loader's geometric is the number of trials
/// up to the first success, p = 1 / mean, support 1, 2, 3, ... (never 0), so E[count] = 1 / p
/// = mean = 2.5. The verify count is uniform on [0, 2) rounded to the nearest integer: 0, 1, 2
/// with probabilities 1/4, 1/2, 1/4 (a count of 0 is an immediate success), mean 1. So
/// E[LLM calls per turn] = 1 + 2.5 + 1 = 4.5 and E[tool calls per turn] = 2.5. Every call
/// succeeds (no errors).
#[test]
fn repeat_runs_its_body_a_geometric_number_of_times() {
    let text = format!(
        r#"{}
[[agent.steps]]
kind = "llm"
name = "plan"
cpu = "0s"
group = "main"
input_tokens = {{ kind = "constant", value = 100 }}
output_tokens = {{ kind = "constant", value = 10 }}

[[agent.steps]]
kind = "repeat"
name = "search-loop"
count = {{ kind = "geometric", mean = 2.5 }}
steps = [{}, {}]

[[agent.steps]]
kind = "repeat"
name = "verify-loop"
count = {{ kind = "uniform", min = 0, max = 2 }}
steps = [{}]
"#,
        base(2.0, 5_000, 6_000),
        llm("search", 200, 10, ""),
        tool(
            "fetch",
            &exponential("200ms"),
            ", price_per_call_usd = 0.001"
        ),
        llm("verify", 200, 10, ""),
    );
    let scenario = load(&text, &[]);
    let summaries = replicate(&scenario);
    for s in &summaries {
        assert_eq!(s.steps["search-loop"].completed, s.agent.turns);
        assert_eq!(s.steps["verify-loop"].completed, s.agent.turns);
        assert_eq!(s.steps["plan"].llm_calls, s.agent.turns);
        // Every loop run is one search and one fetch.
        assert_eq!(s.steps["search"].llm_calls, s.steps["fetch"].tool_calls);
        // Tools are charged per call.
        let tools = 0.001 * s.agent.tool_calls as f64;
        assert!(
            (s.cost_usd.tools - tools).abs() <= 1e-9 * tools,
            "{}",
            s.cost_usd.tools
        );
        assert_eq!(s.cost_usd.tools, s.steps["fetch"].cost_usd);
    }
    let llm_calls = each(&summaries, |s| s.agent.llm_calls_per_turn);
    assert_in_ci("repeat: LLM calls per turn", &llm_calls, 4.5, 0.01);
    let verify_calls = each(&summaries, |s| per_turn(s.steps["verify"].llm_calls, s));
    assert_in_ci(
        "repeat from 0: verify calls per turn",
        &verify_calls,
        1.0,
        0.02,
    );
    let tool_calls = each(&summaries, |s| per_turn(s.agent.tool_calls, s));
    assert_in_ci("repeat: tool calls per turn", &tool_calls, 2.5, 0.01);
}

/// A tool that fails with p = 0.4 (one attempt), re-planned at most R = 3 times; a re-plan is
/// an LLM call (never fails) then the tool again (fails with p, independently). Fallback run j
/// (1 <= j <= R) happens exactly when the tool and the j - 1 earlier re-tries have all failed:
/// P = p^j. So E[LLM calls per turn] = p + p^2 + p^3 = 0.624; a turn fails for good (the
/// message is unanswered) when all R + 1 tool calls fail: p^4 = 0.0256; a conversation (one
/// message) has a re-plan when the first call fails: p = 0.4.
#[test]
fn replans_run_until_the_tool_succeeds_or_max_runs() {
    let p: f64 = 0.4;
    let failing = format!(", failure_probability = {p}");
    let text = format!(
        r#"{}
[[agent.steps]]
kind = "tool"
name = "query-db"
cpu = "0s"
latency = {{ kind = "constant", value = "300ms" }}
failure_probability = {p}
[agent.steps.on_failure]
max_runs = 3
steps = [{}, {}]
"#,
        base(2.0, 10_000, 11_000),
        llm("replan", 2000, 200, ""),
        tool("query-db-again", &constant("300ms"), &failing),
    );
    let scenario = load(&text, &[]);
    let expected_llm = p + p.powi(2) + p.powi(3);
    let summaries = replicate(&scenario);
    for s in &summaries {
        // Each fallback run makes exactly one LLM call.
        assert_eq!(s.agent.fallbacks_run, s.steps["replan"].llm_calls);
        assert_eq!(s.steps["query-db"].failed, s.messages.unanswered);
    }
    let llm_calls = each(&summaries, |s| s.agent.llm_calls_per_turn);
    let unanswered = each(&summaries, |s| {
        s.messages.unanswered as f64 / s.messages.received as f64
    });
    let replanned = each(&summaries, |s| s.agent.replan_conversation_fraction);
    assert_in_ci(
        "re-plan: LLM calls per turn",
        &llm_calls,
        expected_llm,
        0.02,
    );
    assert_in_ci("re-plan: unanswered fraction", &unanswered, p.powi(4), 0.1);
    assert_in_ci("re-plan: conversations with a re-plan", &replanned, p, 0.02);
}

// ----- Streaming -----

/// An LLM step (TTFT t1 = 500 ms, r = 100 tokens/s, `output` tokens, streaming its first
/// `first_chunk` tokens) followed by a tool of constant t2 = 250 ms, wrapped as `wrap` says.
/// Response budget 1 s with an SLO on the share of turns over it. One run: nothing is random
/// but the arrival times.
fn streaming_run(output: u64, first_chunk: Option<u64>, wrap: &str) -> Summary {
    let chunk = first_chunk.map_or(String::new(), |k| format!(", first_chunk_tokens = {k}"));
    let answer = llm("answer", 1000, output, &chunk);
    let speak = tool("speak", &constant("250ms"), "");
    let program = match wrap {
        "plain" => program(&[answer, speak]),
        // The on-failure wrapper hands the first chunk on to the sequence.
        "on_failure" => {
            let fallback = llm("retry-answer", 1000, output, "");
            let extra = format!("{chunk}, on_failure = {{ steps = [{fallback}] }}");
            program(&[llm("answer", 1000, output, &extra), speak])
        }
        // Twice in a row inside a repeat: each run of the body waits for both of its steps.
        "repeat" => program(&[format!(
            r#"{{ kind = "repeat", name = "twice", count = {{ kind = "constant", value = 2 }}, steps = [{answer}, {speak}] }}"#
        )]),
        other => unreachable!("{other}"),
    };
    let text = format!(
        r#"{}
{program}
[[slo]]
metric = "response_over_budget_fraction"
max = 0.05
"#,
        base(1.0, 600, 700),
    );
    run(&load(&text, &["conversation.response_budget=1s"]))
}

/// Every turn's latency is one exact value: the mean and the maximum (exact) equal it, and
/// the median (HDR histogram, 3 significant digits) is within 0.1% of it.
fn assert_every_turn_takes(s: &Summary, seconds: f64) {
    let r = &s.response_latency_s;
    assert_eq!(r.count, s.agent.turns);
    assert_eq!((r.mean, r.max), (seconds, seconds), "{r:?}");
    assert!((r.p50 - seconds).abs() <= 1e-3 * seconds, "{r:?}");
}

/// With TTFT t1, throughput r, a first chunk of k tokens and a next step of t2, the pair takes
/// max(t1 + k/r + t2, t1 + output/r). Here t1 + k/r + t2 = 0.5 + 20/100 + 0.25 = 0.95 s, and a
/// reply of 40 tokens ends generating at 0.9 s, before the tool; 200 tokens end at 2.5 s, after
/// it. Without streaming the two run one after the other: 0.5 + 40/100 + 0.25 = 1.15 s.
#[test]
fn streaming_overlaps_the_next_step_with_generation() {
    let chunk_bound = streaming_run(40, Some(20), "plain");
    eprintln!(
        "streaming, chunk path: expected 0.95 s, observed mean {} max {} p50 {}",
        chunk_bound.response_latency_s.mean,
        chunk_bound.response_latency_s.max,
        chunk_bound.response_latency_s.p50
    );
    assert_every_turn_takes(&chunk_bound, 0.95);
    assert_eq!(chunk_bound.steps["answer"].latency_s.mean, 0.9);
    assert_eq!(chunk_bound.steps["speak"].latency_s.mean, 0.25);
    assert_eq!(chunk_bound.slo[0].value, 0.0);
    assert_eq!(
        chunk_bound.agent.turns_within_budget,
        chunk_bound.agent.turns
    );
    assert_eq!(chunk_bound.agent.response_within_budget_fraction, Some(1.0));

    let generation_bound = streaming_run(200, Some(20), "plain");
    eprintln!(
        "streaming, generation path: expected 2.5 s, observed mean {} max {}",
        generation_bound.response_latency_s.mean, generation_bound.response_latency_s.max
    );
    assert_every_turn_takes(&generation_bound, 2.5);
    assert_eq!(generation_bound.steps["speak"].latency_s.mean, 0.25);
    assert_eq!(generation_bound.slo[0].value, 1.0);
    assert_eq!(generation_bound.agent.turns_within_budget, 0);

    let sequential = streaming_run(40, None, "plain");
    assert_every_turn_takes(&sequential, 1.15);
    assert_eq!(sequential.slo[0].value, 1.0);

    let wrapped = streaming_run(40, Some(20), "on_failure");
    assert_every_turn_takes(&wrapped, 0.95);
    assert_eq!(wrapped.agent.fallbacks_run, 0);

    let repeated = streaming_run(40, Some(20), "repeat");
    assert_every_turn_takes(&repeated, 1.9);
    let repeated_long = streaming_run(200, Some(20), "repeat");
    assert_every_turn_takes(&repeated_long, 5.0);
}

// ----- Tokens: growing, carried and cached prompts -----

/// Four messages per conversation, three LLM steps per turn, every token count constant:
///
/// - `plan`: input I1 = 500, output O1 = 40, carries its output;
/// - `answer`: input I2 = 1000, output O2 = 100, `input_tokens_per_turn` g2 = 200, carries
///   its output, a quarter of its input read from the prompt cache;
/// - `wrap-up`: input I3 = 300, output O3 = 30, g3 = 50, does not carry.
///
/// In turn t (1-based) the carried context is (t - 1)(O1 + O2) (every earlier carrying call),
/// plus O1 for `answer`, which comes after this turn's `plan`. With n = 4 and S = n(n - 1)/2
/// = 6, per conversation:
///
/// - plan input = n I1 + S (O1 + O2) = 2000 + 840 = 2840;
/// - answer input = n I2 + g2 S + S (O1 + O2) + n O1 = 4000 + 1200 + 840 + 160 = 6200, each
///   call a multiple of 4 (1040 + 340 (t - 1)), so its cached quarter is exact: 1550;
/// - wrap-up input = n I3 + g3 S = 1200 + 300 = 1500;
/// - output = n (O1 + O2 + O3) = 680.
///
/// Prices $3 / $0.30 (cached) / $15 per million; cost per conversation =
/// ((2840 + 4650 + 1500) x 3 + 1550 x 0.3 + 680 x 15) / 1e6. The provider prefills the
/// uncached input at 10,000 tokens/s, so an `answer` call takes 0.5 + 0.75 (1040 + 340 (t - 1))
/// / 10,000 + 100 / 100 s: 1.5 + (780 + 255 x 1.5) / 10,000 = 1.61625 s on average.
#[test]
fn prompt_tokens_grow_carry_and_cache_exactly() {
    let steps = [
        llm("plan", 500, 40, ", carry_previous_output = true"),
        llm(
            "answer",
            1000,
            100,
            ", input_tokens_per_turn = 200, carry_previous_output = true, \
             cached_input_fraction = 0.25",
        ),
        llm("wrap-up", 300, 30, ", input_tokens_per_turn = 50"),
    ];
    let text = format!("{}{}", base(0.5, 2_000, 3_000), program(&steps));
    let s = run(&load(
        &text,
        &[
            "conversation.messages={ kind = \"constant\", value = 4 }",
            "conversation.idle_timeout=2s",
            "providers.llm.input_price_per_million_usd=3",
            "providers.llm.cached_input_price_per_million_usd=0.3",
            "providers.llm.output_price_per_million_usd=15",
            "providers.llm.prefill_tokens_per_s=10000",
        ],
    ));
    let conversations = s.conversations.started;
    assert!(conversations > 500, "{conversations}");
    assert_eq!(s.conversations.completed, conversations);
    assert_eq!(s.agent.turns, 4 * conversations);
    let expected = |per_conversation: u64| per_conversation * conversations;
    let steps = &s.steps;
    eprintln!(
        "tokens over {conversations} conversations: plan {} (expected {}), answer {} ({}), \
         wrap-up {} ({}), cached {} ({}), output {} ({})",
        steps["plan"].input_tokens,
        expected(2840),
        steps["answer"].input_tokens,
        expected(6200),
        steps["wrap-up"].input_tokens,
        expected(1500),
        s.llm_calls["llm"].cached_input_tokens,
        expected(1550),
        s.llm_calls["llm"].output_tokens,
        expected(680),
    );
    assert_eq!(steps["plan"].input_tokens, expected(2840));
    assert_eq!(steps["answer"].input_tokens, expected(6200));
    assert_eq!(steps["wrap-up"].input_tokens, expected(1500));
    assert_eq!(steps["answer"].cached_input_tokens, expected(1550));
    assert_eq!(steps["plan"].cached_input_tokens, 0);
    assert_eq!(steps["wrap-up"].cached_input_tokens, 0);
    let provider = &s.llm_calls["llm"];
    assert_eq!(provider.calls, 3 * s.agent.turns);
    assert_eq!(provider.input_tokens, expected(2840 + 6200 + 1500));
    assert_eq!(provider.cached_input_tokens, expected(1550));
    assert_eq!(provider.output_tokens, expected(680));
    // Money is summed in floating point call by call: equal to rounding.
    let cost = conversations as f64
        * ((2840.0 + 4650.0 + 1500.0) * 3.0 + 1550.0 * 0.3 + 680.0 * 15.0)
        / 1e6;
    eprintln!(
        "LLM cost: expected {cost:.9}, observed {:.9}",
        s.cost_usd.llm
    );
    assert!(
        (s.cost_usd.llm - cost).abs() <= 1e-9 * cost,
        "{}",
        s.cost_usd.llm
    );
    let answer_cost = conversations as f64 * (4650.0 * 3.0 + 1550.0 * 0.3 + 400.0 * 15.0) / 1e6;
    assert!((steps["answer"].cost_usd - answer_cost).abs() <= 1e-9 * answer_cost);
    // Prefill: the uncached part of the growing prompt lengthens the TTFT.
    let answer_latency = steps["answer"].latency_s.mean;
    eprintln!("answer latency with prefill: expected 1.61625 s, observed {answer_latency}");
    assert!((answer_latency - 1.61625).abs() < 1e-9, "{answer_latency}");
    // plan: 0.5 + (500 + 140 x 1.5) / 10,000 + 0.4; wrap-up: 0.5 + (300 + 50 x 1.5) / 10,000 + 0.3.
    assert!((steps["plan"].latency_s.mean - 0.971).abs() < 1e-9);
    assert!((steps["wrap-up"].latency_s.mean - 0.8375).abs() < 1e-9);
}

// ----- Conversations with a failed tool call -----

/// Two messages; each turn runs a repeat of constant count 2 whose body is two tools, then a
/// third tool: n = 2 x (2 x 2 + 1) = 10 tool calls per conversation, each of whose attempts
/// fails independently with p = 0.05 (up to three attempts). A conversation has no failed call
/// exactly when the first attempt of each of its n calls succeeds (then nothing is retried and
/// every turn is answered), so the fraction with a failure is 1 - (1 - p)^n = 0.401263.
#[test]
fn a_conversation_sees_a_tool_failure_with_probability_1_minus_q_to_the_n() {
    let p: f64 = 0.05;
    let failing = format!(", failure_probability = {p}");
    let lookup = tool("lookup", &exponential("200ms"), &failing);
    let check = tool("check", &exponential("200ms"), &failing);
    let twice = format!(
        r#"{{ kind = "repeat", name = "twice", count = {{ kind = "constant", value = 2 }}, steps = [{lookup}, {check}] }}"#
    );
    let write = tool("write", &exponential("200ms"), &failing);
    let text = format!("{}{}", base(2.0, 5_000, 6_000), program(&[twice, write]));
    let scenario = load(
        &text,
        &[
            "conversation.messages={ kind = \"constant\", value = 2 }",
            "conversation.idle_timeout=2s",
            "retry.maximum_attempts=3",
            "retry.initial_interval=100ms",
        ],
    );
    let summaries = replicate(&scenario);
    let fractions = each(&summaries, |s| s.agent.tool_failure_conversation_fraction);
    assert_in_ci(
        "conversations with a failed tool call",
        &fractions,
        1.0 - (1.0 - p).powi(10),
        0.02,
    );
}

// ----- Tool connection pools -----

/// One tool of constant latency D = 1 s behind a pool of one connection, Poisson arrivals at
/// 0.5/s, slots to spare: the pool is an M/D/1 queue, the wait for a connection is
/// Pollaczek-Khinchine's rho D / (2 (1 - rho)) = 0.5 s, and the step takes 1.5 s on average.
#[test]
fn a_one_connection_pool_is_an_md1_queue() {
    let db = tool("db", &constant("1s"), ", max_concurrent_calls = 1");
    let text = format!("{}{}", base(0.5, 20_000, 20_100), program(&[db]));
    let summaries = replicate(&load(&text, &[]));
    for s in &summaries {
        assert_eq!(s.response_latency_s.mean, s.steps["db"].latency_s.mean);
        // The wait is for the connection, not for a worker slot.
        assert_eq!(s.activity_schedule_to_start_s.max, 0.0);
    }
    let means = each(&summaries, |s| s.steps["db"].latency_s.mean);
    assert_in_ci("M/D/1 pool: step latency, s", &means, 1.5, 0.02);
}

// ----- Every kind at once: determinism and conservation under stress -----

/// Every kind of step (streaming LLM calls, a fan-out of branch child workflows with a join
/// on the first 2 and failures dropped, a repeat and a choice inside branches, an on-failure
/// re-plan, tool pools, prices), on a fleet that loses instances: a leak OOM-kills each one
/// about every 25 minutes, and the timeline redeploys at once, then rolling, with a provider
/// outage in between. Retries, timeouts and LLM failover are on.
const STRESS: &str = r#"
name = "programs-stress"
seed = 7

[run]
horizon = "2h"
sample_interval = "5m"

[traffic]
kind = "constant"
rate_per_s = 0.5

[conversation]
messages = { kind = "geometric", mean = 3 }
think_time = { kind = "exponential", mean = "20s" }
idle_timeout = "2m"
abandon_after = "3m"
response_budget = "20s"

[activity]
start_to_close_timeout = "1m"

[retry]
initial_interval = "1s"
maximum_attempts = 3

[temporal]
cache_size = 300
max_concurrent_activities = 60
max_concurrent_workflow_tasks = 20

[instance]
vcpus = 2
memory_limit = "512MiB"
runtime_memory = "64MiB"
leak_per_hour = "1GiB"
restart_delay = "2s"
cold_start = { kind = "uniform", min = "5s", max = "15s" }

[autoscaler]
kind = "fixed"
instances = 3

[providers.fast]
ttft = { kind = "lognormal", median = "400ms", p99 = "4s" }
output_tokens_per_s = 120
error_probability = 0.05
timeout = "20s"
ttft_timeout = "3s"
prefill_tokens_per_s = 20000
input_price_per_million_usd = 3.0
output_price_per_million_usd = 15.0
cached_input_price_per_million_usd = 0.3

[providers.backup]
ttft = { kind = "lognormal", median = "800ms", p99 = "6s" }
output_tokens_per_s = 60
timeout = "30s"

[provider_groups]
main = ["fast", "backup"]

[[agent.steps]]
kind = "llm"
name = "plan"
group = "main"
input_tokens = { kind = "lognormal", median = 2000, p99 = 8000 }
output_tokens = { kind = "uniform", min = 50, max = 300 }
input_tokens_per_turn = 300
carry_previous_output = true
cached_input_fraction = 0.5
first_chunk_tokens = 20

[[agent.steps]]
kind = "parallel"
name = "research"
width = { kind = "geometric", mean = 4 }
wait_for = 2
on_branch_failure = "continue"
child_workflow = true
steps = [
  { kind = "tool", name = "search", latency = { kind = "lognormal", median = "1s", p99 = "20s" }, failure_probability = 0.15, max_concurrent_calls = 16, price_per_call_usd = 0.002 },
  { kind = "repeat", name = "read-loop", count = { kind = "geometric", mean = 2 }, steps = [{ kind = "llm", name = "read", group = "main", input_tokens = { kind = "constant", value = 3000 }, output_tokens = { kind = "constant", value = 100 }, first_chunk_tokens = 10 }] },
]

[[agent.steps]]
kind = "parallel"
name = "lookups"
wait_for = 1
on_branch_failure = "continue"
[[agent.steps.branches]]
name = "crm"
steps = [{ kind = "tool", name = "crm-query", latency = { kind = "exponential", mean = "500ms" }, failure_probability = 0.1, max_concurrent_calls = 2 }]
[[agent.steps.branches]]
name = "kb"
steps = [{ kind = "choice", name = "kb-route", options = [{ probability = 0.7, steps = [{ kind = "tool", name = "kb-fast", latency = { kind = "constant", value = "200ms" } }] }, { probability = 0.3, steps = [{ kind = "tool", name = "kb-slow", latency = { kind = "exponential", mean = "3s" } }] }] }]

[[agent.steps]]
kind = "tool"
name = "query-db"
latency = { kind = "exponential", mean = "300ms" }
failure_probability = 0.2
max_concurrent_calls = 4
[agent.steps.on_failure]
max_runs = 2
steps = [
  { kind = "llm", name = "replan", group = "main", input_tokens = { kind = "constant", value = 2000 }, output_tokens = { kind = "constant", value = 200 } },
  { kind = "tool", name = "query-db-again", latency = { kind = "exponential", mean = "300ms" }, failure_probability = 0.2, max_concurrent_calls = 4 },
]

[[agent.steps]]
kind = "llm"
name = "answer"
group = "main"
input_tokens = { kind = "constant", value = 4000 }
output_tokens = { kind = "exponential", mean = 250 }
carry_previous_output = true
first_chunk_tokens = 10

[[agent.steps]]
kind = "tool"
name = "speak"
latency = { kind = "constant", value = "300ms" }

[[timeline]]
at = "40m"
deploy = "at_once"

[[timeline]]
at = "80m"
incident = "outage"
provider = "fast"
duration = "5m"

[[timeline]]
at = "95m"
set = { "autoscaler.instances" = 2 }
deploy = "rolling"
"#;

/// The stress scenario's run with `seed`, which has exercised what it is meant to.
fn stress_run(scenario: &Scenario, seed: u64) -> Summary {
    let mut scenario = scenario.clone();
    scenario.seed = seed;
    let s = sim::model::run(&scenario)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
        .summary;
    assert!(s.checks.conservation);
    let b = &s.agent.branches;
    assert_eq!(
        b.started,
        b.succeeded + b.failed + b.abandoned + b.in_flight_at_end,
        "seed {seed}"
    );
    let a = &s.activities;
    let exercised = [
        ("OOM crashes", s.crashes.oom),
        ("abandoned branches", b.abandoned),
        ("failed branches", b.failed),
        ("orphaned activities", a.orphaned),
        ("timed-out attempts", a.attempts_timed_out),
        ("retries", a.retries),
        ("re-plans", s.agent.fallbacks_run),
        ("unanswered messages", s.messages.unanswered),
        ("LLM errors", s.llm_calls["fast"].errors),
        ("LLM timeouts", s.llm_calls["fast"].timeouts),
        ("calls to the backup", s.llm_calls["backup"].calls),
        (
            "cached input tokens",
            s.llm_calls["fast"].cached_input_tokens,
        ),
        ("read-loop runs", s.steps["read-loop"].completed),
        ("fast KB lookups", s.steps["kb-fast"].tool_calls),
        ("slow KB lookups", s.steps["kb-slow"].tool_calls),
        ("cache misses", s.cache.misses),
    ];
    for (what, count) in exercised {
        assert!(count > 0, "seed {seed}: no {what}");
    }
    s
}

/// The stress scenario, as is and with its fan-out's branches in the response child itself,
/// failing the step on the first failed branch: over five seeds each, every run ends with the
/// conservation and Little's-law checks passing (a failed check is an error).
#[test]
fn conservation_holds_under_abandoned_branches_pools_and_crashes() {
    let variants = [
        load(STRESS, &[]),
        load(
            STRESS,
            &[
                "agent.steps.1.child_workflow=false",
                "agent.steps.1.on_branch_failure=fail",
            ],
        ),
    ];
    let runs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| (0..5).map(move |r| (v, replication_seed(7, r))))
        .collect();
    let summaries: Vec<Summary> = runs
        .par_iter()
        .map(|&(v, seed)| stress_run(&variants[v], seed))
        .collect();
    for ((v, seed), s) in runs.iter().zip(&summaries) {
        eprintln!(
            "stress variant {v} seed {seed}: {} turns, {} OOM, {} branches abandoned, {} orphaned \
             activities, {} unanswered",
            s.agent.turns,
            s.crashes.oom,
            s.agent.branches.abandoned,
            s.activities.orphaned,
            s.messages.unanswered
        );
    }
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// `sim run` of the stress scenario with three replications gives byte-identical outputs on
/// one thread and on several; the run passed its end-of-run checks (exit code 0), and the
/// library gives the same summary.
#[test]
fn every_kind_at_once_is_deterministic_across_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("stress.toml");
    fs::write(&file, STRESS).unwrap();
    let run_cli = |name: &str, threads: &str| {
        let out = tmp.path().join(name);
        let output = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args([
                "run",
                file.to_str().unwrap(),
                "--replications",
                "3",
                "--no-plots",
            ])
            .arg("--out")
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(tmp.path())
            .output()
            .expect("the sim binary starts");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    };
    let one = run_cli("one", "1");
    let several = run_cli("several", "3");
    let files = files_under(&one);
    assert_eq!(files, files_under(&several));
    for name in [
        "summary.json",
        "timeseries.csv",
        "events.csv",
        "replications.csv",
    ] {
        assert!(files.contains(&PathBuf::from(name)), "{name} in {files:?}");
    }
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        assert_eq!(
            fs::read(one.join(file)).unwrap(),
            fs::read(several.join(file)).unwrap(),
            "{}",
            file.display()
        );
    }
    // The library's run of the scenario's own seed is replication 0, the summary written.
    let summary = stress_run(&load(STRESS, &[]), 7);
    let written = fs::read_to_string(one.join("summary.json")).unwrap();
    assert_eq!(written, sim::output::summary_json(&summary));
}
