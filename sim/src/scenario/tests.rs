//! Tests of scenario loading: one per error class (checking the message a user reads),
//! defaults, overrides, the timeline and the resolved-TOML round trip.

use super::*;
use std::path::PathBuf;

const MINIMAL: &str = r#"
[traffic]
kind = "constant"
rate_per_s = 1.0

[[agent.steps]]
kind = "tool"
latency = { kind = "exponential", mean = "1s" }
"#;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenario/testdata")
}

/// Loads `text` as `s.toml` in a fresh directory; error messages name the file `s.toml`.
fn load_text(text: &str, overrides: &[&str]) -> Result<Scenario, Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).expect("write scenario");
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let prefix = format!("{}", dir.path().display());
    load(&path, &overrides).map_err(|e| {
        e.messages
            .iter()
            .map(|m| m.replace(&format!("{prefix}/"), ""))
            .collect()
    })
}

fn errors(text: &str, overrides: &[&str]) -> Vec<String> {
    match load_text(text, overrides) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(messages) => messages,
    }
}

fn ok(text: &str, overrides: &[&str]) -> Scenario {
    match load_text(text, overrides) {
        Ok(scenario) => scenario,
        Err(messages) => panic!("unexpected errors:\n{}", messages.join("\n")),
    }
}

fn with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

/// Line of `needle` in `text`, 1-based, for building expected locations.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle")
        + 1
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let messages = errors("[traffic]\nkind = \"constant\nrate_per_s = 1\n", &[]);
    assert_eq!(
        messages,
        ["s.toml:2:17: invalid toml: invalid basic string, expected `\"`"]
    );
}

#[test]
fn a_file_that_is_not_toml_gets_one_line_not_hundreds() {
    let markdown =
        "# My scenario\n\nSome *notes* about the fleet.\n\n- one\n- two\n\n```sh\nsim run x\n```\n";
    let messages = errors(markdown, &[]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]
            .starts_with("s.toml:3:6: invalid toml: key with no value, expected `=` (and 5 more"),
        "{messages:?}"
    );
    assert!(
        messages[0].ends_with(
            "more syntax errors after it: fix this one first; is this a TOML scenario file?)"
        ),
        "{messages:?}"
    );
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let text = with("[temporal]\ncach_size = 10\n");
    let line = line_of(&text, "cach_size");
    let messages = errors(&text, &[]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].starts_with(&format!(
        "s.toml:{line}:1: temporal.cach_size: unknown key, expected \"cache_size\", "
    )));
    assert!(
        messages[0].ends_with(" (did you mean \"cache_size\"?)"),
        "{}",
        messages[0]
    );
}

/// A key copied from a Temporal worker, a Cloud Run service, a Kubernetes or KEDA manifest or a
/// provider's rate-limit page points at sim's key, in the file and in `--set`.
#[test]
fn unknown_key_named_as_another_tool_names_it_points_at_sims_key() {
    let hint_of = |extra: &str, overrides: &[&str]| {
        let messages = errors(&with(extra), overrides);
        assert_eq!(messages.len(), 1, "{messages:?}");
        let message = &messages[0];
        message[message.rfind(" (did you mean").expect(message)..].to_string()
    };
    assert_eq!(
        hint_of("[temporal]\nmaxCachedWorkflows = 10\n", &[]),
        " (did you mean \"cache_size\", sim's name for maxCachedWorkflows in Temporal's Python \
         and TypeScript SDKs?)"
    );
    assert_eq!(
        hint_of("", &["temporal.MaxConcurrentActivityExecutionSize=5"]),
        " (did you mean \"max_concurrent_activities\", sim's name for \
         MaxConcurrentActivityExecutionSize in Temporal's Go and Java SDKs?)"
    );
    // The same word means different keys in different tables.
    assert_eq!(
        hint_of(
            "[autoscaler]\nkind = \"cloud_run\"\ncontainerConcurrency = 80\n",
            &[]
        ),
        " (did you mean \"max_concurrency\", sim's name for containerConcurrency in Cloud Run?)"
    );
    let keda = "[autoscaler]\nkind = \"keda\"\nminReplicas = 1\n";
    assert_eq!(
        hint_of(keda, &[]),
        " (did you mean \"min_replica_count\", sim's name for minReplicaCount in KEDA? \
         minReplicas is the name in Kubernetes' HorizontalPodAutoscaler)"
    );
    // Another autoscaler's word for a bound names what it is in the table's own tool.
    assert_eq!(
        hint_of(
            "[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\nmax_replicas = 10\n\
             minReplicaCount = 1\n",
            &[]
        ),
        " (did you mean \"min_replicas\", sim's name for minReplicas in Kubernetes' \
         HorizontalPodAutoscaler? minReplicaCount is the name in KEDA)"
    );
    assert_eq!(
        hint_of(
            "[autoscaler]\nkind = \"cloud_run\"\nmaxReplicas = 10\n",
            &[]
        ),
        " (did you mean \"max_instances\", sim's name for maxScale in Cloud Run? maxReplicas is \
         the name in Kubernetes' HorizontalPodAutoscaler)"
    );
    assert_eq!(
        hint_of("[autoscaler]\nkind = \"cloud_run\"\nminScale = 1\n", &[]),
        " (did you mean \"min_instances\", sim's name for minScale in Cloud Run \
         (autoscaling.knative.dev/minScale)?)"
    );
    let hpa =
        "[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\nmax_replicas = 10\nminReplicas = 1\n";
    assert_eq!(
        hint_of(hpa, &[]),
        " (did you mean \"min_replicas\"? sim spells keys in snake_case)"
    );
    assert_eq!(
        hint_of("[instance]\nterminationGracePeriodSeconds = 30\n", &[]),
        " (did you mean \"shutdown_grace\", sim's name for terminationGracePeriodSeconds in a \
         Kubernetes pod spec?)"
    );
    assert_eq!(
        hint_of(
            "[autoscaler]\nkind = \"cloud_run\"\n",
            &["autoscaler.scale-in-stabilization=5m"]
        ),
        " (did you mean \"scale_in_stabilization\"? sim spells keys in snake_case)"
    );
    let hpa_policy = "[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\nmax_replicas = 10\n\
                      [autoscaler.behavior.scale_down]\nstabilizationWindowSeconds = 300\n";
    assert_eq!(
        hint_of(hpa_policy, &[]),
        " (did you mean \"stabilization_window\"? sim spells keys in snake_case, and a \
         duration string such as \"30s\")"
    );
    // A key whose words end the unknown one, where the closest spelling would mislead.
    assert_eq!(
        hint_of("[temporal]\nsticky_cache_size = 10\n", &[]),
        " (did you mean \"cache_size\"?)"
    );
    let provider = "[providers.p]\nttft = { kind = \"constant\", value = \"1s\" }\n\
                    output_tokens_per_s = 50\nrpm = 500\n";
    assert_eq!(
        hint_of(provider, &[]),
        " (did you mean \"requests_per_minute\", sim's name for rpm in providers' rate-limit \
         pages?)"
    );
}

#[test]
fn unknown_section_suggests_the_close_one() {
    let messages = errors(&with("[tempral]\ncache_size = 10\n"), &[]);
    assert!(
        messages[0].contains(": tempral: unknown key, expected "),
        "{messages:?}"
    );
    assert!(
        messages[0].ends_with("(did you mean \"temporal\"?)"),
        "{messages:?}"
    );
}

#[test]
fn wrong_type_says_what_was_expected_and_found() {
    let text = with("[temporal]\ncache_size = \"big\"\nmax_concurrent_activities = 1.5\n");
    let line = line_of(&text, "cache_size");
    assert_eq!(
        errors(&text, &[]),
        [
            format!(
                "s.toml:{line}:14: temporal.cache_size: expected an integer in [0, 1000000], found string \"big\""
            ),
            format!(
                "s.toml:{}:29: temporal.max_concurrent_activities: expected an integer in [1, 1000000], found float 1.5",
                line + 1
            ),
        ]
    );
    // Huge and tiny floats are shown as TOML reads them, not in hundreds of digits.
    for (value, shown) in [
        ("1e300", "1e300"),
        ("-2.5e20", "-2.5e20"),
        ("1e-300", "1e-300"),
    ] {
        let set = format!("temporal.cache_size={value}");
        assert_eq!(
            errors(MINIMAL, &[set.as_str()]),
            [format!(
                "s.toml: --set {set}: temporal.cache_size: expected an integer in [0, 1000000], \
                 found float {shown}"
            )]
        );
    }
}

#[test]
fn bare_number_where_a_unit_is_needed_lists_the_units() {
    let text = with("[conversation]\nidle_timeout = 30\n[instance]\nmemory_limit = 512\n");
    let line = line_of(&text, "idle_timeout");
    let mem_line = line_of(&text, "memory_limit");
    assert_eq!(
        errors(&text, &[]),
        [
            format!(
                "s.toml:{line}:16: conversation.idle_timeout: expected a duration string such as \"250ms\", \"30s\", \"15m\", \"2h\" (units: ns, us, ms, s, m, h, d), found integer 30"
            ),
            format!(
                "s.toml:{mem_line}:16: instance.memory_limit: expected a size string such as \"512MiB\", \"2GiB\" (units: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), found integer 512"
            ),
        ]
    );
}

#[test]
fn bad_unit_names_the_unit() {
    let text = with("[conversation]\nidle_timeout = \"30 sec\"\n");
    let messages = errors(&text, &[]);
    assert!(
        messages[0].ends_with(
            "conversation.idle_timeout: invalid duration \"30 sec\" (unknown unit \"sec\"), expected a duration string such as \"250ms\", \"30s\", \"15m\", \"2h\" (units: ns, us, ms, s, m, h, d)"
        ),
        "{messages:?}"
    );
}

#[test]
fn out_of_range_values_are_rejected() {
    let text = with(
        "[instance]\nvcpus = 0\n[retry]\nbackoff_coefficient = -2\n[cost]\nvcpu_second_usd = -1\n",
    );
    let messages = errors(&text, &[]);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].ends_with("instance.vcpus: expected an integer in [1, 1024], found 0"),
        "{messages:?}"
    );
    assert!(
        messages[1]
            .ends_with("retry.backoff_coefficient: expected a number in [1, 1000000], found -2"),
        "{messages:?}"
    );
    assert!(
        messages[2].ends_with("cost.vcpu_second_usd: expected a number in [0, 1000000], found -1"),
        "{messages:?}"
    );
}

#[test]
fn probability_outside_unit_interval_is_rejected() {
    let text = MINIMAL.replace(
        "mean = \"1s\" }",
        "mean = \"1s\" }\nfailure_probability = 1.5",
    );
    let messages = errors(&text, &[]);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .ends_with("agent.steps.0.failure_probability: expected a number in [0, 1], found 1.5"),
        "{messages:?}"
    );
}

#[test]
fn zero_where_positive_is_rejected() {
    let text = MINIMAL.replace("mean = \"1s\"", "mean = \"0s\"");
    let messages = errors(&text, &[]);
    assert!(
        messages[0].ends_with(
            "agent.steps.0.latency.mean: expected a duration of at least 1ns, found \"0s\""
        ),
        "{messages:?}"
    );
}

#[test]
fn min_above_max_is_rejected_everywhere() {
    let text = r#"
[traffic]
kind = "constant"
rate_per_s = 1.0

[[agent.steps]]
kind = "tool"
latency = { kind = "uniform", min = "2s", max = "1s" }

[conversation]
think_time = { kind = "lognormal", median = "1m", p99 = "30s" }

[retry]
initial_interval = "10s"
maximum_interval = "5s"

[autoscaler]
kind = "cloud_run"
min_instances = 5
max_instances = 3
"#;
    let messages = errors(text, &[]);
    let expected_tails = [
        "agent.steps.0.latency.min: min (2s) must not exceed max (1s)",
        "conversation.think_time.p99: p99 must be greater than the median (1m), found 30s",
        "retry.maximum_interval: maximum_interval (5s) must be at least initial_interval (10s)",
        "autoscaler.min_instances: min_instances (5) must not exceed max_instances (3)",
    ];
    assert_eq!(messages.len(), expected_tails.len(), "{messages:?}");
    for (message, tail) in messages.iter().zip(expected_tails) {
        assert!(message.ends_with(tail), "{message} should end with {tail}");
    }
    assert!(messages[0].starts_with("s.toml:8:37: "), "{messages:?}");
}

#[test]
fn provider_group_naming_an_unknown_provider_is_located() {
    let text = with(
        "[providers.openai]\nttft = { kind = \"constant\", value = \"1s\" }\noutput_tokens_per_s = 50\n\
         [provider_groups]\nmain = [\"openai\", \"opnai\"]\n",
    );
    let line = line_of(&text, "main =");
    assert_eq!(
        errors(&text, &[]),
        [format!(
            "s.toml:{line}:19: provider_groups.main.1: unknown provider \"opnai\", expected \"openai\" (a [providers.NAME] table) (did you mean \"openai\"?)"
        )]
    );
}

#[test]
fn provider_quotas_are_read_as_plain_numbers_and_zero_is_refused_with_its_location() {
    let provider = "[providers.openai]\nttft = { kind = \"constant\", value = \"1s\" }\noutput_tokens_per_s = 50\n";
    let scenario = ok(
        &with(&format!(
            "{provider}requests_per_minute = 500\ntokens_per_minute = 2e6\nmax_concurrent_requests = 8\n"
        )),
        &[],
    );
    let p = &scenario.providers[0];
    assert_eq!(p.requests_per_minute, Some(500.0));
    assert_eq!(p.tokens_per_minute, Some(2e6));
    assert_eq!(p.max_concurrent_requests, Some(8));
    assert!(p.has_quota());
    let resolved = to_resolved_toml(&scenario);
    assert!(
        resolved.contains("requests_per_minute = 500.0\n"),
        "{resolved}"
    );
    assert!(
        resolved.contains("max_concurrent_requests = 8\n"),
        "{resolved}"
    );
    // Without the keys: no quota.
    let plain = ok(&with(provider), &[]);
    assert!(!plain.providers[0].has_quota());
    let text = with(&format!(
        "{provider}requests_per_minute = 0\ntokens_per_minute = -5\nmax_concurrent_requests = 0\n"
    ));
    let line = line_of(&text, "requests_per_minute =");
    assert_eq!(
        errors(&text, &[]),
        [
            format!(
                "s.toml:{line}:23: providers.openai.requests_per_minute: expected a number in (0, 1000000000], found 0"
            ),
            format!(
                "s.toml:{}:21: providers.openai.tokens_per_minute: expected a number in (0, 1000000000000], found -5",
                line + 1
            ),
            format!(
                "s.toml:{}:27: providers.openai.max_concurrent_requests: expected an integer in [1, 1000000], found 0",
                line + 2
            ),
        ]
    );
}

#[test]
fn llm_step_naming_an_unknown_group_is_located() {
    let text = r#"
[traffic]
kind = "constant"
rate_per_s = 1.0

[providers.openai]
ttft = { kind = "constant", value = "1s" }
output_tokens_per_s = 50

[provider_groups]
main = ["openai"]

[[agent.steps]]
kind = "llm"
group = "mian"
input_tokens = { kind = "constant", value = 100 }
output_tokens = { kind = "constant", value = 100 }
"#;
    assert_eq!(
        errors(text, &[]),
        [
            "s.toml:15:9: agent.steps.0.group: unknown provider group \"mian\", expected \"main\" (did you mean \"main\"?)"
        ]
    );
}

#[test]
fn missing_file_names_the_path_and_os_error() {
    let path = Path::new("/nonexistent/dir/scenario.toml");
    let error = load(path, &[]).expect_err("missing file");
    assert_eq!(error.messages.len(), 1);
    assert!(
        error.messages[0]
            .starts_with("/nonexistent/dir/scenario.toml: cannot read scenario file: no such file"),
        "{}",
        error.messages[0]
    );
}

#[test]
fn unknown_set_key_is_an_error_with_a_suggestion() {
    let messages = errors(MINIMAL, &["temporal.cach_size=5"]);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with(
            "s.toml: --set temporal.cach_size=5: temporal.cach_size: unknown key, expected "
        ),
        "{messages:?}"
    );
    assert!(
        messages[0].ends_with("(did you mean \"cache_size\"?)"),
        "{messages:?}"
    );
}

#[test]
fn set_values_get_the_same_validation() {
    let messages = errors(
        MINIMAL,
        &["instance.memory_limit=512", "agent.steps.3.cpu=1s", "oops"],
    );
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains(
        "--set instance.memory_limit=512: instance.memory_limit: expected a size string"
    )));
    assert!(messages.iter().any(|m| {
        m.ends_with("agent.steps.3.cpu: index 3 is out of range, agent.steps has 1 elements")
    }));
    assert!(messages.iter().any(|m| {
        m.ends_with("--set oops: expected dotted.key=value, such as temporal.cache_size=1000")
    }));
}

#[test]
fn set_overrides_apply_with_units_and_array_indexes() {
    let scenario = ok(
        MINIMAL,
        &[
            "temporal.cache_size=1000",
            "instance.memory_limit=2GiB",
            "instance.runtime_memory=\"100MiB\"",
            "autoscaler.kind=fixed",
            "traffic.rate_per_s=8",
            "agent.steps.0.latency.mean=250ms",
        ],
    );
    assert_eq!(scenario.temporal.cache_size, 1000);
    assert_eq!(scenario.instance.memory_limit_bytes, 2 << 30);
    assert_eq!(scenario.instance.runtime_memory_bytes, 100 << 20);
    assert_eq!(scenario.autoscaler, Autoscaler::Fixed { instances: 1 });
    assert_eq!(
        scenario.workloads[0].traffic.profile,
        TrafficProfile::Constant { rate_per_s: 8.0 }
    );
    assert!(
        matches!(scenario.workloads[0].agent.steps[0].kind, StepKind::Tool { latency: Dist::Exponential { mean }, .. } if mean == 0.25)
    );
}

/// A `--set` key reads as a TOML dotted key does: a quoted segment is one segment, dots and
/// all, and a quoted bare name is that name; a malformed quote is an error naming the key.
#[test]
fn set_keys_read_quoted_segments_as_toml_does() {
    let scenario = ok(MINIMAL, &["temporal.\"cache_size\"=7"]);
    assert_eq!(scenario.temporal.cache_size, 7);
    assert_eq!(
        override_key("temporal. \"cache_size\" =7").as_deref(),
        Some("temporal.cache_size")
    );
    assert_eq!(
        raw::key_segments("sweep.grid.\"temporal.cache_size\"").unwrap(),
        ["sweep", "grid", "temporal.cache_size"]
    );
    assert_eq!(
        override_key("sweep.grid.\"temporal.cache_size\"=[1]").as_deref(),
        Some("sweep.grid.\"temporal.cache_size\"")
    );
    // `sim headroom --key` reads a key the same way.
    assert_eq!(
        resolved_number(&scenario, "temporal.\"cache_size\"").map(|n| n.value),
        Ok(7.0)
    );
    assert_eq!(
        resolved_number(&scenario, "temporal.\"cache_size"),
        Err(LookupError::Missing)
    );
    for (set, says) in [
        (
            "temporal.\"cache_size=1",
            "temporal.\"cache_size: unterminated quoted key segment, expected a closing `\"`",
        ),
        (
            "temporal.cache\"_size\"=1",
            "a quote inside the key segment `cache\"_size\"`: quote a whole segment",
        ),
        (
            "temporal.\"cache_size\"x=1",
            "expected `.` or `=` after the quoted key segment \"cache_size\"",
        ),
    ] {
        let messages = errors(MINIMAL, &[set]);
        assert_eq!(messages.len(), 1, "{set}: {messages:#?}");
        assert!(
            messages[0].starts_with(&format!("s.toml: --set {set}: "))
                && messages[0].contains(says),
            "{set}: {messages:#?}"
        );
    }
}

/// A `--set` value is TOML only when it is a whole TOML value: `1_000s` is the text "1_000s"
/// (a duration with an unknown unit), not an integer spelt "1000s" as the lenient value parser
/// read it; a number too large for its type is still a number, said to be too large.
#[test]
fn set_values_that_are_not_whole_toml_values_are_text() {
    for (set, says) in [
        (
            "run.horizon=1_000s",
            "invalid duration \"1_000s\" (unknown unit \"_\": digit separators (1_000) are not \
             allowed here, write 1000)",
        ),
        (
            "run.max_events=18446744073709551616",
            "is out of range (TOML integers are 64-bit signed",
        ),
        ("retry.backoff_coefficient=1e400", "found inf"),
    ] {
        let messages = errors(MINIMAL, &[set]);
        assert!(
            messages.iter().any(|m| m.contains(says)),
            "{set}: {messages:?}"
        );
    }
    let scenario = ok(MINIMAL, &["run.horizon=1.5s", "run.max_events=0x1_0000"]);
    assert_eq!(scenario.run.horizon, 1_500_000_000);
    assert_eq!(scenario.run.max_events, 0x1_0000);
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let text = r#"
seed = -1
[traffic]
kind = "constnt"
[temporal]
cache_size = 1.5
[instance]
memory_limt = "1GiB"
"#;
    let messages = errors(text, &[]);
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert_eq!(
        messages[0],
        "s.toml: agent: missing required table, expected at least one [[agent.steps]] table"
    );
    assert!(messages[1].starts_with(
        "s.toml:2:8: seed: expected an integer in [0, 18446744073709551615] (a seed), found -1"
    ));
    assert!(messages[2].starts_with("s.toml:4:8: traffic.kind: expected \"constant\", \"piecewise\", \"diurnal\" or \"trace\", found \"constnt\" (did you mean \"constant\"?)"));
    assert_eq!(
        messages[3],
        "s.toml:6:14: temporal.cache_size: expected an integer in [0, 1000000], found float 1.5"
    );
    assert!(
        messages[4]
            .starts_with("s.toml:8:1: instance.memory_limt: unknown key, expected \"vcpus\", ")
    );
    assert!(
        messages[4].ends_with(" (did you mean \"memory_limit\"?)"),
        "{messages:?}"
    );
}

#[test]
fn missing_traffic_and_agent_are_reported() {
    let messages = errors("seed = 3\n", &[]);
    assert_eq!(
        messages,
        [
            "s.toml: traffic: missing required table, expected [traffic] with kind = \"constant\", \"piecewise\", \"diurnal\" or \"trace\"",
            "s.toml: agent: missing required table, expected at least one [[agent.steps]] table",
        ]
    );
}

#[test]
fn defaults_are_the_documented_ones() {
    let scenario = ok(MINIMAL, &[]);
    assert_eq!(scenario.name, "s");
    assert_eq!(scenario.seed, 1);
    assert_eq!(scenario.run.horizon, 24 * 3600 * 1_000_000_000);
    assert_eq!(scenario.autoscaler, Autoscaler::Fixed { instances: 1 });
    assert_eq!(scenario.instance.gc, None);
    assert_eq!(scenario.instance.memory_limit_bytes, 512 << 20);
    assert_eq!(
        scenario.instance.cold_start,
        Dist::Uniform {
            min: 10.0,
            max: 30.0
        }
    );
    assert_eq!(
        scenario.workloads[0].conversation.messages,
        Dist::Geometric { mean: 5.0 }
    );
    assert_eq!(
        scenario.workloads[0].conversation.think_time,
        Dist::lognormal(30.0, 600.0)
    );
    assert_eq!(scenario.temporal.cache_size, 10_000);
    assert_eq!(scenario.retry.maximum_interval, 100_000_000_000);
    assert_eq!(scenario.workloads[0].agent.steps[0].name, "step-1");
    assert_eq!(
        scenario.workloads[0].agent.steps[0].start_to_close_timeout,
        600_000_000_000
    );
    assert_eq!(scenario.cost.vcpu_second_usd, 0.000018);
}

#[test]
fn cloud_run_initial_instances_defaults_to_min_but_at_least_one() {
    let initial = |extra: &str| match ok(
        &with(&format!("[autoscaler]\nkind = \"cloud_run\"\n{extra}")),
        &[],
    )
    .autoscaler
    {
        Autoscaler::CloudRun(c) => c.initial_instances,
        other => panic!("{other:?}"),
    };
    assert_eq!(initial(""), 1);
    assert_eq!(initial("min_instances = 3"), 3);
    assert_eq!(initial("min_instances = 0\nmax_instances = 1"), 1);
}

#[test]
fn full_fixture_resolves_timeline_in_time_order_with_cumulative_sets() {
    let path = testdata().join("full.toml");
    let scenario = load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    let ats: Vec<u64> = scenario
        .timeline
        .iter()
        .map(|i| i.at / 60_000_000_000)
        .collect();
    assert_eq!(ats, [30, 45, 50, 90, 100]);
    assert_eq!(scenario.timeline[0].label, "memory x5");
    assert_eq!(scenario.timeline[1].label, "degradation openai x3");
    assert_eq!(scenario.timeline[3].label, "set temporal.cache_size=200");
    let Action::Set {
        effective,
        assignments,
        ..
    } = &scenario.timeline[3].action
    else {
        panic!("set")
    };
    assert_eq!(
        assignments,
        &[("temporal.cache_size".to_string(), "200".to_string())]
    );
    // Cumulative: the 30m set (memory x5) still holds at 90m.
    assert_eq!(effective.instance.memory_limit_bytes, 10 << 30);
    assert_eq!(effective.temporal.cache_size, 200);
    assert!(effective.timeline.is_empty());
    assert_eq!(scenario.temporal.cache_size, 2000);
    let Action::ProviderIncident {
        provider,
        incident,
        factor,
        ..
    } = &scenario.timeline[1].action
    else {
        panic!()
    };
    assert_eq!(
        (
            scenario.providers[*provider].name.as_str(),
            *incident,
            *factor
        ),
        ("openai", IncidentKind::Degradation, 3.0)
    );
    let Dist::Empirical { csv, values } = &scenario.workloads[0].conversation.think_time else {
        panic!("empirical")
    };
    assert_eq!(csv, &testdata().join("think.csv").to_string_lossy());
    assert_eq!(&values[..], &[5.0, 30.0, 120.0]);
}

#[test]
fn resolved_toml_round_trips_every_section() {
    let original = load(&testdata().join("full.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let text = to_resolved_toml(&original);
    assert!(text.starts_with("# The effective scenario"), "{text}");
    assert!(text.contains(&format!("# sim version {}", crate::VERSION)));
    assert!(text.contains("# seed 42"));
    assert!(text.contains("memory_limit = \"2GiB\""), "{text}");
    assert!(
        text.contains("think_time = { kind = \"empirical\""),
        "{text}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resolved.toml");
    std::fs::write(&path, &text).expect("write");
    let reloaded = load(&path, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(reloaded, original);
    assert_eq!(to_resolved_toml(&reloaded), text);
}

#[test]
fn resolved_toml_round_trips_defaults_and_other_traffic_kinds() {
    for traffic in [
        "kind = \"diurnal\"\nmean_rate_per_s = 2\npeak_to_trough = 4\npeak_hour = 14.5",
        &format!(
            "kind = \"trace\"\ncsv = \"{}\"",
            testdata().join("trace.csv").display()
        ),
    ] {
        let text = MINIMAL.replace("kind = \"constant\"\nrate_per_s = 1.0", traffic);
        let original = ok(&text, &[]);
        let reloaded = ok(&to_resolved_toml(&original), &[]);
        assert_eq!(
            reloaded,
            Scenario {
                name: original.name.clone(),
                ..reloaded.clone()
            }
        );
        assert_eq!(reloaded, original);
    }
}

/// What an audit of the reference against the reader found let through: each is refused, or
/// (the retry default) kept within the cap so the resolved file loads back.
#[test]
fn values_the_reference_bounds_are_bounded() {
    // The default maximum_interval, 100 x a long initial interval, stays within 10,000 days.
    let long = ok(MINIMAL, &["retry.initial_interval=\"200d\""]);
    assert_eq!(
        long.retry.maximum_interval,
        super::units::MAX_DURATION_NANOS
    );
    assert_eq!(ok(&to_resolved_toml(&long), &[]), long);
    // Token counts a step states are capped as counts are.
    for key in ["input_tokens_per_turn", "first_chunk_tokens"] {
        let text = MINIMAL.replace(
            "[[agent.steps]]\nkind = \"tool\"",
            &format!(
                "[providers.p]\nttft = {{ kind = \"constant\", value = \"1s\" }}\n\
                 output_tokens_per_s = 50\n[provider_groups]\nmain = [\"p\"]\n\
                 [[agent.steps]]\nkind = \"llm\"\ngroup = \"main\"\n\
                 input_tokens = {{ kind = \"constant\", value = 100 }}\n\
                 output_tokens = {{ kind = \"constant\", value = 10 }}\n\
                 {key} = 9223372036854775807\n[[agent.steps]]\nkind = \"tool\""
            ),
        );
        let messages = errors(&text, &[]);
        assert!(
            messages[0].contains(&format!("agent.steps.0.{key}: expected an integer in ["))
                && messages[0].contains(", 1000000000], found 9223372036854775807"),
            "{messages:?}"
        );
    }
    // A constant repeat count past the cap (a drawn one is capped when drawn).
    let repeat = "agent.steps.0={kind=\"repeat\",count={kind=\"constant\",value=10001},\
                  steps=[{kind=\"tool\",latency={kind=\"constant\",value=\"1s\"}}]}";
    let messages = errors(MINIMAL, &[repeat]);
    assert!(
        messages[0].ends_with("agent.steps.0.count: a count of 10001 is more than 10000 runs"),
        "{messages:?}"
    );
    // An integer past its natural width names that bound, not only the lower one.
    let messages = errors(MINIMAL, &["retry.maximum_attempts=4294967296"]);
    assert!(
        messages[0].ends_with(
            "retry.maximum_attempts: expected an integer in [0, 4294967295], found 4294967296"
        ),
        "{messages:?}"
    );
    // An empty workload name is no name.
    let workloads = "[[workloads]]\nname = \"\"\n[workloads.traffic]\nkind = \"constant\"\n\
                     rate_per_s = 1.0\n[[workloads.agent.steps]]\nkind = \"tool\"\n\
                     latency = { kind = \"exponential\", mean = \"1s\" }\n";
    let messages = errors(workloads, &[]);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("workloads.0.name: expected at most 64 letters")),
        "{messages:?}"
    );
}

/// An hpa key of another metric says which metric takes it, rather than suggesting a key of
/// this one as if it were misspelt.
#[test]
fn an_hpa_key_of_another_metric_names_its_metric() {
    let hpa = |metric: &str, extra: &str| {
        with(&format!(
            "[autoscaler]\nkind = \"hpa\"\nmax_replicas = 10\nmetric = \"{metric}\"\n{extra}\n"
        ))
    };
    let messages = errors(&hpa("backlog", "target_utilization = 0.5"), &[]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].ends_with(
            "autoscaler.target_utilization: only applies with metric = \"cpu\" or \"memory\", \
             not metric = \"backlog\""
        ),
        "{messages:?}"
    );
    let messages = errors(&hpa("cpu", "target_queue_size = 3"), &[]);
    assert!(
        messages[0].ends_with(
            "autoscaler.target_queue_size: only applies with metric = \"backlog\", not metric = \
             \"cpu\""
        ),
        "{messages:?}"
    );
    ok(&hpa("memory", "target_utilization = 0.5"), &[]);
}

#[test]
fn trace_csv_is_loaded_sorted_and_relative_to_the_scenario() {
    let scenario = load(
        &testdata().join("full.toml"),
        &["traffic={kind=\"trace\",csv=\"trace.csv\"}".into()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let TrafficProfile::Trace { arrivals, .. } = &scenario.workloads[0].traffic.profile else {
        panic!("trace")
    };
    assert_eq!(arrivals[..], [500_000_000, 1_250_000_000, 3_000_000_000]);
}

/// Every grid point of a sweep holds the same trace and empirical values, read once: a large
/// trace swept over many points took a copy (and a parse) per point.
#[test]
fn grid_points_share_the_csv_columns_they_read() {
    let path = testdata().join("full.toml");
    let overrides = ["traffic={kind=\"trace\",csv=\"trace.csv\"}".to_string()];
    let grid = ["temporal.max_concurrent_activities=4,5,6".to_string()];
    let source = load_sweep(&path, &overrides, &grid).unwrap_or_else(|e| panic!("{e}"));
    let points = source.load_points().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(points.len(), 3);
    let trace = |s: &Scenario| match &s.workloads[0].traffic.profile {
        TrafficProfile::Trace { arrivals, .. } => arrivals.clone(),
        _ => panic!("trace"),
    };
    let think = |s: &Scenario| match &s.workloads[0].conversation.think_time {
        Dist::Empirical { values, .. } => values.clone(),
        _ => panic!("empirical"),
    };
    for point in &points[1..] {
        assert!(std::sync::Arc::ptr_eq(&trace(point), &trace(&points[0])));
        assert!(std::sync::Arc::ptr_eq(&think(point), &think(&points[0])));
    }
    assert_eq!(
        trace(&points[2])[..],
        [500_000_000, 1_250_000_000, 3_000_000_000]
    );
    assert_eq!(think(&points[2])[..], [5.0, 30.0, 120.0]);
    // A separate load reads the file again: nothing is kept between loads.
    let again = load(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
    assert!(!std::sync::Arc::ptr_eq(&trace(&again), &trace(&points[0])));
}

#[test]
fn csv_problems_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.csv"), "value\n1s\nsoon\n").expect("write");
    let path = dir.path().join("s.toml");
    let text = MINIMAL.replace(
        "{ kind = \"exponential\", mean = \"1s\" }",
        "{ kind = \"empirical\", csv = \"bad.csv\" }",
    );
    std::fs::write(
        &path,
        format!(
            "{text}[conversation]\nthink_time = {{ kind = \"empirical\", csv = \"none.csv\" }}\n"
        ),
    )
    .expect("write");
    let messages = load(&path, &[]).expect_err("bad csv").messages;
    let shown = |m: &str| m.replace(&format!("{}/", dir.path().display()), "");
    let messages: Vec<String> = messages.iter().map(|m| shown(m)).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0]
            .starts_with("s.toml:10:42: conversation.think_time.csv: cannot read \"none.csv\": "),
        "{messages:?}"
    );
    assert!(messages[1].starts_with("bad.csv:3:1: agent.steps.0.latency.csv: \"soon\": invalid duration (expected a number at \"soon\"), expected a duration string"), "{messages:?}");
}

/// Loads MINIMAL with `key = <value>` in `section`, where the value names `data.csv` holding
/// `csv`: the messages, with the temporary directory removed.
fn csv_messages(section: &str, key_value: &str, csv: &str) -> Result<Scenario, Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("data.csv"), csv).expect("write csv");
    let path = dir.path().join("s.toml");
    let text = if section == "traffic" {
        MINIMAL.replace("kind = \"constant\"\nrate_per_s = 1.0", key_value)
    } else {
        format!("{MINIMAL}\n[{section}]\n{key_value}\n")
    };
    std::fs::write(&path, text).expect("write scenario");
    let prefix = format!("{}/", dir.path().display());
    load(&path, &[]).map_err(|e| e.messages.iter().map(|m| m.replace(&prefix, "")).collect())
}

/// A first CSV row is a header only when it is not a value at all: a number that is out of
/// range, not finite ("nan", "inf" in any case) or in the wrong form is reported on line 1 as
/// it would be on line 2, for every CSV kind the loader reads.
#[test]
fn a_bad_first_csv_row_is_reported_not_taken_as_a_header() {
    let kinds = [
        (
            "conversation",
            "messages = { kind = \"empirical\", csv = \"data.csv\" }",
            "conversation.messages.csv",
        ),
        (
            "conversation",
            "think_time = { kind = \"empirical\", csv = \"data.csv\" }",
            "conversation.think_time.csv",
        ),
        (
            "traffic",
            "kind = \"trace\"\ncsv = \"data.csv\"",
            "traffic.csv",
        ),
    ];
    for (section, key_value, key) in kinds {
        // A good value for this kind (counts take no unit, durations need one).
        let good = if key.ends_with("messages.csv") {
            "2"
        } else {
            "2s"
        };
        for (first, cell, alone) in [
            ("-1", "-1", false),
            ("1e300", "1e300", false),
            ("1e300", "1e300", true),
            ("nan", "nan", true),
            ("NaN", "NaN", false),
            ("-Infinity", "-Infinity", false),
            ("inf", "inf", false),
            ("1,2", "1,2", false),
            ("\"-1\"", "-1", false),
        ] {
            let csv = if alone {
                format!("{first}\n")
            } else {
                format!("{first}\n{good}\n")
            };
            let messages = csv_messages(section, key_value, &csv).expect_err(&csv);
            assert_eq!(messages.len(), 1, "{key} {csv:?}: {messages:?}");
            assert!(
                messages[0].starts_with(&format!("data.csv:1:1: {key}: \"{cell}\": ")),
                "{key} {csv:?}: {messages:?}"
            );
            // The same value on line 2, after a header, gets the same message.
            let second =
                csv_messages(section, key_value, &format!("value\n{csv}")).expect_err(&csv);
            assert_eq!(
                second,
                [messages[0].replacen("data.csv:1:1:", "data.csv:2:1:", 1)],
                "{key} {csv:?}"
            );
        }
        // A header (a word, quoted or not, several columns or one) is still skipped.
        for header in ["value", "\"arrival time\"", "time,count", "\u{feff}value"] {
            csv_messages(section, key_value, &format!("{header}\n{good}\n"))
                .unwrap_or_else(|m| panic!("{key} {header:?}: {m:?}"));
        }
    }
}

/// A trace cell that is a number is seconds: one out of range says so, rather than reading
/// "1e10" as a duration with the unknown unit "e".
#[test]
fn a_trace_time_out_of_range_is_said_to_be_out_of_range() {
    for cell in ["1e10", "18446744073.709551616", "inf"] {
        let messages = csv_messages(
            "traffic",
            "kind = \"trace\"\ncsv = \"data.csv\"",
            &format!("{cell}\n"),
        )
        .expect_err(cell);
        assert_eq!(
            messages,
            [format!(
                "data.csv:1:1: traffic.csv: \"{cell}\": expected seconds in [0, 1000000000] or a \
                 duration string"
            )],
            "{cell}"
        );
    }
    csv_messages(
        "traffic",
        "kind = \"trace\"\ncsv = \"data.csv\"",
        "1e2\n2.5s\n",
    )
    .expect("seconds and durations");
}

/// An integer beyond i64 (TOML's range) is one error, from the key that reads it: it says
/// the integer is out of TOML's range, which bound it broke, and what the key takes, in the file
/// and in `--set`; no second error about a stand-in value.
#[test]
fn an_integer_beyond_toml_integers_is_one_error_naming_the_bound_and_the_key_range() {
    let key = "temporal.max_concurrent_activities";
    let expected = "is out of range (TOML integers are 64-bit signed: at most \
                    9223372036854775807), expected an integer in [1, 1000000]";
    let text = with("[temporal]\nmax_concurrent_activities = 99999999999999999999\n");
    let line = line_of(&text, "max_concurrent_activities");
    assert_eq!(
        errors(&text, &[]),
        [format!(
            "s.toml:{line}:29: {key}: integer 99999999999999999999 {expected}"
        )]
    );
    let set = format!("{key}=99999999999999999999");
    assert_eq!(
        errors(MINIMAL, &[&set]),
        [format!(
            "s.toml: --set {set}: {key}: integer 99999999999999999999 {expected}"
        )]
    );
    // Below i64 too, and in a u64 key, a float key and a string key.
    let text = with("[temporal]\nmax_concurrent_activities = -99999999999999999999\n");
    assert_eq!(
        errors(&text, &[]),
        [format!(
            "s.toml:{line}:29: {key}: integer -99999999999999999999 is out of range (TOML \
             integers are 64-bit signed: at least -9223372036854775808), expected an integer in \
             [1, 1000000]"
        )]
    );
    // 2^64 - 1 fits in 64 unsigned bits: the message must not say it does not fit in 64 bits.
    for big in ["18446744073709551615", "18446744073709551616"] {
        let text = with(&format!("[run]\nmax_events = {big}\n"));
        assert_eq!(
            errors(&text, &[]),
            [format!(
                "s.toml:{}:14: run.max_events: integer {big} is out of range (TOML integers are \
                 64-bit signed: at most 9223372036854775807), expected an integer in [1, \
                 9223372036854775807]",
                line_of(&text, "max_events")
            )]
        );
    }
    let text = MINIMAL.replace("rate_per_s = 1.0", "rate_per_s = 99999999999999999999");
    assert_eq!(
        errors(&text, &[]),
        [
            "s.toml:4:14: traffic.rate_per_s: integer 99999999999999999999 is out of range \
             (TOML integers are 64-bit signed: at most 9223372036854775807), expected a number \
             in [0, 1000000]"
        ]
    );
    let text = format!("name = 99999999999999999999\n{MINIMAL}");
    assert_eq!(
        errors(&text, &[]),
        ["s.toml:1:8: name: expected a string, found integer 99999999999999999999"]
    );
}

/// A seed is any u64, as `--seed` takes, in the file and in `--set`: a replication's seed
/// (which `replications.csv` lists and its `scenario.resolved.toml` records) can be rerun.
/// Past 2^64 - 1, or below 0, the message says the range.
#[test]
fn a_seed_is_any_u64_in_the_file_and_in_set() {
    let top = 18_446_744_073_709_551_615u64;
    assert_eq!(ok(&format!("seed = {top}\n{MINIMAL}"), &[]).seed, top);
    assert_eq!(ok(MINIMAL, &[&format!("seed={top}")]).seed, top);
    assert_eq!(ok(MINIMAL, &["seed=9223372036854775808"]).seed, 1 << 63);
    assert_eq!(ok(MINIMAL, &["seed=0xFFFFFFFFFFFFFFFF"]).seed, top);
    assert_eq!(ok(MINIMAL, &["seed=7"]).seed, 7);
    let range = "expected an integer in [0, 18446744073709551615] (a seed)";
    assert_eq!(
        errors(MINIMAL, &["seed=18446744073709551616"]),
        [format!(
            "s.toml: --set seed=18446744073709551616: seed: {range}, found 18446744073709551616"
        )]
    );
    assert_eq!(
        errors(&format!("seed = -1\n{MINIMAL}"), &[]),
        [format!("s.toml:1:8: seed: {range}, found -1")]
    );
    assert_eq!(
        errors(&format!("seed = -99999999999999999999\n{MINIMAL}"), &[]),
        [format!(
            "s.toml:1:8: seed: {range}, found -99999999999999999999"
        )]
    );
    assert_eq!(
        errors(MINIMAL, &["seed=one"]),
        [format!(
            "s.toml: --set seed=one: seed: {range}, found string \"one\""
        )]
    );
    // The resolved scenario of a run with such a seed loads back.
    let scenario = ok(MINIMAL, &[&format!("seed={top}")]);
    let reloaded = ok(&to_resolved_toml(&scenario), &[]);
    assert_eq!(reloaded.seed, top);
}

#[test]
fn timeline_problems_are_reported() {
    let text = with(
        r#"
[run]
horizon = "1h"

[[timeline]]
at = "2h"
deploy = "rolling"

[[timeline]]
at = "10m"
set = { "temporal.cache_sise" = 5, "run.horizon" = "2h" }

[[timeline]]
at = "20m"
incident = "outage"
provider = "nobody"
duration = "5m"
factor = 2
"#,
    );
    let messages = errors(&text, &[]);
    let expected = [
        "timeline.0.at: expected a time below the horizon (1h), found \"2h\"",
        "timeline.1.set.run.horizon: \"run\" cannot be changed on the timeline",
        "timeline.2.provider: unknown provider \"nobody\": the scenario defines no providers, expected a [providers.nobody] table",
        "timeline.2.factor: factor applies only to incident = \"degradation\"",
    ];
    for tail in expected {
        assert!(
            messages.iter().any(|m| m.ends_with(tail)),
            "missing {tail} in {messages:?}"
        );
    }
    // The unknown key in a set is reported like an unknown --set key.
    let messages = errors(
        &with("[[timeline]]\nat = \"1m\"\nset = { \"temporal.cache_sise\" = 5 }\n"),
        &[],
    );
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("temporal.cache_sise: unknown key"),
        "{messages:?}"
    );
    assert!(
        messages[0].ends_with("(did you mean \"cache_size\"?)"),
        "{messages:?}"
    );
}

/// An error a timeline set causes elsewhere in the file names the set: the line it points at
/// was valid until the set.
#[test]
fn an_error_a_set_causes_elsewhere_names_the_set() {
    let text = with(
        "[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 5\nmax_instances = 10\n\n\
         [[timeline]]\nat = \"10m\"\nset = { \"autoscaler.max_instances\" = 2 }\n",
    );
    let line = line_of(&text, "[[timeline]]");
    let messages = errors(&text, &[]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].ends_with(&format!(
            "autoscaler.min_instances: min_instances (5) must not exceed max_instances (2) \
             (after the set of timeline.0, line {line})"
        )),
        "{messages:?}"
    );
}

/// Cross-key rules name both values; a probability refused on its own adds no sum error.
#[test]
fn cross_key_errors_give_the_values() {
    let messages = errors(MINIMAL, &["instance.runtime_memory=\"1GiB\""]);
    assert!(
        messages[0].ends_with(
            "instance.runtime_memory: runtime_memory (1GiB) must be below memory_limit \
             (512MiB), or every instance is killed as it starts"
        ),
        "{messages:?}"
    );
    let messages = errors(MINIMAL, &["instance.crash_loop_backoff=\"10m\""]);
    assert!(
        messages[0]
            .ends_with("crash_loop_backoff_max (5m) must be at least crash_loop_backoff (10m)"),
        "{messages:?}"
    );
    let tool = "steps=[{kind=\"tool\",latency={kind=\"constant\",value=\"1s\"}}]";
    let choice = format!(
        "agent.steps.0={{kind=\"choice\",options=[{{probability=1.5,{tool}}},\
         {{probability=-0.5,{tool}}}]}}"
    );
    let messages = errors(MINIMAL, &[choice.as_str()]);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .all(|m| m.contains(".probability: expected a number in [0, 1]"))
    );
}

/// A piecewise point refused for its rate is still the first point, and its time still
/// orders the next: one error, not three.
#[test]
fn a_bad_piecewise_point_reports_only_itself() {
    for points in [
        "[{ at = \"0s\", rate = \"1/hour\" }]",
        "[{ at = \"0s\", rate = \"1/hour\" }, { at = \"1h\", rate = \"2/h\" }]",
    ] {
        let text = MINIMAL.replace(
            "kind = \"constant\"\nrate_per_s = 1.0",
            &format!("kind = \"piecewise\"\npoints = {points}"),
        );
        let messages = errors(&text, &[]);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].contains("traffic.points.0.rate: invalid rate"),
            "{messages:?}"
        );
    }
}

#[test]
fn an_entry_with_both_set_and_incident_is_one_error() {
    let text = with(
        "[[timeline]]\nat = \"1m\"\nset = { \"traffic.multiplier\" = 2 }\n\
         incident = \"outage\"\nprovider = \"p\"\nduration = \"1m\"\n",
    );
    let messages = errors(&text, &[]);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].ends_with(
            "timeline.0: an entry takes either set (with an optional deploy) or incident, not both"
        ),
        "{messages:?}"
    );
}

#[test]
fn no_input_panics_the_loader() {
    // Every line of the full fixture removed, or its value replaced by a value of every type:
    // loading reports errors or succeeds, and never panics.
    let fixture = std::fs::read_to_string(testdata().join("full.toml")).expect("fixture");
    let lines: Vec<&str> = fixture.lines().collect();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(testdata().join("think.csv"), dir.path().join("think.csv")).expect("copy");
    let path = dir.path().join("s.toml");
    let replacements = [
        "",
        "\"x\"",
        "-1",
        "0",
        "1.5",
        "[]",
        "{}",
        "true",
        "1979-05-27",
        "\"0s\"",
        "{ kind = \"constant\" }",
    ];
    for i in 0..lines.len() {
        for replacement in replacements {
            let mut edited = lines.clone();
            let replaced;
            if let Some((key, _)) = lines[i].split_once(" = ") {
                replaced = format!("{key} = {replacement}");
                edited[i] = &replaced;
            } else {
                edited[i] = replacement;
            }
            std::fs::write(&path, edited.join("\n")).expect("write");
            let _ = load(&path, &[]);
        }
    }
}

#[test]
fn agent_without_steps_is_an_error() {
    let traffic = "[traffic]\nkind = \"constant\"\nrate_per_s = 1\n";
    let messages = errors(&format!("{traffic}[agent]\n"), &[]);
    assert_eq!(
        messages,
        ["s.toml:4:1: agent.steps: no steps, expected at least one [[agent.steps]] table"]
    );
    let messages = errors(&format!("{traffic}[agent]\nsteps = []\n"), &[]);
    assert_eq!(
        messages,
        ["s.toml:5:9: agent.steps: no steps, expected at least one [[agent.steps]] table"]
    );
}

#[test]
fn a_bare_dotted_key_in_a_timeline_set_is_rejected_with_the_quoted_form() {
    let messages = errors(
        &with("[[timeline]]\nat = \"1m\"\nset = { temporal.cache_size = 200 }\n"),
        &[],
    );
    assert!(
        messages.iter().any(|m| m
            .contains("timeline.0.set.temporal: a table here would replace all")
            && m.contains("\"temporal.cache_size\" = ...")),
        "{messages:?}"
    );
    // A quoted key with a table value is the same table; a fixed section is said to be fixed
    // (not told to quote what cannot be set); an empty table gets a placeholder key.
    for (set, expected) in [
        (
            "{ \"temporal\" = { cache_size = 5 } }",
            "\"temporal.cache_size\" = ...",
        ),
        (
            "{ \"run\" = { horizon = \"1h\" } }",
            "\"run\" cannot be changed",
        ),
        ("{ \"temporal\" = {} }", "\"temporal.KEY\" = ..."),
        (
            "{ \"traffic.rate_per_s\" = 5, \"traffic.rate\" = \"1/s\" }",
            "\"traffic.rate\" and \"traffic.rate_per_s\" set one quantity: give either, not both",
        ),
    ] {
        let messages = errors(
            &with(&format!("[[timeline]]\nat = \"1m\"\nset = {set}\n")),
            &[],
        );
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{set}: {messages:?}"
        );
        assert!(
            !messages.iter().any(|m| m.contains("\"run.\"")),
            "{set}: {messages:?}"
        );
    }
    // A whole section that names its kind may still be replaced.
    let scenario = ok(
        &with(
            "[[timeline]]\nat = \"1m\"\nset = { autoscaler = { kind = \"fixed\", instances = 3 } }\n",
        ),
        &[],
    );
    assert_eq!(scenario.timeline.len(), 1);
}

#[test]
fn a_timeline_set_cannot_change_the_shape_of_the_run() {
    let messages = errors(
        &with(
            "[[timeline]]\nat = \"1m\"\nset = { \"providers.extra\" = { ttft = { kind = \"constant\", value = \"1s\" }, output_tokens_per_s = 50 } }\n",
        ),
        &[],
    );
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("timeline.0: a timeline set cannot add or remove providers")),
        "{messages:?}"
    );
}

#[test]
fn a_timeline_set_cannot_change_the_shape_of_the_program_only_its_values() {
    let shape_error = "timeline.0: a timeline set cannot change the shape of the agent's program";
    for set in [
        r#"{ "agent.steps.0.name" = "renamed" }"#,
        r#"{ "agent.steps.0.on_failure" = { steps = [{ kind = "tool", name = "again", latency = { kind = "constant", value = "1s" } }] } }"#,
    ] {
        let messages = errors(
            &with(&format!("[[timeline]]\nat = \"1m\"\nset = {set}\n")),
            &[],
        );
        assert!(
            messages.iter().any(|m| m.contains(shape_error)),
            "{set}: {messages:?}"
        );
    }
    let scenario = ok(
        &with("[[timeline]]\nat = \"1m\"\nset = { \"agent.steps.0.cpu\" = \"9ms\" }\n"),
        &[],
    );
    assert_eq!(scenario.timeline.len(), 1);
}

#[test]
fn hpa_and_keda_take_the_kubernetes_and_keda_defaults_and_round_trip() {
    let hpa = ok(
        &with("[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\nmax_replicas = 10\n"),
        &[],
    );
    let Autoscaler::Hpa(h) = &hpa.autoscaler else {
        panic!("{:?}", hpa.autoscaler)
    };
    assert_eq!(
        (h.min_replicas, h.max_replicas, h.initial_replicas),
        (1, 10, 1)
    );
    assert_eq!(
        h.metric,
        HpaMetric::Cpu {
            target_utilization: 0.8
        }
    );
    assert_eq!(h.control, HpaControl::kubernetes_defaults());
    let keda = ok(
        &with(
            "[autoscaler]\nkind = \"keda\"\nqueue_types = \"workflow,activity\"\n\
             [autoscaler.behavior.scale_down]\nstabilization_window = \"1m\"\n\
             policies = [{ kind = \"pods\", value = 2, period = \"30s\" }]\n",
        ),
        &[],
    );
    let Autoscaler::Keda(k) = &keda.autoscaler else {
        panic!("{:?}", keda.autoscaler)
    };
    assert_eq!((k.min_replica_count, k.max_replica_count), (0, 100));
    assert_eq!(k.initial_replicas, 1);
    assert_eq!(k.polling_interval, 30_000_000_000);
    assert_eq!(k.cooldown_period, 300_000_000_000);
    assert_eq!(
        (k.target_queue_size, k.activation_target_queue_size),
        (5.0, 0.0)
    );
    assert!(k.queue_types.workflow && k.queue_types.activity);
    assert_eq!(k.control.scale_down.stabilization_window, 60_000_000_000);
    assert_eq!(
        k.control.scale_down.policies,
        vec![HpaPolicy {
            kind: PolicyKind::Pods,
            value: 2,
            period: 30_000_000_000
        }]
    );
    assert_eq!(
        k.control.scale_up,
        HpaControl::kubernetes_defaults().scale_up
    );
    for scenario in [hpa, keda] {
        let text = crate::scenario::to_resolved_toml(&scenario);
        let again = ok(&text, &[]);
        assert_eq!(again.autoscaler, scenario.autoscaler, "{text}");
    }
}

#[test]
fn hpa_and_keda_bad_values_name_the_key_and_what_is_expected() {
    let messages = errors(
        &with(
            "[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\nmin_replicas = 5\nmax_replicas = 3\n\
             target_utilization = 0\ntarget_queue_size = 4\n\
             [autoscaler.behavior.scale_up]\nselect_policy = \"most\"\n\
             policies = [{ kind = \"pods\", value = 0, period = \"2h\" }]\n",
        ),
        &[],
    );
    let expected = [
        "autoscaler.min_replicas: min_replicas (5) must not exceed max_replicas (3)",
        "autoscaler.target_utilization: expected a number in (0, 1], found 0",
        "autoscaler.behavior.scale_up.select_policy: expected \"max\", \"min\" or \"disabled\", found \"most\"",
        "autoscaler.behavior.scale_up.policies.0.value: expected an integer >= 1, found 0",
        "autoscaler.behavior.scale_up.policies.0.period: expected a duration of at most 30m",
        "autoscaler.target_queue_size: only applies with metric = \"backlog\"",
    ];
    for tail in expected {
        assert!(
            messages.iter().any(|m| m.contains(tail)),
            "no message with {tail:?} in {messages:#?}"
        );
    }
    assert!(
        messages.iter().all(|m| m.starts_with("s.toml:")),
        "{messages:#?}"
    );
    let messages = errors(
        &with("[autoscaler]\nkind = \"hpa\"\nmetric = \"cpu\"\n"),
        &[],
    );
    assert!(
        messages[0].contains("autoscaler.max_replicas: missing required key"),
        "{messages:?}"
    );
    let messages = errors(
        &with(
            "[autoscaler]\nkind = \"keda\"\ntarget_queue_size = -1\nmin_replica_count = 4\n\
             max_replica_count = 2\nqueue_types = \"nexus\"\ncooldown = \"1m\"\n",
        ),
        &[],
    );
    let expected = [
        "autoscaler.target_queue_size: expected a number in (0, 1000000000], found -1",
        "autoscaler.min_replica_count: min_replica_count (4) must not exceed max_replica_count (2)",
        "autoscaler.queue_types: expected \"workflow\", \"activity\",",
        "autoscaler.cooldown: unknown key",
    ];
    for tail in expected {
        assert!(
            messages.iter().any(|m| m.contains(tail)),
            "no message with {tail:?} in {messages:#?}"
        );
    }
}

/// The traffic of a one-workload scenario whose `[traffic]` table is `traffic`.
fn traffic_of(traffic: &str, overrides: &[&str]) -> TrafficProfile {
    let text = MINIMAL.replace("kind = \"constant\"\nrate_per_s = 1.0", traffic);
    ok(&text, overrides).workloads[0].traffic.profile.clone()
}

#[test]
fn rates_are_written_per_second_minute_hour_or_day() {
    let constant = |rate_per_s| TrafficProfile::Constant { rate_per_s };
    for (text, per_s) in [
        ("rate = \"0.5/s\"", 0.5),
        ("rate = \"30/m\"", 0.5),
        ("rate = \"1800/h\"", 0.5),
        ("rate = \"43200/d\"", 0.5),
        ("rate_per_s = 0.5", 0.5),
    ] {
        let profile = traffic_of(&format!("kind = \"constant\"\n{text}"), &[]);
        assert_eq!(profile, constant(per_s), "{text}");
    }
    // `--set` takes the same strings, unquoted.
    let profile = traffic_of(
        "kind = \"constant\"\nrate = \"1/s\"",
        &["traffic.rate=7200/h"],
    );
    assert_eq!(profile, constant(2.0));

    let diurnal = traffic_of(
        "kind = \"diurnal\"\nmean_rate = \"3600/h\"\npeak_to_trough = 4\npeak_hour = 14",
        &[],
    );
    assert!(
        matches!(diurnal, TrafficProfile::Diurnal { mean_rate_per_s, .. } if mean_rate_per_s == 1.0)
    );

    let piecewise = traffic_of(
        "kind = \"piecewise\"\npoints = [{ at = \"0s\", rate = \"60/m\" }, { at = \"1h\", rate_per_s = 3 }]",
        &[],
    );
    let TrafficProfile::Piecewise { points } = piecewise else {
        panic!("piecewise expected, found {piecewise:?}")
    };
    let rates: Vec<f64> = points.iter().map(|p| p.rate_per_s).collect();
    assert_eq!(rates, [1.0, 3.0]);
}

/// A rate is one quantity written two ways: setting either spelling (`--set`, a timeline
/// `set`, a grid) replaces the file's, whichever it used; a file that writes both is refused.
#[test]
fn either_spelling_of_a_rate_replaces_the_other() {
    let file_rate = MINIMAL.replace("rate_per_s = 1.0", "rate = \"120/h\"");
    let rate_of = |s: &Scenario| match &s.workloads[0].traffic.profile {
        TrafficProfile::Constant { rate_per_s } => *rate_per_s,
        other => panic!("constant expected, found {other:?}"),
    };
    assert_eq!(rate_of(&ok(&file_rate, &["traffic.rate_per_s=5"])), 5.0);
    assert_eq!(rate_of(&ok(MINIMAL, &["traffic.rate=7200/h"])), 2.0);
    // The last of two --set wins, as for one key set twice.
    assert_eq!(
        rate_of(&ok(
            &file_rate,
            &["traffic.rate_per_s=5", "traffic.rate=60/m"]
        )),
        1.0
    );
    // A timeline set names either spelling, whichever the file uses.
    let timeline =
        format!("{file_rate}\n[[timeline]]\nat = \"1m\"\nset = {{ \"traffic.rate_per_s\" = 4 }}\n");
    let scenario = ok(&timeline, &[]);
    let Action::Set { effective, .. } = &scenario.timeline[0].action else {
        panic!("a set")
    };
    assert_eq!(rate_of(effective), 4.0);
    // A grid over either spelling.
    let points = sweep_check(&file_rate, &["traffic.rate_per_s=3,6"]).unwrap();
    assert_eq!(points.iter().map(rate_of).collect::<Vec<_>>(), [3.0, 6.0]);
    // ... which a --set of the other spelling would be replaced by at every point: refused.
    let source = |overrides: &[String]| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.toml");
        std::fs::write(&path, &file_rate).expect("write scenario");
        load_sweep(&path, overrides, &["traffic.rate_per_s=3,6".to_string()])
            .err()
            .map(|e| e.messages)
    };
    let refused = source(&["traffic.rate=60/m".to_string()]).expect("refused");
    assert!(
        refused[0].ends_with(
            "--set traffic.rate=60/m conflicts with --grid traffic.rate_per_s=3,6, which varies \
             traffic.rate_per_s: drop one"
        ),
        "{refused:?}"
    );
    // Both written in the file: which one is meant is not known.
    assert_eq!(
        errors(
            &file_rate.replace("rate = ", "rate_per_s = 1\nrate = "),
            &[]
        ),
        ["s.toml:5:8: traffic.rate: give either rate or rate_per_s, not both"]
    );
    // Both swept in a file's [sweep] grid: one quantity, swept twice.
    let swept_twice = format!(
        "{file_rate}\n[sweep]\ngrid = {{ \"traffic.rate\" = [\"1/s\"], \"traffic.rate_per_s\" = [2, 3] }}\n"
    );
    assert!(
        errors(&swept_twice, &[])
            .iter()
            .any(|m| m
                .contains("grid keys `traffic.rate` and `traffic.rate_per_s` set one quantity")),
        "{:?}",
        errors(&swept_twice, &[])
    );
}

/// An array index is written one way: `agent.steps.00.cpu` would name the same step as
/// `agent.steps.0.cpu` and slip past the checks that compare keys as written.
#[test]
fn an_index_written_with_leading_zeros_is_refused() {
    let messages = errors(MINIMAL, &["agent.steps.00.cpu=3ms"]);
    assert!(
        messages
            .iter()
            .any(|m| m
                .contains("agent.steps is an array, expected an index written as 0, found \"00\"")),
        "{messages:?}"
    );
    assert!(!errors(MINIMAL, &["agent.steps.+0.cpu=3ms"]).is_empty());
    ok(MINIMAL, &["agent.steps.0.cpu=3ms"]);
}

#[test]
fn bad_rates_say_what_is_expected() {
    let load = |traffic: &str| {
        let text = MINIMAL.replace("kind = \"constant\"\nrate_per_s = 1.0", traffic);
        errors(&text, &[])
    };
    let expected = "expected a rate string such as \"0.5/s\", \"30/m\", \"120/h\", \"2000/d\" \
                    (per s, m, h or d: second, minute, hour, day)";
    assert_eq!(
        load("kind = \"constant\"\nrate = \"120/hour\""),
        [format!(
            "s.toml:4:8: traffic.rate: invalid rate \"120/hour\" (unknown unit \"hour\"), {expected}"
        )]
    );
    assert_eq!(
        load("kind = \"constant\"\nrate = 120"),
        [format!(
            "s.toml:4:8: traffic.rate: {expected}, found integer 120"
        )]
    );
    assert_eq!(
        load("kind = \"constant\"\nrate = \"120/h\"\nrate_per_s = 1"),
        ["s.toml:4:8: traffic.rate: give either rate or rate_per_s, not both"]
    );
    assert_eq!(
        load("kind = \"constant\""),
        [
            "s.toml:2:1: traffic.rate: missing required key, expected rate (a rate string such as \
          \"120/h\") or rate_per_s (a number in [0, 1000000] per second)"
        ]
    );
    assert_eq!(
        load("kind = \"constant\"\nrate = \"100000000/s\""),
        [
            "s.toml:4:8: traffic.rate: expected a number in [0, 1000000] per second, found \
          \"100000000/s\" (100000000 per second)"
        ]
    );
}

const ONE_PROVIDER: &str = r#"
[providers.openai]
ttft = { kind = "constant", value = "1s" }
output_tokens_per_s = 50
"#;

#[test]
fn a_misspelt_provider_in_set_gets_a_hint() {
    let text = with(ONE_PROVIDER);
    assert_eq!(
        errors(&text, &["providers.opneai.timeout=30s"]),
        [
            "s.toml: --set providers.opneai.timeout=30s: providers.opneai: unknown provider, \
          expected \"openai\" (did you mean \"openai\"?); --set adds a provider only with its \
          ttft and output_tokens_per_s"
        ]
    );
    // A provider added whole, by two `--set`s, is a provider.
    let scenario = ok(
        &text,
        &[
            "providers.openai2.ttft={ kind = \"constant\", value = \"2s\" }",
            "providers.openai2.output_tokens_per_s=60",
        ],
    );
    assert_eq!(scenario.providers.len(), 2);
}

#[test]
fn an_unused_provider_group_is_a_warning() {
    let llm_step = r#"
[[agent.steps]]
name = "answer"
kind = "llm"
group = "main"
input_tokens = { kind = "constant", value = 100 }
output_tokens = { kind = "constant", value = 10 }

[provider_groups]
main = ["openai"]
spare = ["openai"]
"#;
    let text = with(&format!("{ONE_PROVIDER}\n{llm_step}"));
    let scenario = ok(&text, &[]);
    assert_eq!(
        warnings(&scenario),
        [
            "provider_groups.spare: no llm step uses this group (group = \"spare\"); remove it, or \
          check the steps' group names"
        ]
    );
    // A group that a timeline set switches a step to is used.
    let switched = format!(
        "{text}\n[[timeline]]\nat = \"1h\"\nset = {{ \"agent.steps.1.group\" = \"spare\" }}\n"
    );
    assert!(warnings(&ok(&switched, &[])).is_empty());
    assert!(warnings(&ok(&text, &["agent.steps.1.group=spare"])).len() == 1);
}

// --- `[sweep]` and grid points -------------------------------------------------------------

/// `sim validate` of `text` as `s.toml` (the scenario, its `[sweep]` table and every grid
/// point), or `sim sweep`'s check with `--grid` arguments: the messages, paths made relative.
fn sweep_check(text: &str, grid_args: &[&str]) -> Result<Vec<Scenario>, Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).expect("write scenario");
    let grid_args: Vec<String> = grid_args.iter().map(|a| a.to_string()).collect();
    let prefix = format!("{}/", dir.path().display());
    let relative = |e: ScenarioErrors| -> Vec<String> {
        e.messages.iter().map(|m| m.replace(&prefix, "")).collect()
    };
    let source = load_sweep(&path, &[], &grid_args).map_err(relative)?;
    source.load_points().map_err(relative)
}

fn sweep_errors(text: &str, grid_args: &[&str]) -> Vec<String> {
    match sweep_check(text, grid_args) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(messages) => messages,
    }
}

#[test]
fn a_broken_sweep_table_fails_validation_with_locations_and_hints_all_at_once() {
    let text = with(
        "[sweep]\nreplicatons = 3\n\
         grid = { \"temporal.cache_sise\" = [1, 2], \"instance.memory_limt\" = [\"1GiB\"], \
         \"run.horizn\" = [\"1h\", \"2h\"] }\n",
    );
    // The table's own key fails `sim run` and `sim validate` alike.
    assert_eq!(
        errors(&text, &[]),
        [format!(
            "s.toml:{}:1: sweep.replicatons: unknown key, expected \"replications\", \
             \"objective\", \"search\", \"initial_replications\", \"halving_factor\" or \
             \"grid\" (did you mean \"replications\"?)",
            line_of(&text, "replicatons")
        )]
    );
    // Three misspelt grid keys: three errors in one run, each where it is written.
    let text = text.replace("replicatons", "replications");
    let line = line_of(&text, "cache_sise");
    let column = |needle: &str| text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1;
    let messages = sweep_errors(&text, &[]);
    assert_eq!(messages.len(), 3, "{messages:#?}");
    for (needle, key, hint) in [
        ("\"temporal", "temporal.cache_sise", "cache_size"),
        ("\"instance", "instance.memory_limt", "memory_limit"),
        ("\"run", "run.horizn", "horizon"),
    ] {
        let start = format!(
            "s.toml:{line}:{}: sweep.grid.\"{key}\": unknown key",
            column(needle)
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(&start)
                    && m.ends_with(&format!("(did you mean \"{hint}\"?)"))),
            "{start} in {messages:#?}"
        );
    }
}

#[test]
fn a_set_on_a_scenario_without_autoscaler_sets_the_default_fixed_instances() {
    let scenario = load_text(MINIMAL, &["autoscaler.instances=3"]).expect("loads");
    assert_eq!(scenario.autoscaler, Autoscaler::Fixed { instances: 3 });
    // So does a grid over it.
    let points = sweep_check(MINIMAL, &["autoscaler.instances=2,4"]).expect("loads");
    assert_eq!(points[1].autoscaler, Autoscaler::Fixed { instances: 4 });
    // Another key needs a kind, and says so where it was set.
    assert_eq!(
        errors(MINIMAL, &["autoscaler.max_instances=3"]),
        [
            "s.toml: --set autoscaler.max_instances=3: autoscaler.kind: missing required key, \
             expected \"fixed\", \"cloud_run\", \"hpa\" or \"keda\" (the scenario has no \
             [autoscaler], and its default, kind = \"fixed\", reads only instances: set \
             autoscaler.kind too)"
        ]
    );
    let scenario = load_text(
        MINIMAL,
        &["autoscaler.max_instances=3", "autoscaler.kind=cloud_run"],
    )
    .expect("loads");
    assert!(matches!(scenario.autoscaler, Autoscaler::CloudRun(_)));
    // A table in the file still needs its kind.
    let messages = errors(&with("[autoscaler]\ninstances = 2\n"), &[]);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(
        messages[0].contains("autoscaler.kind: missing required key"),
        "{messages:#?}"
    );
}

#[test]
fn a_grid_with_many_invalid_points_shows_the_first_errors_and_counts_the_rest() {
    // 39 rates, each past the conversation limit over 2,000 h with its own count.
    let text = with("[run]\nhorizon = \"2000h\"\n");
    let messages = sweep_errors(&text, &["traffic.rate_per_s=2..40:1"]);
    assert_eq!(
        messages.len(),
        sweep::MAX_PER_POINT_MESSAGES + 1,
        "{messages:#?}"
    );
    assert!(
        messages[0].ends_with("(grid point 0 [traffic.rate_per_s=2])"),
        "{messages:#?}"
    );
    assert_eq!(
        messages.last().unwrap(),
        "s.toml: 19 more errors at 19 grid points not shown (the first 20 are)"
    );
}

#[test]
fn a_swept_key_the_timeline_sets_is_warned_about() {
    let text = with(
        r#"
[run]
horizon = "2h"

[[timeline]]
at = "1h"
label = "smaller cache"
set = { "temporal.cache_size" = 10 }

[[timeline]]
at = "90m"
set = { "traffic.multiplier" = 2 }
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, &text).expect("write scenario");
    let grid = |args: &[&str]| -> Vec<String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        grid_warnings(&path, &[], &args)
            .into_iter()
            .map(|w| w.replace(&format!("{}/", dir.path().display()), ""))
            .collect()
    };
    assert_eq!(
        grid(&["temporal.cache_size=100,1000", "instance.vcpus=1,2"]),
        [
            "s.toml: warning: sweep.grid \"temporal.cache_size\": the timeline sets \
             temporal.cache_size at 1h (\"smaller cache\"): from then on every point runs the \
             timeline's value, so the points differ only before 1h"
        ]
    );
    // A swept table holding a key the timeline sets is overridden in part: warned too.
    assert_eq!(
        grid(&["traffic={ kind = \"constant\", rate_per_s = 2 }"]).len(),
        1
    );
    // Keys the timeline leaves alone, and a file that does not load: nothing.
    assert!(grid(&["instance.vcpus=1,2"]).is_empty());
    assert!(grid_warnings(&dir.path().join("missing.toml"), &[], &[]).is_empty());
}

#[test]
fn grid_values_that_run_the_same_scenario_are_refused_where_written() {
    // Two spellings of one duration: the later one is named, as typed.
    assert_eq!(
        sweep_errors(MINIMAL, &["run.warmup=1m,2m,60s"]),
        [
            "s.toml: --grid run.warmup=60s: value `60s` of `run.warmup` runs the same scenario \
             as its value `1m`: list each value once"
        ]
    );
    // With a second axis the pair repeats at every value of it: still one message.
    assert_eq!(
        sweep_errors(MINIMAL, &["traffic.rate_per_s=1,1.0", "instance.vcpus=1,2"]),
        [
            "s.toml: --grid traffic.rate_per_s=1.0: value `1.0` of `traffic.rate_per_s` runs the \
             same scenario as its value `1`: list each value once"
        ]
    );
    // In the file's `[sweep].grid`, located at the value.
    let text = with("[sweep]\ngrid = { \"run.horizon\" = [\"2h\", \"1h\", \"3600s\"] }\n");
    let line = line_of(&text, "3600s");
    let col = text.lines().nth(line - 1).unwrap().find("\"3600s").unwrap() + 1;
    assert_eq!(
        sweep_errors(&text, &[]),
        [format!(
            "s.toml:{line}:{col}: sweep.grid: value `3600s` of `run.horizon` runs the same \
             scenario as its value `1h`: list each value once"
        )]
    );
    // Distinct values are fine, and the name and description are not sweepable at all.
    assert_eq!(
        sweep_check(MINIMAL, &["run.warmup=1m,2m"]).map(|p| p.len()),
        Ok(2)
    );
    for key in ["name", "description"] {
        let messages = sweep_errors(MINIMAL, &[&format!("{key}=a,b")]);
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(
            messages[0].contains(&format!("the scenario's {key} cannot be swept")),
            "{messages:#?}"
        );
    }
}

#[test]
fn grid_points_equal_through_several_keys_are_named_with_their_coordinates() {
    let origin = |arg: &str| diag::Origin::GridArg(arg.to_string());
    let axes: Vec<sweep::LocatedAxis> = [("a", ["1", "2"]), ("b", ["2", "1"])]
        .into_iter()
        .map(|(key, values)| sweep::LocatedAxis {
            key: key.to_string(),
            key_origin: origin(key),
            values: values
                .iter()
                .map(|v| (v.to_string(), origin(&format!("{key}={v}"))))
                .collect(),
        })
        .collect();
    let grid = sweep::plain_grid(&axes);
    // Points 0 [a=1 b=2] and 3 [a=2 b=1] are one scenario (as a product a x b would be); 1
    // and 2 differ from every other, and a point that did not serialise is never a repeat.
    let fingerprints = [Some(7), Some(1), None, Some(7)];
    assert_eq!(
        sweep::same_points(&axes, &grid, &fingerprints, "s.toml"),
        [
            "s.toml: grid point 3 [a=2 b=1] runs the same scenario as grid point 0 [a=1 b=2]: \
             drop a value that makes them equal"
        ]
    );
    assert!(sweep::same_points(&axes, &grid, &[Some(1), Some(2), None, None], "s.toml").is_empty());
}

#[test]
fn sweep_table_values_are_checked_where_they_are_written() {
    let messages = errors(
        &with(
            "[sweep]\nreplications = 0\nobjective = \"cost_totl_usd\"\n\
             grid = { \"temporal.cache_size\" = [], \"seed\" = [1], \"a.b\" = \"3..1:1\" }\n",
        ),
        &[],
    );
    let expected = [
        "sweep.replications: expected an integer in [1, 10000], found 0",
        "sweep.objective: unknown metric \"cost_totl_usd\" (did you mean \"cost_total_usd\"?)",
        "sweep.grid.\"temporal.cache_size\": expected a non-empty array of values",
        "sweep.grid.\"seed\": the seed cannot be swept",
        "sweep.grid.\"a.b\": bad range `3..1:1`: the end is below the start",
    ];
    assert_eq!(messages.len(), expected.len(), "{messages:#?}");
    for (message, expected) in messages.iter().zip(expected) {
        assert!(message.contains(expected), "{expected:?} in {message}");
        assert!(message.starts_with("s.toml:"), "{message}");
    }
}

#[test]
fn a_bad_grid_value_is_reported_once_where_it_is_written() {
    let text = with(
        "[sweep]\ngrid = { \"temporal.cache_size\" = [1, 2, 3], \"instance.vcpus\" = [1, 0] }\n",
    );
    let line = line_of(&text, "instance.vcpus");
    let col = text.lines().nth(line - 1).unwrap().find("0]").unwrap() + 1;
    assert_eq!(
        sweep_errors(&text, &[]),
        [format!(
            "s.toml:{line}:{col}: sweep.grid.\"instance.vcpus\": expected an integer in [1, 1024], \
             found 0"
        )]
    );
    // `--grid` names the argument: the whole argument for a key, `key=value` for one value.
    assert_eq!(
        sweep_errors(MINIMAL, &["temporal.cache_sise=1,2", "instance.vcpus=0,1"]),
        [
            "s.toml: --grid temporal.cache_sise=1,2: temporal.cache_sise: unknown key, expected \
             \"cache_size\", \"max_concurrent_workflow_tasks\", \"max_concurrent_activities\", \
             \"sticky_schedule_to_start_timeout\", \"workflow_task_timeout\", \
             \"workflow_task_cpu\", \"replay_cpu_per_event\", \"history_fetch_base\", \
             \"history_fetch_per_page\", \"history_page_size\", \"cached_workflow_memory\", \
             \"cached_memory_per_event\" or \"cached_memory_per_turn\" (did you mean \
             \"cache_size\"?)",
            "s.toml: --grid instance.vcpus=0: instance.vcpus: expected an integer in [1, 1024], \
             found 0",
        ]
    );
    // Malformed arguments are all reported too.
    let messages = sweep_errors(MINIMAL, &["a.b=5..1:1", "c.d", "e.f=1", "e.f=2"]);
    assert_eq!(messages.len(), 3, "{messages:#?}");
}

#[test]
fn an_invalid_grid_point_names_its_coordinates_and_every_one_is_reported() {
    let text = with(
        "[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 5\n\n\
         [sweep]\ngrid = { \"autoscaler.max_instances\" = [2, 10, 3], \"instance.vcpus\" = [1, 2] }\n",
    );
    let line = line_of(&text, "min_instances = 5");
    let bad = |point: usize, max: u32, vcpus: u32| {
        format!(
            "s.toml:{line}:17: autoscaler.min_instances: min_instances (5) must not exceed \
             max_instances ({max}) (grid point {point} [autoscaler.max_instances={max} \
             instance.vcpus={vcpus}])"
        )
    };
    assert_eq!(
        sweep_errors(&text, &[]),
        [bad(0, 2, 1), bad(1, 2, 2), bad(4, 3, 1), bad(5, 3, 2)]
    );
}

#[test]
fn a_swept_min_instances_moves_an_initial_count_the_grid_does_not_set() {
    let text = with(
        "[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 1\nmax_instances = 30\n\
         initial_instances = 3\n\n[sweep]\ngrid = { \"autoscaler.min_instances\" = [1, 4, 6] }\n",
    );
    let initial: Vec<u32> = sweep_check(&text, &[])
        .unwrap_or_else(|e| panic!("{e:#?}"))
        .iter()
        .map(|s| s.autoscaler.initial_instances())
        .collect();
    assert_eq!(initial, [3, 4, 6]);
    let initial: Vec<u32> = sweep_check(&text, &["autoscaler.max_instances=2,5"])
        .unwrap_or_else(|e| panic!("{e:#?}"))
        .iter()
        .map(|s| s.autoscaler.initial_instances())
        .collect();
    assert_eq!(initial, [2, 3]);
    // A value the user sets explicitly is still checked: by --set, or swept itself.
    assert!(errors(&text, &["autoscaler.min_instances=4"])[0].ends_with(
        "--set autoscaler.min_instances=4: autoscaler.min_instances: \
                        initial_instances (3) must be within [min_instances, max_instances] = \
                        [4, 30]"
    ));
    let messages = sweep_errors(
        &text,
        &[
            "autoscaler.min_instances=4",
            "autoscaler.initial_instances=2,5",
        ],
    );
    assert_eq!(
        messages,
        [
            "s.toml: --grid autoscaler.initial_instances=2: autoscaler.initial_instances: \
             initial_instances (2) must be within [min_instances, max_instances] = [4, 30]"
        ]
    );
}

/// The same for hpa's and keda's `initial_replicas` (it used to be refused at a point whose
/// swept floor passed it).
#[test]
fn a_swept_replica_floor_moves_an_initial_count_the_grid_does_not_set() {
    for (table, min_key) in [
        (
            "kind = \"hpa\"\nmetric = \"cpu\"\nmin_replicas = 1\nmax_replicas = 30",
            "min_replicas",
        ),
        (
            "kind = \"keda\"\nmin_replica_count = 1\nmax_replica_count = 30",
            "min_replica_count",
        ),
    ] {
        let text = with(&format!(
            "[autoscaler]\n{table}\ninitial_replicas = 3\n\n[sweep]\n\
             grid = {{ \"autoscaler.{min_key}\" = [1, 4, 6] }}\n"
        ));
        let initial: Vec<u32> = sweep_check(&text, &[])
            .unwrap_or_else(|e| panic!("{e:#?}"))
            .iter()
            .map(|s| s.autoscaler.initial_instances())
            .collect();
        assert_eq!(initial, [3, 4, 6], "{min_key}");
    }
}

#[test]
fn a_scenario_without_a_grid_is_its_only_point() {
    let points = sweep_check(&with("[sweep]\nreplications = 4\n"), &[]).unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0], ok(MINIMAL, &[]));
}

/// Two keys whose values conflict: the error is filed under the one given last (`--set` over
/// the file over a default), the value the user just changed, and states both values.
#[test]
fn a_conflict_is_filed_under_the_value_given_last() {
    let text = with("[run]\nwarmup = \"30m\"\nhorizon = \"2h\"\n");
    // `--horizon 20m` is `--set run.horizon=20m`: the file's warmup did not change.
    assert_eq!(
        errors(&text, &["run.horizon=20m"]),
        [
            "s.toml: --set run.horizon=20m: run.horizon: warmup (30m) must be below the horizon \
          (20m): lower run.warmup (--set run.warmup=DURATION) or lengthen the horizon"
        ]
    );
    assert_eq!(
        errors(&text, &["run.warmup=3h"]),
        [
            "s.toml: --set run.warmup=3h: run.warmup: warmup (3h) must be below the horizon \
          (2h): lower run.warmup (--set run.warmup=DURATION) or lengthen the horizon"
        ]
    );
    // Both from the file: under the key the check is about.
    let line = line_of(&text, "warmup");
    let both = with("[run]\nwarmup = \"3h\"\nhorizon = \"2h\"\n");
    assert_eq!(
        errors(&both, &[]),
        [format!(
            "s.toml:{line}:10: run.warmup: warmup (3h) must be below the horizon (2h): lower \
             run.warmup (--set run.warmup=DURATION) or lengthen the horizon"
        )]
    );
    // A default is never blamed over a value written down.
    let backoff = with("[instance]\ncrash_loop_backoff = \"10m\"\n");
    let line = line_of(&backoff, "crash_loop_backoff");
    assert_eq!(
        errors(&backoff, &[]),
        [format!(
            "s.toml:{line}:22: instance.crash_loop_backoff: crash_loop_backoff_max (5m) must be \
             at least crash_loop_backoff (10m)"
        )]
    );
    // A grid point's conflict stays under the file's key, with the point's coordinates that
    // name the grid value: `an_invalid_grid_point_names_its_coordinates_and_every_one_is_reported`.
}

/// `sim run` and `sim validate` check a file's `[sweep]` grid, but a run does not run it: a
/// `--set` under which the file's points would fail (a constant rate swept, the profile set to
/// diurnal) is taken, while a grid that fails in the file itself is still refused.
#[test]
fn a_set_that_only_the_files_grid_points_refuse_is_taken_by_a_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    let diurnal = "traffic={kind=\"diurnal\", mean_rate_per_s=1, peak_to_trough=2, peak_hour=3}";
    std::fs::write(
        &path,
        with("[sweep]\ngrid = { \"traffic.rate_per_s\" = [1, 2] }\n"),
    )
    .unwrap();
    let scenario = validate(&path, &[diurnal.to_string()]).expect("taken");
    assert!(matches!(
        scenario.workloads[0].traffic.profile,
        TrafficProfile::Diurnal { .. }
    ));
    std::fs::write(
        &path,
        with("[sweep]\ngrid = { \"traffic.rate_per_sec\" = [1, 2] }\n"),
    )
    .unwrap();
    let refused = validate(&path, &[diurnal.to_string()]).unwrap_err();
    assert!(
        refused
            .messages
            .iter()
            .any(|m| m.contains("traffic.rate_per_sec")),
        "{:?}",
        refused.messages
    );
}
