//! The response child's activities: one per step, run in order. The activity task queue,
//! activity slots, the CPU part then the LLM or tool wait, start-to-close timeouts and the retry
//! policy. An attempt lost with its worker is noticed only by its start-to-close timeout, as in
//! Temporal.

use super::conversation::key;
use super::state::*;
use super::{Model, dist, llm, streams};
use crate::engine::Time;
use crate::engine::rng;
use crate::scenario::StepKind;
use rand::Rng as _;

impl Model {
    /// The child's workflow task has run: schedule the next step, or complete the child.
    /// Returns whether the child completed.
    pub(super) fn complete_child_task(&mut self, wf: u32, parent: u32, processing: u8) -> bool {
        if processing & INBOX_ACTIVITY_FAILED != 0 {
            self.finish_child(wf, parent, false);
            return true;
        }
        if processing & INBOX_START != 0 {
            self.wfs[wf].step = 0;
            self.schedule_activity(wf);
        } else if processing & INBOX_ACTIVITY_DONE != 0 {
            let next = self.wfs[wf].step + 1;
            if next as usize >= self.cfg.agent.steps.len() {
                self.finish_child(wf, parent, true);
                return true;
            }
            self.wfs[wf].step = next;
            self.schedule_activity(wf);
        }
        false
    }

    fn finish_child(&mut self, wf: u32, parent: u32, ok: bool) {
        self.wfs[wf].history_events += 1; // WorkflowExecutionCompleted or Failed
        let p = &mut self.wfs[parent];
        p.history_events += 1; // ChildWorkflowExecutionCompleted or Failed
        p.inbox |= if ok {
            INBOX_CHILD_DONE
        } else {
            INBOX_CHILD_FAILED
        };
        self.schedule_workflow_task(parent);
    }

    /// First attempt of the current step.
    fn schedule_activity(&mut self, wf: u32) {
        self.wfs[wf].attempt = 1;
        self.wfs[wf].history_events += 1; // ActivityTaskScheduled
        self.stats.activities_scheduled += 1;
        self.enqueue_activity(wf);
    }

    fn enqueue_activity(&mut self, wf: u32) {
        let now = self.now();
        let w = &mut self.wfs[wf];
        w.act_epoch = w.act_epoch.wrapping_add(1);
        w.act = ActivityState::Queued;
        self.activities_queued += 1;
        w.act_scheduled_at = now;
        let epoch = w.act_epoch;
        if self.free_activity_slots > 0
            && let Some(inst) = self.pick_worker(|i| i.activity_slots_used < i.spec.activity_slots)
        {
            self.start_activity(inst, wf);
            return;
        }
        self.activity_queue.push_back((wf, epoch));
    }

    /// A worker with free activity slots takes queued activities.
    pub(super) fn pull_activities(&mut self, inst: u32) {
        while !self.activity_queue.is_empty() {
            let instance = &self.instances[inst as usize];
            if instance.state != InstanceState::Running
                || instance.activity_slots_used >= instance.spec.activity_slots
            {
                return;
            }
            let Some((wf, epoch)) = self.activity_queue.pop_front() else {
                return;
            };
            if self.wfs.is_live(wf)
                && self.wfs[wf].act_epoch == epoch
                && self.wfs[wf].act == ActivityState::Queued
            {
                self.start_activity(inst, wf);
            }
        }
    }

    fn start_activity(&mut self, inst: u32, wf: u32) {
        let now = self.now();
        self.take_activity_slot(inst);
        let step = &self.cfg.agent.steps[self.wfs[wf].step as usize];
        let (cpu, memory) = (step.cpu, step.memory_bytes);
        let w = &mut self.wfs[wf];
        debug_assert_eq!(w.act, ActivityState::Queued);
        w.act = ActivityState::Cpu;
        self.activities_queued -= 1;
        w.act_inst = inst;
        w.act_started_at = now;
        w.act_memory = memory;
        let waited = now - w.act_scheduled_at;
        let epoch = w.act_epoch;
        self.stats.record_activity_wait(now, waited);
        self.stats.attempts_started += 1;
        self.instances[inst as usize].activity_bytes += memory;
        self.note_memory(inst);
        self.submit_cpu(inst, CpuJob::Activity { wf, epoch }, cpu);
    }

    /// The attempt's CPU part is done: call the LLM or the tool. Everything about the wait is
    /// drawn now, from streams keyed by (conversation, turn, step, attempt).
    pub(super) fn begin_activity_wait(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf)
            || self.wfs[wf].act_epoch != epoch
            || self.wfs[wf].act != ActivityState::Cpu
        {
            return;
        }
        let now = self.now();
        let (wait, ok) = self.draw_activity_wait(wf);
        let w = &mut self.wfs[wf];
        let timeout = self.cfg.agent.steps[w.step as usize].start_to_close_timeout;
        let deadline = w.act_started_at.saturating_add(timeout);
        w.act = ActivityState::Waiting;
        let done_at = now.saturating_add(wait);
        let (at, event, outcome) = if done_at > deadline {
            (
                deadline.max(now),
                Event::ActivityTimeout { wf, epoch },
                ActivityOutcome::TimedOut,
            )
        } else {
            let outcome = if ok {
                ActivityOutcome::Completed
            } else {
                ActivityOutcome::Failed
            };
            (done_at, Event::ActivityDone { wf, epoch }, outcome)
        };
        w.act_outcome = outcome;
        if at <= self.horizon {
            self.schedule(at, event);
        }
    }

    fn draw_activity_wait(&mut self, wf: u32) -> (Time, bool) {
        let w = &self.wfs[wf];
        let WorkflowKind::Child { turn, .. } = w.kind else {
            unreachable!("activities belong to response children")
        };
        let conv_index = self.convs[w.conv].index;
        let step_index = w.step as usize;
        let attempt_key = key(
            conv_index,
            turn as u64,
            ((step_index as u64) << 32) | w.attempt as u64,
        );
        match &self.cfg.agent.steps[step_index].kind {
            StepKind::Tool {
                latency,
                failure_probability,
            } => {
                let mut draws = rng::stream(self.seed, streams::TOOL, attempt_key);
                let wait = dist::sample_nanos(latency, &mut draws);
                let failed = draws.random::<f64>() < *failure_probability;
                (wait, !failed)
            }
            StepKind::Llm {
                group_index,
                input_tokens,
                output_tokens,
                ..
            } => {
                let mut tokens = rng::stream(
                    self.seed,
                    streams::TOKENS,
                    key(conv_index, turn as u64, step_index as u64),
                );
                let input = dist::sample_count(input_tokens, &mut tokens);
                let output = dist::sample_count(output_tokens, &mut tokens);
                let mut draws = rng::stream(self.seed, streams::LLM, attempt_key);
                let group = &self.cfg.provider_groups[*group_index].providers;
                let outcome = llm::call(
                    &self.cfg.providers,
                    &self.conditions,
                    group,
                    output,
                    &mut draws,
                );
                let now = self.now();
                self.stats
                    .record_llm_call(now, &outcome, &self.cfg.providers, input, output);
                (outcome.elapsed, outcome.ok)
            }
        }
    }

    pub(super) fn on_activity_done(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf)
            || self.wfs[wf].act_epoch != epoch
            || self.wfs[wf].act != ActivityState::Waiting
        {
            return;
        }
        let outcome = self.wfs[wf].act_outcome;
        self.end_attempt(wf, outcome);
    }

    pub(super) fn on_activity_timeout(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf) || self.wfs[wf].act_epoch != epoch {
            return;
        }
        if matches!(
            self.wfs[wf].act,
            ActivityState::Waiting | ActivityState::Lost
        ) {
            self.end_attempt(wf, ActivityOutcome::TimedOut);
        }
    }

    /// Ends the current attempt: frees its slot (if its worker still has it), then reports
    /// success to the child, retries, or reports final failure.
    fn end_attempt(&mut self, wf: u32, outcome: ActivityOutcome) {
        if self.wfs[wf].act == ActivityState::Waiting {
            let inst = self.wfs[wf].act_inst;
            let memory = self.wfs[wf].act_memory;
            self.instances[inst as usize].activity_bytes -= memory;
            self.release_activity_slot(inst);
            self.pull_activities(inst);
            self.stop_if_drained(inst);
        }
        let w = &mut self.wfs[wf];
        w.act_inst = NONE;
        w.act = ActivityState::None;
        match outcome {
            ActivityOutcome::Completed => self.stats.attempts_completed += 1,
            ActivityOutcome::Failed => self.stats.attempts_failed += 1,
            ActivityOutcome::TimedOut => self.stats.attempts_timed_out += 1,
        }
        let retry = &self.cfg.retry;
        let attempt = self.wfs[wf].attempt;
        let exhausted = retry.maximum_attempts > 0 && attempt >= retry.maximum_attempts;
        if outcome == ActivityOutcome::Completed || exhausted {
            let w = &mut self.wfs[wf];
            w.history_events += 2; // ActivityTaskStarted, Completed (or Failed)
            w.inbox |= if outcome == ActivityOutcome::Completed {
                INBOX_ACTIVITY_DONE
            } else {
                INBOX_ACTIVITY_FAILED
            };
            self.schedule_workflow_task(wf);
            return;
        }
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let interval = retry.initial_interval as f64 * retry.backoff_coefficient.powi(exponent);
        let backoff = (interval.min(retry.maximum_interval as f64)) as Time;
        self.stats.retries += 1;
        let w = &mut self.wfs[wf];
        w.attempt += 1;
        w.act = ActivityState::Backoff;
        w.act_epoch = w.act_epoch.wrapping_add(1);
        let epoch = w.act_epoch;
        self.schedule_within_horizon(backoff, Event::ActivityRetry { wf, epoch });
    }

    pub(super) fn on_activity_retry(&mut self, wf: u32, epoch: u32) {
        if self.wfs.is_live(wf)
            && self.wfs[wf].act_epoch == epoch
            && self.wfs[wf].act == ActivityState::Backoff
        {
            self.enqueue_activity(wf);
        }
    }

    /// Called when `inst` dies: its attempts are lost; their start-to-close timeouts (already
    /// implied by when they started) bring them back.
    pub(super) fn lose_activities(&mut self, inst: u32) {
        let now = self.now();
        let ids: Vec<u32> = self.wfs.ids().collect();
        for wf in ids {
            let w = &mut self.wfs[wf];
            let running = matches!(w.act, ActivityState::Cpu | ActivityState::Waiting);
            if !running || w.act_inst != inst {
                continue;
            }
            w.act = ActivityState::Lost;
            w.act_inst = NONE;
            w.act_epoch = w.act_epoch.wrapping_add(1);
            let epoch = w.act_epoch;
            let timeout = self.cfg.agent.steps[w.step as usize].start_to_close_timeout;
            let at = w.act_started_at.saturating_add(timeout).max(now);
            if at <= self.horizon {
                self.schedule(at, Event::ActivityTimeout { wf, epoch });
            }
        }
    }
}
