//! The one declaration of every number sim reports by name: the run metrics (`METRICS`: what
//! an SLO bounds, a sweep ranks and records, `sim diff` compares and `sim run --replications`
//! tabulates) and the columns of `timeseries.csv` (`TIMESERIES_COLUMNS` and its families).
//!
//! Each metric is one entry: its name (column and JSON name, unit last), the words a sentence
//! calls it, its unit, which way is better, how it is computed from a `Summary` (and from a
//! workload's summary where it has a value per workload), and, for a metric an `[[slo]]` can
//! bound, the rule for when it has nothing to measure. Every consumer reads these entries; the
//! views that fix a file's column order (`SWEPT`, `REPLICATED`) list metrics by name, checked
//! when the program is compiled.

use crate::metrics::report::{QuotaColumns, QuotaSample, Summary, TimeseriesRow, WorkloadSummary};

/// What a number counts or measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Count,
    Instances,
    /// A share between 0 and 1.
    Fraction,
    Bytes,
    TokensPerMinute,
    Usd,
    UsdPerHour,
}

impl Unit {
    /// How the docs write the unit.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Count => "count",
            Unit::Instances => "instances",
            Unit::Fraction => "fraction",
            Unit::Bytes => "bytes",
            Unit::TokensPerMinute => "tokens/min",
            Unit::Usd => "USD",
            Unit::UsdPerHour => "USD/h",
        }
    }
}

/// Which way a metric is better. A sweep can minimise only a `LowerIsBetter` metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// A count of demand, neither good nor bad.
    Neither,
}

/// What a metric an SLO bounds needs in order to have a value: an SLO cannot pass on nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vacuity {
    /// Never vacuous (fleet metrics over the whole horizon).
    Never,
    /// An answered message received at or after warmup (a latency sample).
    AnsweredMessage,
    /// An activity attempt started at or after warmup.
    ActivityStarted,
    /// A message received.
    MessageReceived,
    /// An answered message after warmup of a workload with a response budget.
    BudgetedAnswer,
}

impl Vacuity {
    fn reason(self) -> &'static str {
        match self {
            Vacuity::Never => "",
            Vacuity::AnsweredMessage => {
                "no answered message after warmup: a latency SLO needs at least one sample"
            }
            Vacuity::ActivityStarted => {
                "no activity started after warmup: a latency SLO needs at least one sample"
            }
            Vacuity::MessageReceived => {
                "no message received: an unanswered-message SLO needs at least one message"
            }
            Vacuity::BudgetedAnswer => {
                "no answered message after warmup: a response-budget SLO needs at least one sample"
            }
        }
    }

    /// Why the fleet's value has nothing to measure in `s`, or `None` when it has a real value.
    pub fn fleet(self, s: &Summary) -> Option<&'static str> {
        let vacuous = match self {
            Vacuity::Never => false,
            Vacuity::AnsweredMessage => s.response_latency_s.count == 0,
            Vacuity::ActivityStarted => s.activity_schedule_to_start_s.count == 0,
            Vacuity::MessageReceived => s.messages.received == 0,
            Vacuity::BudgetedAnswer => s.agent.response_within_budget_fraction.is_none(),
        };
        vacuous.then_some(self.reason())
    }

    /// The same for one workload's value.
    pub fn workload(self, w: &WorkloadSummary) -> Option<&'static str> {
        let vacuous = match self {
            Vacuity::Never => false,
            Vacuity::AnsweredMessage => w.response_latency_s.count == 0,
            // A workload has no activity statistics: such a metric has no `per_workload`.
            Vacuity::ActivityStarted => true,
            Vacuity::MessageReceived => w.messages.received == 0,
            Vacuity::BudgetedAnswer => w.response_within_budget_fraction.is_none(),
        };
        vacuous.then_some(self.reason())
    }
}

/// One reported metric.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Column and JSON name, unit last (`response_latency_p95_s`); the name an `[[slo]]`, an
    /// objective and the docs use.
    pub name: &'static str,
    /// Words for a sentence ("p95 response latency").
    pub label: &'static str,
    pub unit: Unit,
    pub direction: Direction,
    /// The fleet's value in a run.
    pub value: fn(&Summary) -> f64,
    /// One workload's value, for the metrics that have one (`[[slo]] workload = "..."`).
    pub per_workload: Option<fn(&WorkloadSummary) -> f64>,
    /// `Some` for a metric an `[[slo]]` can bound, with its vacuity rule.
    pub slo: Option<Vacuity>,
}

/// Metrics are one declaration each, so a name identifies one.
impl PartialEq for Metric {
    fn eq(&self, other: &Metric) -> bool {
        self.name == other.name
    }
}

impl Eq for Metric {}

/// A metric is written (in a resolved scenario's `[[slo]]`) as its name.
impl serde::Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

impl Metric {
    /// The row heading of `sim run`'s table: the name in words, its unit in parentheses
    /// (`response latency p95 (s)`, `activity schedule-to-start p95 (s)`, `cost total (usd)`).
    pub fn heading(&self) -> String {
        let (stem, unit) = match self.unit {
            Unit::Seconds => (self.name.strip_suffix("_s"), " (s)"),
            Unit::Usd | Unit::UsdPerHour => (self.name.strip_suffix("_usd"), " (usd)"),
            _ => (None, ""),
        };
        let words = stem
            .unwrap_or(self.name)
            .replace("schedule_to_start", "schedule-to-start")
            .replace('_', " ");
        format!("{words}{unit}")
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Total cost over the horizon in hours (0 for an empty horizon).
fn cost_per_hour(s: &Summary) -> f64 {
    let hours = s.horizon_s / 3600.0;
    if hours > 0.0 {
        s.cost_usd.total / hours
    } else {
        0.0
    }
}

/// `total` per turn the agent finished (0 without a finished turn).
fn per_turn(s: &Summary, total: f64) -> f64 {
    let turns = s.agent.turns as f64;
    if turns > 0.0 { total / turns } else { 0.0 }
}

const fn fleet(
    name: &'static str,
    label: &'static str,
    unit: Unit,
    direction: Direction,
    value: fn(&Summary) -> f64,
) -> Metric {
    Metric {
        name,
        label,
        unit,
        direction,
        value,
        per_workload: None,
        slo: None,
    }
}

const fn slo(metric: Metric, vacuity: Vacuity) -> Metric {
    Metric {
        slo: Some(vacuity),
        ..metric
    }
}

const fn per_workload(metric: Metric, value: fn(&WorkloadSummary) -> f64) -> Metric {
    Metric {
        per_workload: Some(value),
        ..metric
    }
}

use Direction::*;
use Vacuity::*;

/// Every run metric, once. The SLO metrics keep this order in messages and the schema.
pub const METRICS: &[Metric] = &[
    fleet(
        "messages_received",
        "messages received",
        Unit::Count,
        Neither,
        |s| s.messages.received as f64,
    ),
    fleet(
        "messages_answered",
        "messages answered",
        Unit::Count,
        HigherIsBetter,
        |s| s.messages.answered as f64,
    ),
    fleet(
        "response_latency_mean_s",
        "mean response latency",
        Unit::Seconds,
        LowerIsBetter,
        |s| s.response_latency_s.mean,
    ),
    per_workload(
        slo(
            fleet(
                "response_latency_p50_s",
                "p50 response latency",
                Unit::Seconds,
                LowerIsBetter,
                |s| s.response_latency_s.p50,
            ),
            AnsweredMessage,
        ),
        |w| w.response_latency_s.p50,
    ),
    per_workload(
        slo(
            fleet(
                "response_latency_p95_s",
                "p95 response latency",
                Unit::Seconds,
                LowerIsBetter,
                |s| s.response_latency_s.p95,
            ),
            AnsweredMessage,
        ),
        |w| w.response_latency_s.p95,
    ),
    per_workload(
        slo(
            fleet(
                "response_latency_p99_s",
                "p99 response latency",
                Unit::Seconds,
                LowerIsBetter,
                |s| s.response_latency_s.p99,
            ),
            AnsweredMessage,
        ),
        |w| w.response_latency_s.p99,
    ),
    fleet(
        "activity_schedule_to_start_mean_s",
        "mean activity schedule-to-start",
        Unit::Seconds,
        LowerIsBetter,
        |s| s.activity_schedule_to_start_s.mean,
    ),
    slo(
        fleet(
            "activity_schedule_to_start_p95_s",
            "p95 activity schedule-to-start",
            Unit::Seconds,
            LowerIsBetter,
            |s| s.activity_schedule_to_start_s.p95,
        ),
        ActivityStarted,
    ),
    per_workload(
        slo(
            fleet(
                "unanswered_messages",
                "unanswered messages",
                Unit::Count,
                LowerIsBetter,
                |s| s.messages.unanswered as f64,
            ),
            MessageReceived,
        ),
        |w| w.messages.unanswered as f64,
    ),
    per_workload(
        slo(
            fleet(
                "unanswered_fraction",
                "share of messages unanswered",
                Unit::Fraction,
                LowerIsBetter,
                |s| ratio(s.messages.unanswered, s.messages.received),
            ),
            MessageReceived,
        ),
        |w| ratio(w.messages.unanswered, w.messages.received),
    ),
    slo(
        fleet(
            "oom_crashes",
            "OOM crashes",
            Unit::Count,
            LowerIsBetter,
            |s| s.crashes.oom as f64,
        ),
        Never,
    ),
    slo(
        fleet(
            "cost_per_hour_usd",
            "cost per hour",
            Unit::UsdPerHour,
            LowerIsBetter,
            cost_per_hour,
        ),
        Never,
    ),
    per_workload(
        slo(
            fleet(
                "response_over_budget_fraction",
                "share of answered turns over budget",
                Unit::Fraction,
                LowerIsBetter,
                |s| {
                    s.agent
                        .response_within_budget_fraction
                        .map_or(1.0, |within| 1.0 - within)
                },
            ),
            BudgetedAnswer,
        ),
        |w| {
            w.response_within_budget_fraction
                .map_or(1.0, |within| 1.0 - within)
        },
    ),
    fleet(
        "cache_hits",
        "cache hits",
        Unit::Count,
        HigherIsBetter,
        |s| s.cache.hits as f64,
    ),
    fleet(
        "cache_misses",
        "cache misses",
        Unit::Count,
        LowerIsBetter,
        |s| s.cache.misses as f64,
    ),
    fleet(
        "instances_mean",
        "mean instances",
        Unit::Instances,
        LowerIsBetter,
        |s| s.instances.mean,
    ),
    fleet(
        "instances_max",
        "most instances",
        Unit::Instances,
        LowerIsBetter,
        |s| s.instances.max as f64,
    ),
    fleet(
        "cost_compute_usd",
        "compute cost",
        Unit::Usd,
        LowerIsBetter,
        |s| s.cost_usd.compute,
    ),
    fleet("cost_llm_usd", "LLM cost", Unit::Usd, LowerIsBetter, |s| {
        s.cost_usd.llm
    }),
    fleet(
        "cost_total_usd",
        "total cost",
        Unit::Usd,
        LowerIsBetter,
        |s| s.cost_usd.total,
    ),
    // LLM tokens: input and output, every provider, successful calls.
    fleet(
        "llm_tokens_per_turn",
        "LLM tokens per turn",
        Unit::Count,
        LowerIsBetter,
        |s| {
            let tokens = s
                .llm_calls
                .values()
                .map(|c| c.input_tokens.saturating_add(c.output_tokens))
                .fold(0u64, u64::saturating_add);
            per_turn(s, tokens as f64)
        },
    ),
    fleet(
        "cost_llm_per_turn_usd",
        "LLM cost per turn",
        Unit::Usd,
        LowerIsBetter,
        |s| per_turn(s, s.cost_usd.llm),
    ),
    fleet(
        "tool_failure_conversation_fraction",
        "share of conversations with a failed tool call",
        Unit::Fraction,
        LowerIsBetter,
        |s| s.agent.tool_failure_conversation_fraction,
    ),
    fleet(
        "slos_failed",
        "SLOs failed",
        Unit::Count,
        LowerIsBetter,
        |s| s.slo.iter().filter(|slo| !slo.ok).count() as f64,
    ),
];

/// The metric named `name`.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// The metrics an `[[slo]]` can bound, in `METRICS` order.
pub fn slo_metrics() -> impl Iterator<Item = &'static Metric> + Clone {
    METRICS.iter().filter(|m| m.slo.is_some())
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The metrics named `names`, in that order; a name that is not in `METRICS` does not compile.
const fn by_name<const N: usize>(names: [&str; N]) -> [&'static Metric; N] {
    let mut found = [&METRICS[0]; N];
    let mut n = 0;
    while n < N {
        let mut m = 0;
        while !same(METRICS[m].name, names[n]) {
            m += 1;
            assert!(
                m < METRICS.len(),
                "a view names a metric that is not declared"
            );
        }
        found[n] = &METRICS[m];
        n += 1;
    }
    found
}

/// The metric named `name`, for a constant: `const P95: &Metric = named("response_latency_p95_s")`
/// does not compile with a name that is not declared.
pub const fn named(name: &str) -> &'static Metric {
    by_name([name])[0]
}

/// The position in `view` of the metric named `name`, for a constant; a name that is not in
/// `view` does not compile.
pub const fn index_in(view: &[&Metric], name: &str) -> usize {
    let mut i = 0;
    while !same(view[i].name, name) {
        i += 1;
    }
    i
}

/// What a sweep records of each run and `sim diff` compares, in the column order of
/// `runs.csv`, `points.csv` and `sweep.json` (append a new one: the order is part of the files).
pub const SWEPT: [&Metric; 14] = by_name([
    "response_latency_p50_s",
    "response_latency_p95_s",
    "response_latency_p99_s",
    "activity_schedule_to_start_p95_s",
    "unanswered_messages",
    "oom_crashes",
    "instances_mean",
    "cost_compute_usd",
    "cost_llm_usd",
    "cost_total_usd",
    "cost_per_hour_usd",
    "llm_tokens_per_turn",
    "cost_llm_per_turn_usd",
    "tool_failure_conversation_fraction",
]);

/// `sim run`'s table and the columns of `replications.csv`, in order.
pub const REPLICATED: [&Metric; 18] = by_name([
    "messages_received",
    "messages_answered",
    "unanswered_messages",
    "response_latency_mean_s",
    "response_latency_p50_s",
    "response_latency_p95_s",
    "response_latency_p99_s",
    "activity_schedule_to_start_mean_s",
    "activity_schedule_to_start_p95_s",
    "cache_hits",
    "cache_misses",
    "instances_mean",
    "instances_max",
    "oom_crashes",
    "cost_compute_usd",
    "cost_llm_usd",
    "cost_total_usd",
    "slos_failed",
]);

/// One cell of `timeseries.csv`: an integer, a number, or a number that may be missing (no
/// sample in the interval: an empty cell).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Integer(u64),
    Number(f64),
    Sampled(Option<f64>),
}

/// One column of `timeseries.csv`: the header and every row's cell come from this entry.
pub struct Column<Row> {
    pub name: &'static str,
    pub unit: Unit,
    /// What the column holds, for a reader of the code; the README's table says it to users.
    pub meaning: &'static str,
    pub cell: fn(&Row) -> Cell,
}

/// A column per provider: `<prefix>_<provider>`; the cell of the provider at an index.
pub struct ProviderColumn {
    pub prefix: &'static str,
    pub unit: Unit,
    pub meaning: &'static str,
    pub cell: fn(&TimeseriesRow, usize) -> Cell,
}

/// A column per provider with a quota (`<prefix>_<provider>`), present when `present` says the
/// provider has that quota at some time in the run.
pub struct QuotaColumn {
    pub prefix: &'static str,
    pub unit: Unit,
    pub meaning: &'static str,
    pub present: fn(&QuotaColumns) -> bool,
    pub cell: fn(&QuotaSample) -> Cell,
}

const fn column(
    name: &'static str,
    unit: Unit,
    meaning: &'static str,
    cell: fn(&TimeseriesRow) -> Cell,
) -> Column<TimeseriesRow> {
    Column {
        name,
        unit,
        meaning,
        cell,
    }
}

use Cell::{Integer, Number, Sampled};

/// The columns of every `timeseries.csv`, first and in order.
pub const TIMESERIES_COLUMNS: &[Column<TimeseriesRow>] = &[
    column("t_s", Unit::Seconds, "end of the interval", |r| {
        Number(r.t_s)
    }),
    column(
        "instances_running",
        Unit::Instances,
        "instances serving",
        |r| Integer(r.instances_running.into()),
    ),
    column(
        "instances_starting",
        Unit::Instances,
        "instances in cold start",
        |r| Integer(r.instances_starting.into()),
    ),
    column(
        "instances_desired",
        Unit::Instances,
        "what the autoscaler wants",
        |r| Integer(r.instances_desired.into()),
    ),
    column(
        "cpu_utilization",
        Unit::Fraction,
        "mean busy vCPUs / vCPUs of running instances over the interval",
        |r| Number(r.cpu_utilization),
    ),
    column(
        "memory_bytes_max",
        Unit::Bytes,
        "highest memory of a running instance",
        |r| Integer(r.memory_bytes_max),
    ),
    column(
        "memory_bytes_mean",
        Unit::Bytes,
        "mean memory of the running instances",
        |r| Integer(r.memory_bytes_mean),
    ),
    column(
        "memory_limit_bytes",
        Unit::Bytes,
        "the memory limit in force",
        |r| Integer(r.memory_limit_bytes),
    ),
    column(
        "cache_entries",
        Unit::Count,
        "workflows in sticky caches",
        |r| Integer(r.cache_entries),
    ),
    column(
        "open_conversations",
        Unit::Count,
        "conversations whose workflow is open",
        |r| Integer(r.open_conversations),
    ),
    column(
        "workflow_task_backlog",
        Unit::Count,
        "workflow tasks waiting for a slot",
        |r| Integer(r.workflow_task_backlog),
    ),
    column(
        "activity_backlog",
        Unit::Count,
        "activities waiting for a slot",
        |r| Integer(r.activity_backlog),
    ),
    column(
        "activities_running",
        Unit::Count,
        "activity attempts in progress",
        |r| Integer(r.activities_running),
    ),
    column(
        "messages_received",
        Unit::Count,
        "customer messages received in the interval",
        |r| Integer(r.messages_received),
    ),
    column(
        "messages_unanswered",
        Unit::Count,
        "customer messages given up in the interval",
        |r| Integer(r.messages_unanswered),
    ),
    column(
        "response_latency_p50_s",
        Unit::Seconds,
        "median latency of the replies sent in the interval",
        |r| Sampled(r.response_latency_p50_s),
    ),
    column(
        "response_latency_p95_s",
        Unit::Seconds,
        "p95 latency of the replies sent in the interval",
        |r| Sampled(r.response_latency_p95_s),
    ),
    column(
        "activity_schedule_to_start_p95_s",
        Unit::Seconds,
        "p95 wait of the activities started in the interval",
        |r| Sampled(r.activity_schedule_to_start_p95_s),
    ),
    column("crashes", Unit::Count, "OOM kills in the interval", |r| {
        Integer(r.crashes)
    }),
    column(
        "cache_misses",
        Unit::Count,
        "sticky-cache misses in the interval",
        |r| Integer(r.cache_misses),
    ),
];

/// Request mode's columns, after `TIMESERIES_COLUMNS`.
pub const REQUEST_COLUMNS: &[Column<TimeseriesRow>] = &[
    column(
        "requests_in_flight",
        Unit::Count,
        "sessions holding a request slot",
        |r| Integer(r.requests_in_flight),
    ),
    column(
        "requests_waiting",
        Unit::Count,
        "requests waiting for a slot",
        |r| Integer(r.requests_waiting),
    ),
    column(
        "requests_rejected",
        Unit::Count,
        "requests rejected in the interval",
        |r| Integer(r.requests_rejected),
    ),
];

/// The per-provider columns, each for every provider in turn, after the request columns.
pub const PROVIDER_COLUMNS: &[ProviderColumn] = &[
    ProviderColumn {
        prefix: "llm_latency_p95_s",
        unit: Unit::Seconds,
        meaning: "p95 latency of the provider's successful calls started in the interval",
        cell: |r, p| Sampled(r.llm_latency_p95_s[p]),
    },
    ProviderColumn {
        prefix: "llm_calls",
        unit: Unit::Count,
        meaning: "its successful calls started in the interval: the calls that p95 is over",
        cell: |r, p| Integer(r.llm_calls[p]),
    },
    ProviderColumn {
        prefix: "llm_tokens_per_min",
        unit: Unit::TokensPerMinute,
        meaning: "input + output tokens of its successful calls started in the interval",
        cell: |r, p| Number(r.llm_tokens_per_min[p]),
    },
];

/// The columns of each provider with a quota, last.
pub const QUOTA_COLUMNS: &[QuotaColumn] = &[
    QuotaColumn {
        prefix: "llm_quota_429s",
        unit: Unit::Count,
        meaning: "attempts its quotas refused in the interval",
        present: |_| true,
        cell: |q| Integer(q.rejected),
    },
    QuotaColumn {
        prefix: "llm_requests_quota_used",
        unit: Unit::Fraction,
        meaning: "admitted requests / what the requests-per-minute quota allowed",
        present: |c| c.requests,
        cell: |q| Sampled(q.requests_used),
    },
    QuotaColumn {
        prefix: "llm_tokens_quota_used",
        unit: Unit::Fraction,
        meaning: "admitted tokens / what the tokens-per-minute quota allowed",
        present: |c| c.tokens,
        cell: |q| Sampled(q.tokens_used),
    },
    QuotaColumn {
        prefix: "llm_in_flight_max",
        unit: Unit::Count,
        meaning: "the most attempts in flight at once",
        present: |c| c.concurrency,
        cell: |q| Sampled(q.in_flight_max.map(f64::from)),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_end_with_their_unit() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(
                METRICS[..i].iter().all(|other| other.name != m.name),
                "{} declared twice",
                m.name
            );
            let suffix = match m.unit {
                Unit::Seconds => Some("_s"),
                Unit::Usd | Unit::UsdPerHour => Some("_usd"),
                _ => None,
            };
            if let Some(suffix) = suffix {
                assert!(m.name.ends_with(suffix), "{}: unit last", m.name);
            }
        }
    }

    #[test]
    fn run_table_headings_say_the_name_and_unit_in_words() {
        let heading = |name| metric(name).unwrap().heading();
        assert_eq!(
            heading("activity_schedule_to_start_mean_s"),
            "activity schedule-to-start mean (s)"
        );
        assert_eq!(heading("cost_total_usd"), "cost total (usd)");
        assert_eq!(heading("messages_received"), "messages received");
    }
}
