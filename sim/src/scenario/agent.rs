//! `[agent]` and its `[[agent.steps]]`: the turn's program. Steps nest: a `parallel`, `repeat`
//! or `choice` step holds `steps` of its own, and any step may carry an `on_failure` table with
//! steps. Each kind's keys are read by its own function; names are checked unique across the
//! whole program, and the nesting depth and the number of steps are bounded.

use super::config::*;
use super::diag::{Diags, Origin, hint, one_of};
use super::raw::{Node, Value};
use super::read::*;
use super::resolve::{Context, array_items};

/// Token counts a step states (growth per turn, the first chunk), capped like every other
/// count (`COUNT_MAX`) so token totals and costs stay finite numbers.
pub(crate) const TOKENS_MAX: u64 = 1_000_000_000;

const STEP_KINDS: [&str; 5] = ["llm", "tool", "parallel", "repeat", "choice"];

struct Reader<'a, 'c> {
    activity: &'a ActivityDefaults,
    groups: &'a [ProviderGroup],
    cx: &'a Context<'c>,
    /// Names given so far, with where, for the uniqueness check.
    names: Vec<(String, Origin)>,
    count: usize,
}

pub(crate) fn agent(
    node: Option<&Node>,
    path: &str,
    absent: &Origin,
    activity: &ActivityDefaults,
    groups: &[ProviderGroup],
    cx: &Context<'_>,
    diags: &mut Diags,
) -> Agent {
    let steps_path = format!("{path}.steps");
    let expected = format!(
        "expected at least one [[{}]] table",
        super::resolve::table_header(&steps_path)
    );
    let mut s = Section::open(node, path, absent, diags);
    if node.is_none() {
        diags.error(absent, path, format!("missing required table, {expected}"));
    }
    let steps_node = s.take("steps");
    let present = s.is_present();
    s.finish(diags);
    let is_array = steps_node.is_some_and(|n| matches!(n.value, Value::Array(_)));
    if present && (steps_node.is_none() || is_array && array_len(steps_node) == 0) {
        let origin = steps_node
            .or(node)
            .map_or(Origin::Whole, |n| n.origin.clone());
        diags.error(&origin, &steps_path, format!("no steps, {expected}"));
    }
    let mut reader = Reader {
        activity,
        groups,
        cx,
        names: Vec::new(),
        count: 0,
    };
    let steps = reader.steps(steps_node, &steps_path, None, 0, diags);
    let mut seen: std::collections::BTreeMap<&str, &Origin> = std::collections::BTreeMap::new();
    for (name, origin) in &reader.names {
        if let Some(first) = seen.insert(name, origin) {
            let first = match first {
                Origin::File { line, col } => format!(" (first at {line}:{col})"),
                _ => String::new(),
            };
            let message = format!(
                "step name \"{name}\" is used twice{first}: names identify steps in the outputs"
            );
            diags.error(origin, &steps_path, message);
        }
    }
    Agent { steps }
}

/// A count drawn per run is capped at `cap` when it is drawn; a constant past the cap can only
/// be a mistake, so it is refused here, naming the key (`width` of a parallel step, `count` of
/// a repeat).
fn refuse_constant_over(
    s: &Section<'_>,
    key: &str,
    dist: Option<&Dist>,
    cap: u32,
    noun: &str,
    diags: &mut Diags,
) {
    if let Some(Dist::Constant { value }) = dist
        && *value > f64::from(cap)
    {
        diags.error(
            &s.origin_of(key),
            &s.key_path(key),
            format!("a {key} of {value} is more than {cap} {noun}"),
        );
    }
}

fn array_len(node: Option<&Node>) -> usize {
    match node.map(|n| &n.value) {
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    }
}

impl Reader<'_, '_> {
    /// A list of steps at `path`; `parent` is the enclosing step's name (None at the top).
    fn steps(
        &mut self,
        node: Option<&Node>,
        path: &str,
        parent: Option<&str>,
        depth: usize,
        diags: &mut Diags,
    ) -> Vec<Step> {
        array_items(node, path, diags)
            .iter()
            .enumerate()
            .map(|(i, (item_path, item))| {
                let default_name = match parent {
                    None => format!("step-{}", i + 1),
                    Some(parent) => format!("{parent}.{}", i + 1),
                };
                self.step(item_path, item, default_name, depth, diags)
            })
            .collect()
    }

    /// A required, non-empty nested list of steps under `key` of `s`.
    fn nested(
        &mut self,
        s: &mut Section<'_>,
        key: &'static str,
        parent: &str,
        depth: usize,
        diags: &mut Diags,
    ) -> Vec<Step> {
        let path = s.key_path(key);
        let node = s.take(key);
        if node.is_none() && s.is_present() {
            s.missing(key, "at least one step table", diags);
        } else if node.is_some() && array_len(node) == 0 {
            let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
            diags.error(&origin, &path, "no steps, expected at least one step table");
        }
        if depth + 1 > MAX_DEPTH {
            let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
            diags.error(
                &origin,
                &path,
                format!("steps nest more than {MAX_DEPTH} levels deep"),
            );
            return Vec::new();
        }
        self.steps(node, &path, Some(parent), depth + 1, diags)
    }

    fn step(
        &mut self,
        path: &str,
        item: &Node,
        default_name: String,
        depth: usize,
        diags: &mut Diags,
    ) -> Step {
        self.count += 1;
        if self.count == MAX_STEPS + 1 {
            diags.error(
                &item.origin,
                path,
                format!("more than {MAX_STEPS} steps in the agent's program"),
            );
        }
        let mut s = Section::open(Some(item), path, &item.origin, diags);
        let name = s.string(diags, "name").unwrap_or(default_name);
        self.names.push((name.clone(), s.origin_of("name")));
        let placeholder = StepKind::Tool {
            latency: Dist::Constant { value: 0.0 },
            failure_probability: 0.0,
            price_per_call_usd: 0.0,
            max_concurrent_calls: None,
        };
        let kind_name = s.kind(diags, &STEP_KINDS);
        let is_activity = matches!(kind_name, Some("llm" | "tool"));
        let (mut cpu, mut start_to_close_timeout, mut memory_bytes) = (
            2_000_000,
            self.activity.start_to_close_timeout,
            self.activity.memory_bytes,
        );
        if is_activity {
            cpu = s.duration(diags, "cpu", cpu);
            start_to_close_timeout =
                s.duration_min(diags, "start_to_close_timeout", start_to_close_timeout, 1);
            memory_bytes = s.size(diags, "memory", memory_bytes);
        }
        let kind = match kind_name {
            Some("llm") => self.llm(&mut s, diags),
            Some("tool") => self.tool(&mut s, diags),
            Some("parallel") => self.parallel(&mut s, &name, depth, diags),
            Some("repeat") => self.repeat(&mut s, &name, depth, diags),
            Some("choice") => self.choice(&mut s, &name, depth, diags),
            _ => None,
        };
        let on_failure = self.on_failure(&mut s, &name, depth, diags);
        if kind.is_some() {
            s.finish(diags);
        }
        Step {
            name,
            kind: kind.unwrap_or(placeholder),
            cpu,
            start_to_close_timeout,
            memory_bytes,
            on_failure,
        }
    }

    fn on_failure(
        &mut self,
        s: &mut Section<'_>,
        name: &str,
        depth: usize,
        diags: &mut Diags,
    ) -> Option<OnFailure> {
        let node = s.take("on_failure")?;
        let path = s.key_path("on_failure");
        let mut f = Section::open(Some(node), &path, &node.origin, diags);
        let max_runs = f.u32(diags, "max_runs", 1, 1);
        let steps = self.nested(&mut f, "steps", &format!("{name}.on_failure"), depth, diags);
        f.finish(diags);
        Some(OnFailure { max_runs, steps })
    }

    fn llm(&mut self, s: &mut Section<'_>, diags: &mut Diags) -> Option<StepKind> {
        let group_path = s.key_path("group");
        let group = s.string(diags, "group");
        if !s.has("group") {
            s.missing("group", "the name of a [provider_groups] entry", diags);
        }
        let groups = self.groups;
        let group_index = group.as_ref().and_then(|group| {
            let index = groups.iter().position(|g| &g.name == group);
            if index.is_none() {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                let hint = hint(group, names.iter().copied());
                let message = if names.is_empty() {
                    format!(
                        "unknown provider group \"{group}\": the scenario defines no provider \
                         groups, expected a [provider_groups] table such as {group} = [\"PROVIDER\"]"
                    )
                } else {
                    format!(
                        "unknown provider group \"{group}\", expected {}{hint}",
                        one_of(names.iter().copied())
                    )
                };
                diags.error(&s.origin_of("group"), &group_path, message);
            }
            index
        });
        let files = self.cx.files;
        let mut tokens = |key: &'static str| {
            let dist = s.dist(diags, key, Quantity::Count, files);
            if !s.has(key) {
                s.missing(
                    key,
                    "a count distribution such as { kind = \"lognormal\", median = 500, p99 = 4000 }",
                    diags,
                );
            }
            dist
        };
        let input_tokens = tokens("input_tokens");
        let output_tokens = tokens("output_tokens");
        let prompt = LlmPrompt {
            input_tokens_per_turn: s.u64_in(diags, "input_tokens_per_turn", 0, 0, TOKENS_MAX),
            carry_previous_output: s.bool(diags, "carry_previous_output", false),
            cached_input_fraction: s.number(diags, "cached_input_fraction", 0.0, PROBABILITY),
            first_chunk_tokens: s
                .has("first_chunk_tokens")
                .then(|| s.u64_in(diags, "first_chunk_tokens", 1, 1, TOKENS_MAX)),
        };
        if !s.has("first_chunk_tokens") {
            s.take("first_chunk_tokens");
        }
        Some(StepKind::Llm {
            group: group?,
            group_index: group_index?,
            input_tokens: input_tokens?,
            output_tokens: output_tokens?,
            prompt,
        })
    }

    fn tool(&mut self, s: &mut Section<'_>, diags: &mut Diags) -> Option<StepKind> {
        let latency = s.dist(diags, "latency", Quantity::Duration, self.cx.files);
        if !s.has("latency") && s.is_present() {
            s.missing(
                "latency",
                "a duration distribution such as { kind = \"exponential\", mean = \"1s\" }",
                diags,
            );
        }
        let failure_probability = s.number(diags, "failure_probability", 0.0, PROBABILITY);
        let price_per_call_usd = s.number(diags, "price_per_call_usd", 0.0, PRICE);
        let max_concurrent_calls = s
            .has("max_concurrent_calls")
            .then(|| s.u32_in(diags, "max_concurrent_calls", 1, 1, SLOTS_MAX));
        if !s.has("max_concurrent_calls") {
            s.take("max_concurrent_calls");
        }
        latency.map(|latency| StepKind::Tool {
            latency,
            failure_probability,
            price_per_call_usd,
            max_concurrent_calls,
        })
    }

    fn parallel(
        &mut self,
        s: &mut Section<'_>,
        name: &str,
        depth: usize,
        diags: &mut Diags,
    ) -> Option<StepKind> {
        let width = s.dist(diags, "width", Quantity::Count, self.cx.files);
        let has_width = s.has("width");
        let has_branches = s.has("branches");
        let has_steps = s.has("steps");
        let mut branches = Vec::new();
        match (has_width, has_branches) {
            (true, true) => {
                diags.error(
                    &s.origin_of("branches"),
                    &s.key_path("branches"),
                    "give either `width` with the branch template in `steps`, or `branches`, not both",
                );
                s.take("branches");
                s.take("steps");
            }
            (true, false) => {
                let steps = self.nested(s, "steps", name, depth, diags);
                branches.push(Branch {
                    name: name.to_string(),
                    steps,
                });
            }
            (false, _) => {
                if has_steps {
                    diags.error(
                        &s.origin_of("steps"),
                        &s.key_path("steps"),
                        "a parallel step's `steps` is the branch template: give `width` too, or use [[...branches]]",
                    );
                    s.take("steps");
                }
                let path = s.key_path("branches");
                let node = s.take("branches");
                if node.is_none() && s.is_present() {
                    s.missing(
                        "branches",
                        "[[...branches]] tables, or `width` with the branch template in `steps`",
                        diags,
                    );
                }
                let items = array_items(node, &path, diags);
                if node.is_some() && items.is_empty() {
                    let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
                    diags.error(&origin, &path, "no branches, expected at least one");
                }
                if items.len() > MAX_BRANCHES as usize {
                    let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
                    diags.error(&origin, &path, format!("more than {MAX_BRANCHES} branches"));
                }
                for (i, (branch_path, item)) in items.iter().enumerate() {
                    let mut b = Section::open(Some(item), branch_path, &item.origin, diags);
                    let branch_name = b
                        .string(diags, "name")
                        .unwrap_or_else(|| format!("{name}.branch-{}", i + 1));
                    let steps = self.nested(&mut b, "steps", &branch_name, depth, diags);
                    b.finish(diags);
                    branches.push(Branch {
                        name: branch_name,
                        steps,
                    });
                }
            }
        }
        refuse_constant_over(s, "width", width.as_ref(), MAX_BRANCHES, "branches", diags);
        let wait_for = s.has("wait_for").then(|| s.u32(diags, "wait_for", 1, 1));
        if !s.has("wait_for") {
            s.take("wait_for");
        }
        if let Some(k) = wait_for
            && !has_width
            && !branches.is_empty()
            && k as usize > branches.len()
        {
            diags.error(
                &s.origin_of("wait_for"),
                &s.key_path("wait_for"),
                format!(
                    "wait_for ({k}) is more than the {} branches",
                    branches.len()
                ),
            );
        }
        let on_branch_failure = match s.choice(diags, "on_branch_failure", &["fail", "continue"]) {
            Some("continue") => BranchFailure::Continue,
            _ => BranchFailure::Fail,
        };
        let child_workflow = s.bool(diags, "child_workflow", false);
        if has_width && width.is_none() {
            return None;
        }
        Some(StepKind::Parallel(Parallel {
            branches,
            width,
            wait_for,
            on_branch_failure,
            child_workflow,
        }))
    }

    fn repeat(
        &mut self,
        s: &mut Section<'_>,
        name: &str,
        depth: usize,
        diags: &mut Diags,
    ) -> Option<StepKind> {
        let count = s.dist(diags, "count", Quantity::Count, self.cx.files);
        if !s.has("count") && s.is_present() {
            s.missing(
                "count",
                "a count distribution such as { kind = \"geometric\", mean = 3 }",
                diags,
            );
        }
        refuse_constant_over(s, "count", count.as_ref(), MAX_REPEAT, "runs", diags);
        let steps = self.nested(s, "steps", name, depth, diags);
        Some(StepKind::Repeat {
            count: count?,
            steps,
        })
    }

    fn choice(
        &mut self,
        s: &mut Section<'_>,
        name: &str,
        depth: usize,
        diags: &mut Diags,
    ) -> Option<StepKind> {
        let path = s.key_path("options");
        let node = s.take("options");
        if node.is_none() && s.is_present() {
            s.missing(
                "options",
                "[[...options]] tables, each with `probability` and `steps`",
                diags,
            );
        }
        let items = array_items(node, &path, diags);
        if node.is_some() && items.is_empty() {
            let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
            diags.error(&origin, &path, "no options, expected at least one");
        }
        let mut options = Vec::new();
        let mut total = 0.0;
        // A probability refused already makes the sum meaningless: no second error for it.
        let mut all_read = true;
        for (i, (option_path, item)) in items.iter().enumerate() {
            let mut o = Section::open(Some(item), option_path, &item.origin, diags);
            let probability = o.number_required(diags, "probability", PROBABILITY);
            total += probability.unwrap_or(0.0);
            all_read &= probability.is_some();
            let steps = self.nested(
                &mut o,
                "steps",
                &format!("{name}.option-{}", i + 1),
                depth,
                diags,
            );
            o.finish(diags);
            options.push(ChoiceOption {
                probability: probability.unwrap_or(0.0),
                steps,
            });
        }
        if !items.is_empty() && all_read && (total - 1.0).abs() > 1e-9 {
            let origin = node.map_or(Origin::Whole, |n| n.origin.clone());
            diags.error(
                &origin,
                &path,
                format!("the options' probabilities sum to {total}, expected 1"),
            );
        }
        Some(StepKind::Choice { options })
    }
}
