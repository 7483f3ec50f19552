//! Turning the model's state into reports: a time-series row per sample interval, and at the
//! end the summary, after the conservation and Little's-law checkers have passed.

use super::program::NodeKind;
use super::state::*;
use super::{Model, RunError};
use crate::metrics::checks::{self, Accounting};
use crate::metrics::report::*;
use crate::metrics::slo;
use crate::scenario::StepKind;
use std::collections::BTreeMap;

impl Model {
    pub(super) fn on_sample(&mut self) {
        let now = self.now();
        let (busy_area, capacity_area) = (
            self.stats.busy_cores.area_at(now),
            self.stats.capacity_cores.area_at(now),
        );
        let busy = busy_area - self.stats.interval_busy_area;
        let capacity = capacity_area - self.stats.interval_capacity_area;
        self.stats.interval_busy_area = busy_area;
        self.stats.interval_capacity_area = capacity_area;
        // The per-provider vectors of the last row, emptied, keep their capacity.
        let TimeseriesRow {
            mut llm_latency_p95_s,
            mut llm_calls,
            mut llm_tokens_per_min,
            mut quota,
            ..
        } = std::mem::take(&mut self.sample_row);
        llm_latency_p95_s.clear();
        llm_calls.clear();
        llm_tokens_per_min.clear();
        quota.clear();
        let mut row = TimeseriesRow {
            t_s: now as f64 / 1e9,
            cpu_utilization: if capacity == 0 {
                0.0
            } else {
                busy as f64 / capacity as f64
            },
            instances_desired: self.stats.instances_desired,
            memory_limit_bytes: self.cfg.instance.memory_limit_bytes,
            open_conversations: self.convs.len() as u64,
            llm_latency_p95_s,
            llm_calls,
            llm_tokens_per_min,
            quota,
            ..Default::default()
        };
        let mut memory_sum = 0u64;
        let mut memory_count = 0u64;
        for inst in 0..self.instances.len() as u32 {
            let instance = &self.instances[inst as usize];
            match instance.state {
                InstanceState::Running | InstanceState::Draining => {
                    row.instances_running += 1;
                    row.cache_entries += instance.cache_entries as u64;
                    row.activities_running += instance.activity_slots_used as u64;
                    let memory = self.memory_bytes(inst);
                    memory_sum += memory;
                    memory_count += 1;
                    row.memory_bytes_max = row.memory_bytes_max.max(memory);
                    // A limit in force on a running instance (a deploy may change it).
                    row.memory_limit_bytes = instance.spec.memory_limit_bytes;
                }
                InstanceState::Starting | InstanceState::Down => row.instances_starting += 1,
                InstanceState::Stopped => {}
            }
        }
        row.memory_bytes_max = row.memory_bytes_max.max(self.stats.interval_memory_max);
        row.memory_bytes_mean = memory_sum.checked_div(memory_count).unwrap_or(0);
        if let Some(serving) = self.serving.as_mut() {
            row.requests_in_flight = serving.held;
            row.requests_waiting = serving.waiting;
            row.requests_rejected = std::mem::take(&mut serving.interval_rejected);
        }
        row.workflow_task_backlog = self.workflow_tasks_queued;
        row.activity_backlog = self.activities_queued;
        let s = &mut self.stats;
        row.messages_received = std::mem::take(&mut s.interval_messages_received);
        row.messages_unanswered = std::mem::take(&mut s.interval_messages_unanswered);
        row.crashes = std::mem::take(&mut s.interval_crashes);
        row.cache_misses = std::mem::take(&mut s.interval_cache_misses);
        s.interval_memory_max = 0;
        [row.response_latency_p50_s, row.response_latency_p95_s] =
            s.interval_response.quantiles_s([0.50, 0.95]);
        [row.activity_schedule_to_start_p95_s] = s.interval_activity_wait.quantiles_s([0.95]);
        let minutes = self.cfg.run.sample_interval as f64 / 60e9;
        row.llm_tokens_per_min.extend(
            s.interval_llm_tokens
                .iter_mut()
                .map(|tokens| std::mem::take(tokens) as f64 / minutes),
        );
        row.llm_latency_p95_s.extend(
            s.interval_llm_latency
                .iter_mut()
                .map(|h| h.quantiles_s([0.95])[0]),
        );
        row.llm_calls
            .extend(s.interval_llm_latency.iter().map(|h| h.count()));
        row.quota.extend(
            self.quota_reported
                .iter()
                .map(|&(provider, _)| self.quotas[provider].sample(now)),
        );
        let s = &mut self.stats;
        s.interval_response.reset();
        s.interval_activity_wait.reset();
        s.interval_llm_latency.iter_mut().for_each(|h| h.reset());
        self.rows.push(&row);
        self.sample_row = row;
        let next = (now + self.cfg.run.sample_interval).min(self.horizon);
        if next > now {
            self.schedule(next, Event::Sample);
        }
    }

    /// Workflow tasks waiting to start (normal queue and sticky queues, including tasks held
    /// for a dead worker's sticky queue), by a scan: the end-of-run check of the counter.
    fn workflow_backlog(&self) -> u64 {
        self.wfs
            .ids()
            .filter(|&wf| {
                matches!(
                    self.wfs[wf].task,
                    TaskState::QueuedNormal | TaskState::QueuedSticky
                )
            })
            .count() as u64
    }

    fn activity_backlog(&self) -> u64 {
        self.acts
            .ids()
            .filter(|&act| self.acts[act].state == ActivityState::Queued)
            .count() as u64
    }

    /// Each instance's running totals against its parts, by a scan: cache entries and bytes
    /// against the workflows cached on it, activity slots and memory against the activity
    /// attempts started on it (CPU part, LLM or tool wait, or waiting for a connection).
    fn check_instance_parts(&self) -> Result<(), String> {
        let n = self.instances.len();
        let mut cache = vec![(0u32, 0u64); n];
        for wf in self.wfs.ids() {
            let w = &self.wfs[wf];
            if w.cached_on != NONE {
                let entry = &mut cache[w.cached_on as usize];
                entry.0 += 1;
                entry.1 += w.cached_bytes;
            }
        }
        let mut activities = vec![(0u32, 0u64); n];
        for act in self.acts.ids() {
            let a = &self.acts[act];
            let started = matches!(
                a.state,
                ActivityState::Cpu | ActivityState::Waiting | ActivityState::WaitingForConnection
            );
            if started && a.inst != NONE {
                let entry = &mut activities[a.inst as usize];
                entry.0 += 1;
                entry.1 += a.memory;
            }
        }
        for (i, instance) in self.instances.iter().enumerate() {
            if instance.state == InstanceState::Stopped {
                continue;
            }
            let totals = (
                (instance.cache_entries, instance.cache_bytes),
                (instance.activity_slots_used, instance.activity_bytes),
            );
            if totals != (cache[i], activities[i]) {
                return Err(format!(
                    "instance {i}: (cache entries, cache bytes), (activity slots, activity bytes) \
                     = {totals:?}, but its cached workflows and started activities sum to {:?}",
                    (cache[i], activities[i])
                ));
            }
        }
        Ok(())
    }

    /// Closes the books at the horizon, runs the checkers, builds the outputs.
    pub(super) fn finish(&mut self) -> Result<RunOutput, RunError> {
        let horizon = self.horizon;
        // Bill and integrate everything up to the horizon.
        for inst in 0..self.instances.len() as u32 {
            if self.instances[inst as usize].state != InstanceState::Stopped {
                self.bill_until(inst, horizon);
            }
        }
        let accounting = self.accounting(horizon);
        checks::check_conservation(&accounting).map_err(|e| self.check_failed(e))?;
        let scanned = (self.workflow_backlog(), self.activity_backlog());
        if scanned != (self.workflow_tasks_queued, self.activities_queued) {
            return Err(self.check_failed(format!(
                "backlog counters (workflow tasks {}, activities {}) != queued entities {scanned:?}",
                self.workflow_tasks_queued, self.activities_queued
            )));
        }
        self.check_instance_parts()
            .map_err(|e| self.check_failed(e))?;
        self.check_sessions().map_err(|e| self.check_failed(e))?;
        let messages = checks::check_littles_law("messages", &self.stats.messages, horizon)
            .map_err(|e| self.check_failed(e))?;
        let conversations =
            checks::check_littles_law("conversations", &self.stats.conversations, horizon)
                .map_err(|e| self.check_failed(e))?;
        let mut summary = self.summary(&accounting);
        summary.checks = Checks {
            conservation: true,
            littles_law_messages: messages,
            littles_law_conversations: conversations,
        };
        summary.slo = slo::evaluate(&self.cfg.slos, &summary);
        let timeseries = Timeseries {
            providers: self.cfg.providers.iter().map(|p| p.name.clone()).collect(),
            requests: self.is_request_mode(),
            quotas: self
                .quota_reported
                .iter()
                .map(|(_, columns)| columns.clone())
                .collect(),
            rows: {
                let mut rows = std::mem::take(&mut self.rows);
                rows.shrink_to_fit();
                rows
            },
            cpu_target_steps: self.autoscaler.take_cpu_target_steps(),
        };
        Ok(RunOutput {
            summary,
            timeseries,
            events: std::mem::take(&mut self.events),
        })
    }

    fn check_failed(&self, why: String) -> RunError {
        RunError::CheckFailed(format!(
            "{why} (scenario {}, seed {}): this is a bug in sim; reproduce with \
             `sim run <scenario> --seed {}`",
            self.cfg.name, self.seed, self.seed
        ))
    }

    fn bill_until(&mut self, inst: u32, horizon: u64) {
        debug_assert_eq!(self.now().max(horizon), horizon);
        let instance = &mut self.instances[inst as usize];
        let seconds = (horizon - instance.billed_since.min(horizon)) as f64 / 1e9;
        instance.billed_since = horizon;
        let gib = instance.spec.memory_limit_bytes as f64 / (1u64 << 30) as f64;
        let cost = &self.cfg.cost;
        self.stats.instance_seconds += seconds;
        self.stats.compute_cost_usd += seconds
            * (instance.spec.vcpus as f64 * cost.vcpu_second_usd + gib * cost.gib_second_usd);
    }

    /// Counters from the model, in-flight numbers from a scan of the live entities; closes the
    /// Little's-law accumulators with the items still in the system.
    fn accounting(&mut self, horizon: u64) -> Accounting {
        let mut messages_in_flight = 0;
        let conv_ids: Vec<u32> = self.convs.ids().collect();
        self.stats.messages.close(horizon);
        self.stats.conversations.close(horizon);
        for &conv in &conv_ids {
            let c = &self.convs[conv];
            self.stats
                .conversations
                .add_open_item(horizon, c.arrived_at);
            if c.message == MessageState::InFlight {
                messages_in_flight += 1;
                self.stats
                    .messages
                    .add_open_item(horizon, c.message_received_at);
            }
        }
        let attempts_in_flight = self
            .acts
            .ids()
            .filter(|&act| {
                matches!(
                    self.acts[act].state,
                    ActivityState::Cpu
                        | ActivityState::Waiting
                        | ActivityState::WaitingForConnection
                        | ActivityState::Lost
                )
            })
            .count() as u64;
        let activities_in_flight = self.acts.len() as u64;
        let branches_in_flight = self
            .frames
            .ids()
            .filter(|&frame| {
                let f = &self.frames[frame];
                !f.wrapper
                    && matches!(
                        self.program.nodes[f.node as usize].kind,
                        super::program::NodeKind::Parallel { .. }
                    )
            })
            .map(|frame| self.frames[frame].running as u64)
            .sum();
        let s = &self.stats;
        Accounting {
            activities_scheduled: s.activities_scheduled,
            activities_completed: s.activities_completed,
            activities_failed: s.activities_failed,
            activities_orphaned: s.activities_orphaned,
            activities_in_flight,
            branches_started: s.branches_started,
            branches_succeeded: s.branches_succeeded,
            branches_failed: s.branches_failed,
            branches_abandoned: s.branches_abandoned,
            branches_in_flight,
            messages_received: s.messages_received,
            messages_answered: s.messages_answered,
            messages_unanswered: s.messages_unanswered,
            messages_in_flight,
            conversations_started: s.conversations_started,
            conversations_completed: s.conversations_completed,
            conversations_open: conv_ids.len() as u64,
            attempts_started: s.attempts_started,
            attempts_completed: s.attempts_completed,
            attempts_failed: s.attempts_failed,
            attempts_timed_out: s.attempts_timed_out,
            attempts_in_flight,
        }
    }

    fn summary(&mut self, a: &Accounting) -> Summary {
        let s = &mut self.stats;
        let horizon_s = self.horizon as f64 / 1e9;
        let names = self.cfg.providers.iter().map(|p| p.name.clone());
        let llm_call_latency_s: BTreeMap<String, LatencyStats> = names
            .clone()
            .zip(s.llm_latency.iter_mut().map(|h| h.stats()))
            .collect();
        let mut calls = s.llm_calls.clone();
        for &(provider, _) in &self.quota_reported {
            calls[provider].quota = Some(self.quotas[provider].counts());
        }
        let llm_calls: BTreeMap<String, LlmCallCounts> = names.zip(calls).collect();
        // One budget for the fleet's figure when every workload with a budget states the same.
        let mut budgets = self
            .cfg
            .workloads
            .iter()
            .filter_map(|w| w.conversation.response_budget);
        let budget = budgets.next().filter(|b| budgets.all(|x| x == *b));
        let workloads = self.workload_summaries();
        let requests = self.request_summary();
        let s = &mut self.stats;
        let llm_calls_total: u64 = s.llm_calls.iter().map(|c| c.calls).sum();
        let steps: BTreeMap<String, StepStats> = self
            .program
            .step_names
            .iter()
            .zip(s.steps.iter_mut())
            .map(|(name, step)| {
                let mut figures = step.figures.clone();
                figures.latency_s = step.latency.stats();
                (name.clone(), figures)
            })
            .collect();
        Summary {
            scenario: self.cfg.name.clone(),
            seed: self.seed,
            horizon_s,
            warmup_s: self.cfg.run.warmup as f64 / 1e9,
            version: crate::VERSION.to_string(),
            events_processed: self.events_processed,
            conversations: ConversationCounts {
                started: a.conversations_started,
                completed: a.conversations_completed,
                open_at_end: a.conversations_open,
            },
            messages: MessageCounts {
                received: a.messages_received,
                answered: a.messages_answered,
                unanswered: a.messages_unanswered,
                in_flight_at_end: a.messages_in_flight,
            },
            response_latency_s: s.response.stats(),
            activity_schedule_to_start_s: s.activity_schedule_to_start.stats(),
            workflow_task_schedule_to_start_s: s.workflow_task_schedule_to_start.stats(),
            llm_call_latency_s,
            llm_calls,
            activities: ActivityCounts {
                scheduled: s.activities_scheduled,
                attempts_started: a.attempts_started,
                attempts_completed: a.attempts_completed,
                attempts_failed: a.attempts_failed,
                attempts_timed_out: a.attempts_timed_out,
                attempts_in_flight_at_end: a.attempts_in_flight,
                retries: s.retries,
                completed: s.activities_completed,
                failed: s.activities_failed,
                orphaned: s.activities_orphaned,
            },
            cache: CacheCounts {
                hits: s.cache_hits,
                misses: s.cache_misses,
                evictions: s.cache_evictions,
                replayed_events: s.replayed_events,
            },
            instances: InstanceStats {
                mean: if self.horizon == 0 {
                    0.0
                } else {
                    s.instances.area_at(self.horizon) as f64 / self.horizon as f64
                },
                min: if s.instances_min == u64::MAX {
                    0
                } else {
                    s.instances_min
                },
                max: s.instances_max,
            },
            requests,
            instance_seconds: s.instance_seconds,
            crashes: CrashCounts { oom: s.oom_crashes },
            memory_peak_bytes: s.memory_peak_bytes,
            cost_usd: CostUsd {
                compute: s.compute_cost_usd,
                llm: s.llm_cost_usd,
                tools: s.tools_cost_usd,
                total: s.compute_cost_usd + s.llm_cost_usd + s.tools_cost_usd,
            },
            agent: AgentCounts {
                turns: s.turns,
                response_budget_s: budget.map(|b| b as f64 / 1e9),
                turns_within_budget: s.turns_within_budget,
                response_within_budget_fraction: ratio(
                    s.turns_within_budget,
                    s.turns_budgeted_after_warmup,
                ),
                llm_calls_per_turn: ratio(llm_calls_total, s.turns).unwrap_or(0.0),
                tool_calls: s.tool_calls,
                conversations_with_tool_failure: s.conversations_with_tool_failure,
                conversations_with_replan: s.conversations_with_replan,
                tool_failure_conversation_fraction: ratio(
                    s.conversations_with_tool_failure,
                    a.conversations_completed,
                )
                .unwrap_or(0.0),
                replan_conversation_fraction: ratio(
                    s.conversations_with_replan,
                    a.conversations_completed,
                )
                .unwrap_or(0.0),
                fallbacks_run: s.fallbacks_run,
                branches: BranchCounts {
                    started: a.branches_started,
                    succeeded: a.branches_succeeded,
                    failed: a.branches_failed,
                    abandoned: a.branches_abandoned,
                    in_flight_at_end: a.branches_in_flight,
                },
            },
            steps,
            workloads,
            slo: Vec::new(),
            checks: Checks::default(),
        }
    }
}

impl Model {
    /// Each named workload's figures (none for a scenario with one unnamed workload).
    fn workload_summaries(&mut self) -> Vec<WorkloadSummary> {
        let mut out = Vec::new();
        let total_cpu: u128 = self.stats.workloads.iter().map(|w| w.cpu_work).sum();
        for (i, acc) in self.stats.workloads.iter_mut().enumerate() {
            let cfg = &self.cfg.workloads[i];
            let mut summary = WorkloadSummary {
                name: cfg.label().to_string(),
                conversations: ConversationCounts {
                    started: acc.conversations_started,
                    completed: acc.conversations_completed,
                    open_at_end: acc.conversations_started - acc.conversations_completed,
                },
                messages: MessageCounts {
                    received: acc.messages_received,
                    answered: acc.messages_answered,
                    unanswered: acc.messages_unanswered,
                    in_flight_at_end: acc.messages_received
                        - acc.messages_answered
                        - acc.messages_unanswered,
                },
                response_latency_s: acc.response.stats(),
                response_budget_s: cfg.conversation.response_budget.map(|b| b as f64 / 1e9),
                response_within_budget_fraction: cfg.conversation.response_budget.and(ratio(
                    acc.turns_within_budget,
                    acc.turns_answered_after_warmup,
                )),
                tool_failure_conversation_fraction: ratio(
                    acc.conversations_with_tool_failure,
                    acc.conversations_completed,
                )
                .unwrap_or(0.0),
                replan_conversation_fraction: ratio(
                    acc.conversations_with_replan,
                    acc.conversations_completed,
                )
                .unwrap_or(0.0),
                cpu_s: acc.cpu_work as f64 / 1e9,
                cpu_share: if total_cpu == 0 {
                    0.0
                } else {
                    acc.cpu_work as f64 / total_cpu as f64
                },
                ..WorkloadSummary::default()
            };
            // Each named step is one node; only leaf steps (LLM or tool calls) carry figures.
            let nodes = self.program.nodes.iter().zip(&self.program.node_workloads);
            for (node, _) in nodes.filter(|(n, w)| n.stat != NONE && **w as usize == i) {
                let figures = &self.stats.steps[node.stat as usize].figures;
                summary.llm_calls += figures.llm_calls;
                summary.tool_calls += figures.tool_calls;
                // Saturating, as the run's own token sums (`Stats::record_llm_call`).
                summary.input_tokens = summary.input_tokens.saturating_add(figures.input_tokens);
                summary.cached_input_tokens = summary
                    .cached_input_tokens
                    .saturating_add(figures.cached_input_tokens);
                summary.output_tokens = summary.output_tokens.saturating_add(figures.output_tokens);
                match &node.kind {
                    NodeKind::Activity(step) if matches!(step.kind, StepKind::Tool { .. }) => {
                        summary.cost_usd.tools += figures.cost_usd
                    }
                    _ => summary.cost_usd.llm += figures.cost_usd,
                }
            }
            out.push(summary);
        }
        out
    }
}

/// `numerator / denominator`, or None when the denominator is 0.
fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}
