//! Diagnostics: where a value came from (`Origin`), the collected error list (`Diags`) and the
//! did-you-mean hint. Every message reads `FILE:LINE:COL: KEY.PATH: what is wrong, expected`.

/// Where a raw value came from, for error locations.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Origin {
    /// The file as a whole (a missing section, say).
    Whole,
    /// A position in the scenario file, 1-based.
    File { line: usize, col: usize },
    /// A `--set` argument, as typed.
    Override(String),
    /// A row of a CSV file the scenario names.
    Csv { file: String, line: usize },
    /// A key or value of the file's `[sweep].grid`, applied to a grid point: its position in
    /// the file, 1-based.
    SweepGrid { line: usize, col: usize },
    /// A `--grid` argument (for a key) or its `key=value` (for one value), as typed.
    GridArg(String),
}

impl Origin {
    /// Sort order: whole-file problems, then by position in the file, then the rest.
    pub(crate) fn sort_key(&self) -> (u8, usize, usize) {
        match self {
            Origin::Whole => (0, 0, 0),
            Origin::File { line, col } => (1, *line, *col),
            Origin::Csv { line, .. } => (2, *line, 0),
            Origin::SweepGrid { line, col } => (1, *line, *col),
            Origin::Override(_) => (3, 0, 0),
            Origin::GridArg(_) => (4, 0, 0),
        }
    }

    /// Whether the value came from a `--set` argument.
    pub(crate) fn is_override(&self) -> bool {
        matches!(self, Origin::Override(_))
    }

    /// Whether the value came from a sweep grid (the file's `[sweep].grid` or `--grid`).
    pub(crate) fn is_grid(&self) -> bool {
        matches!(self, Origin::SweepGrid { .. } | Origin::GridArg(_))
    }
}

/// `message` with its control characters escaped (`\u{1b}`, `\u{0}`, `\n`): a message quotes
/// what the file says, and a terminal would act on an escape sequence or a NUL from it, or a
/// newline would split one message in two. A message without any is returned as it is.
pub(crate) fn escape_controls(message: String) -> String {
    if !message.chars().any(char::is_control) {
        return message;
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The errors found so far in one scenario file.
pub(crate) struct Diags {
    file: String,
    items: Vec<(Origin, String)>,
}

impl Diags {
    pub(crate) fn new(file: String) -> Diags {
        Diags {
            file,
            items: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, origin: &Origin, path: &str, message: impl AsRef<str>) {
        let message = message.as_ref();
        let what = if path.is_empty() {
            message.to_string()
        } else {
            format!("{path}: {message}")
        };
        let located = match origin {
            Origin::Whole => format!("{}: {what}", self.file),
            Origin::File { line, col } => format!("{}:{line}:{col}: {what}", self.file),
            Origin::Override(arg) => format!("{}: --set {arg}: {what}", self.file),
            Origin::Csv { file, line } => format!("{file}:{line}:1: {what}"),
            // The setting a grid value was applied to, named as the grid names it.
            Origin::SweepGrid { line, col } if path.is_empty() => {
                format!("{}:{line}:{col}: sweep.grid: {message}", self.file)
            }
            Origin::SweepGrid { line, col } => {
                format!(
                    "{}:{line}:{col}: sweep.grid.\"{path}\": {message}",
                    self.file
                )
            }
            Origin::GridArg(arg) => format!("{}: --grid {arg}: {what}", self.file),
        };
        self.items.push((origin.clone(), escape_controls(located)));
    }

    /// An empty list for the same file.
    pub(crate) fn sibling(&self) -> Diags {
        Diags::new(self.file.clone())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Moves `other`'s errors into this list (duplicates are dropped at the end), each message
    /// that points elsewhere than `own` followed by `suffix` (what made it an error).
    pub(crate) fn append_with(&mut self, other: Diags, suffix: &str, own: &[&Origin]) {
        self.items
            .extend(other.items.into_iter().map(|(origin, message)| {
                if own.contains(&&origin) {
                    (origin, message)
                } else {
                    (origin, format!("{message}{suffix}"))
                }
            }));
    }

    /// The messages in file order, each once.
    pub(crate) fn into_messages(self) -> Vec<String> {
        self.into_items().into_iter().map(|(_, m)| m).collect()
    }

    /// The messages with their origins, in file order, each once.
    pub(crate) fn into_items(mut self) -> Vec<(Origin, String)> {
        self.items.sort_by_key(|(origin, _)| origin.sort_key());
        let mut seen = std::collections::BTreeSet::new();
        let mut items = Vec::with_capacity(self.items.len());
        for (origin, message) in self.items {
            if seen.insert(message.clone()) {
                items.push((origin, message));
            }
        }
        items
    }
}

/// ` (did you mean "x"?)` when one candidate is close to `word`, else "".
pub(crate) fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    // The same word in another case or with other separators ("HPA", "cloud-run") first.
    let folded = fold(word);
    if let Some(candidate) = candidates.iter().find(|c| fold(c) == folded) {
        return format!(" (did you mean \"{candidate}\"?)");
    }
    let best = candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, candidate)) => format!(" (did you mean \"{candidate}\"?)"),
        None => String::new(),
    }
}

/// Names that other tools give to what a sim key is, matched after `normalized`: a user
/// who copies a key from a Temporal worker, a Cloud Run service, a Kubernetes manifest or a
/// provider's rate-limit page is pointed at sim's key. Each applies only in a table that has
/// the key. (alias, sim key, where the alias comes from)
const ALIASES: &[(&str, &str, &str)] = &[
    (
        "maxcachedworkflows",
        "cache_size",
        "Temporal's Python and TypeScript SDKs",
    ),
    ("stickyworkflowcachesize", "cache_size", "Temporal's Go SDK"),
    ("workflowcachesize", "cache_size", "Temporal's Java SDK"),
    (
        "maxconcurrentactivityexecutionsize",
        "max_concurrent_activities",
        "Temporal's Go and Java SDKs",
    ),
    (
        "maxconcurrentactivitytaskexecutions",
        "max_concurrent_activities",
        "Temporal's TypeScript SDK",
    ),
    (
        "maxconcurrentworkflowtaskexecutionsize",
        "max_concurrent_workflow_tasks",
        "Temporal's Go and Java SDKs",
    ),
    (
        "maxconcurrentworkflowtaskexecutions",
        "max_concurrent_workflow_tasks",
        "Temporal's TypeScript SDK",
    ),
    (
        "stickyqueuescheduletostarttimeout",
        "sticky_schedule_to_start_timeout",
        "Temporal's Python and TypeScript SDKs",
    ),
    (
        "maxscale",
        "max_instances",
        "Cloud Run (autoscaling.knative.dev/maxScale)",
    ),
    (
        "minscale",
        "min_instances",
        "Cloud Run (autoscaling.knative.dev/minScale)",
    ),
    (
        "maxinstancecount",
        "max_instances",
        "Cloud Run's Terraform scaling block",
    ),
    (
        "mininstancecount",
        "min_instances",
        "Cloud Run's Terraform scaling block",
    ),
    ("containerconcurrency", "max_concurrency", "Cloud Run"),
    (
        "concurrency",
        "max_concurrency",
        "Cloud Run (gcloud run deploy --concurrency)",
    ),
    (
        "maxinstancerequestconcurrency",
        "max_concurrency",
        "Cloud Run's Terraform template",
    ),
    ("cpu", "vcpus", "Cloud Run and Kubernetes"),
    ("memory", "memory_limit", "Cloud Run and Kubernetes"),
    (
        "terminationgraceperiod",
        "shutdown_grace",
        "a Kubernetes pod spec",
    ),
    (
        "averageutilization",
        "target_utilization",
        "Kubernetes' HorizontalPodAutoscaler",
    ),
    (
        "targetcpuutilizationpercentage",
        "target_utilization",
        "Kubernetes' HorizontalPodAutoscaler",
    ),
    (
        "averagevalue",
        "target_average_value",
        "Kubernetes' HorizontalPodAutoscaler",
    ),
    ("rpm", "requests_per_minute", "providers' rate-limit pages"),
    ("tpm", "tokens_per_minute", "providers' rate-limit pages"),
    ("timetofirsttoken", "ttft", "providers' latency figures"),
    (
        "concurrency",
        "max_concurrent_requests",
        "providers' rate-limit pages",
    ),
    (
        "maxconcurrency",
        "max_concurrent_requests",
        "providers' rate-limit pages",
    ),
];

/// Another autoscaler's name for a bound, written in a table of a kind that names it
/// otherwise: a KEDA `minReplicas` (the HorizontalPodAutoscaler's word) is sim's
/// `min_replica_count`, KEDA's `minReplicaCount`. (alias, sim key, where the alias comes from,
/// what the sim key is the name for)
const CROSS_ALIASES: &[(&str, &str, &str, &str)] = &[
    (
        "minreplicas",
        "min_replica_count",
        HPA,
        "minReplicaCount in KEDA",
    ),
    (
        "maxreplicas",
        "max_replica_count",
        HPA,
        "maxReplicaCount in KEDA",
    ),
    ("minreplicacount", "min_replicas", KEDA, HPA_MIN),
    ("maxreplicacount", "max_replicas", KEDA, HPA_MAX),
    ("minscale", "min_replicas", CLOUD_RUN_SCALE, HPA_MIN),
    ("maxscale", "max_replicas", CLOUD_RUN_SCALE, HPA_MAX),
    (
        "minscale",
        "min_replica_count",
        CLOUD_RUN_SCALE,
        "minReplicaCount in KEDA",
    ),
    (
        "maxscale",
        "max_replica_count",
        CLOUD_RUN_SCALE,
        "maxReplicaCount in KEDA",
    ),
    ("minreplicas", "min_instances", HPA, CLOUD_RUN_MIN),
    ("maxreplicas", "max_instances", HPA, CLOUD_RUN_MAX),
    ("minreplicacount", "min_instances", KEDA, CLOUD_RUN_MIN),
    ("maxreplicacount", "max_instances", KEDA, CLOUD_RUN_MAX),
];

const HPA: &str = "Kubernetes' HorizontalPodAutoscaler";
const HPA_MIN: &str = "minReplicas in Kubernetes' HorizontalPodAutoscaler";
const HPA_MAX: &str = "maxReplicas in Kubernetes' HorizontalPodAutoscaler";
const KEDA: &str = "KEDA";
const CLOUD_RUN_SCALE: &str = "Cloud Run (autoscaling.knative.dev)";
const CLOUD_RUN_MIN: &str = "minScale in Cloud Run";
const CLOUD_RUN_MAX: &str = "maxScale in Cloud Run";

/// `word` lower-cased without `_` and `-`.
fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `word` lower-cased without `_`, `-` and a trailing "seconds" (Kubernetes writes durations
/// as `periodSeconds = 15`), so `minReplicaCount`, `min-replica-count` and `min_replica_count`
/// compare equal.
fn normalized(word: &str) -> String {
    let lower = fold(word);
    match lower.strip_suffix("seconds") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => lower,
    }
}

/// The words of a key: split at `_`, `-` and lower-to-upper case changes, lower-cased.
fn words(key: &str) -> Vec<String> {
    let mut words = vec![String::new()];
    let mut previous_lower = false;
    for c in key.chars() {
        if c == '_' || c == '-' {
            words.push(String::new());
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower {
            words.push(String::new());
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        words
            .last_mut()
            .expect("starts with one")
            .push(c.to_ascii_lowercase());
    }
    words.retain(|w| !w.is_empty());
    words
}

/// The hint for an unknown key of a table that takes `known`: the key another tool names so
/// (`ALIASES`, `CROSS_ALIASES`), then the same key in another spelling (camelCase,
/// kebab-case, `...Seconds`), then a key whose words end or begin the unknown one
/// (`workflow_cache_size` -> `cache_size`), then a close spelling (`hint`).
pub(crate) fn key_hint(word: &str, known: &[&str]) -> String {
    let norm = normalized(word);
    if let Some((_, key, source)) = ALIASES
        .iter()
        .find(|(alias, key, _)| *alias == norm && known.contains(key))
    {
        return format!(" (did you mean \"{key}\", sim's name for {word} in {source}?)");
    }
    if let Some((_, key, source, meaning)) = CROSS_ALIASES
        .iter()
        .find(|(alias, key, _, _)| *alias == norm && known.contains(key))
    {
        return format!(
            " (did you mean \"{key}\", sim's name for {meaning}? {word} is the name in {source})"
        );
    }
    if let Some(key) = known.iter().find(|key| normalized(key) == norm) {
        let seconds = if word.to_ascii_lowercase().ends_with("seconds") {
            ", and a duration string such as \"30s\""
        } else {
            ""
        };
        return format!(" (did you mean \"{key}\"? sim spells keys in snake_case{seconds})");
    }
    let parts = words(word);
    let affix = known
        .iter()
        .filter(|key| {
            let key_words = words(key);
            key_words.len() < parts.len()
                && (parts.ends_with(&key_words) || parts.starts_with(&key_words))
        })
        .max_by_key(|key| words(key).len());
    if let Some(key) = affix {
        return format!(" (did you mean \"{key}\"?)");
    }
    hint(word, known.iter().copied())
}

/// `"a", "b" or "c"` for messages, each option once (a scenario with a name used twice, an
/// error of its own, listed it twice).
pub(crate) fn one_of<'a>(options: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for option in options {
        if !seen.contains(&option) {
            seen.push(option);
        }
    }
    let quoted: Vec<String> = seen.iter().map(|o| format!("\"{o}\"")).collect();
    match quoted.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_lists_each_option_once() {
        assert_eq!(one_of(["a", "b", "a", "c"]), "\"a\", \"b\" or \"c\"");
        assert_eq!(one_of(["voice", "voice"]), "\"voice\"");
        assert_eq!(one_of([]), "nothing");
    }

    #[test]
    fn hint_suggests_close_names_only() {
        assert_eq!(
            hint("cach_size", ["cache_size", "vcpus"]),
            " (did you mean \"cache_size\"?)"
        );
        assert_eq!(hint("zzz", ["cache_size", "vcpus"]), "");
        // Another case or separator first, however far the spelling.
        assert_eq!(
            hint("HPA", ["fixed", "hpa", "keda"]),
            " (did you mean \"hpa\"?)"
        );
        assert_eq!(
            hint("Cloud-Run", ["fixed", "cloud_run"]),
            " (did you mean \"cloud_run\"?)"
        );
    }

    #[test]
    fn control_characters_in_messages_are_escaped() {
        let mut diags = Diags::new("s.toml".into());
        diags.error(
            &Origin::File { line: 3, col: 8 },
            "agent.steps.0.kind",
            "found \"to\u{0}ol\" and \u{1b}[31mred\u{1b}[0m\nnext",
        );
        assert_eq!(
            diags.items[0].1,
            "s.toml:3:8: agent.steps.0.kind: found \"to\\0ol\" and \\u{1b}[31mred\\u{1b}[0m\\nnext"
        );
    }

    #[test]
    fn key_hint_reads_other_spellings_and_words() {
        assert_eq!(words("minReplicaCount"), ["min", "replica", "count"]);
        assert_eq!(words("max-instances"), ["max", "instances"]);
        assert_eq!(words("p99_ttft2"), ["p99", "ttft2"]);
        assert_eq!(normalized("periodSeconds"), "period");
        assert_eq!(normalized("seconds"), "seconds");
        // An alias applies only where its key is: `concurrency` is a request limit for a
        // serving table and a quota for a provider.
        assert!(
            key_hint("concurrency", &["mode", "max_concurrency"]).contains("\"max_concurrency\"")
        );
        assert!(
            key_hint("concurrency", &["ttft", "max_concurrent_requests"])
                .contains("\"max_concurrent_requests\"")
        );
        // The longest key whose words begin or end the unknown one.
        assert_eq!(
            key_hint(
                "runtime_memory_limit_bytes",
                &["memory_limit", "runtime_memory", "vcpus"]
            ),
            " (did you mean \"runtime_memory\"?)"
        );
        // Otherwise the close spelling, or nothing.
        assert_eq!(
            key_hint("vcpu", &["vcpus", "cpu_speed"]),
            " (did you mean \"vcpus\"?)"
        );
        assert_eq!(key_hint("zzz", &["vcpus", "cpu_speed"]), "");
    }

    #[test]
    fn messages_are_sorted_by_position_and_deduplicated() {
        let mut diags = Diags::new("s.toml".into());
        diags.error(&Origin::File { line: 9, col: 1 }, "b", "second");
        diags.error(&Origin::File { line: 2, col: 5 }, "a", "first");
        diags.error(&Origin::File { line: 2, col: 5 }, "a", "first");
        diags.error(&Origin::Whole, "traffic", "missing");
        assert_eq!(
            diags.into_messages(),
            [
                "s.toml: traffic: missing",
                "s.toml:2:5: a: first",
                "s.toml:9:1: b: second"
            ]
        );
    }
}
