//! Activities: the leaf steps of a turn's program, each an entity of its own from scheduling to
//! final outcome. The activity task queue, activity slots, the CPU part then the LLM or tool
//! wait, start-to-close timeouts and the retry policy. An attempt lost with its worker is
//! noticed only by its start-to-close timeout, as in Temporal. The final outcome goes to the
//! activity's frame through its workflow's next task.

use super::conversation::key;
use super::quota::ProviderQuota;
use super::state::*;
use super::stats::CallTokens;
use super::{Model, dist, llm, streams};
use crate::engine::Time;
use crate::engine::rng;
use crate::engine::slab::Slab;
use crate::scenario::{Nanos, StepKind, round_to_u64};
use rand::Rng as _;

/// An LLM call suspended before an attempt on a provider with a quota, which is admitted at
/// its own start time (`llm::call_with`): what it has done so far and what it needs to go on.
#[derive(Clone)]
pub(super) struct PendingCall {
    started_at: Time,
    outcome: llm::CallOutcome,
    /// The call's stream, where its earlier attempts left it.
    draws: rng::Rng,
    request: llm::Request,
    tokens: CallTokens,
    /// The provider group (index into the scenario's groups) and the step's statistics slot.
    group: usize,
    stat: u32,
}

/// An attempt's wait as drawn, or an LLM call suspended until `at` into it.
enum Wait {
    Drawn {
        wait: Time,
        ok: bool,
        first_chunk: Option<Time>,
    },
    Suspended {
        call: u32,
        at: Time,
    },
}

/// Admits attempts against the providers' quotas, at the call's start plus their offset.
struct QuotaGate<'q> {
    quotas: &'q mut [ProviderQuota],
    call_started_at: Time,
}

impl llm::Admission for QuotaGate<'_> {
    #[inline]
    fn limited(&self, provider: usize) -> bool {
        self.quotas[provider].is_limited()
    }

    fn admit(
        &mut self,
        provider: usize,
        offset: Nanos,
        tokens: u64,
        elapsed: Nanos,
    ) -> Result<(), llm::QuotaLimit> {
        let now = self.call_started_at.saturating_add(offset);
        self.quotas[provider].admit(now, tokens, now.saturating_add(elapsed))
    }
}

impl Model {
    /// Schedules the first attempt of the activity node `node` for `frame` of workflow `wf`.
    #[inline]
    pub(super) fn schedule_activity(
        &mut self,
        wf: u32,
        frame: u32,
        frame_gen: u32,
        node: u32,
        occurrence: u64,
    ) {
        let now = self.now();
        let w = &self.wfs[wf];
        let (wf_gen, conv, conv_index) = (w.generation, w.conv, w.conv_index);
        let WorkflowKind::Child { turn, .. } = w.kind else {
            unreachable!("activities belong to child workflows")
        };
        let act = self.acts.insert_with(|previous| Activity {
            epoch: previous.map_or(0, |p| p.epoch.wrapping_add(1)),
            wf,
            wf_gen,
            conv,
            conv_index,
            turn,
            frame,
            frame_gen,
            node,
            occurrence,
            attempt: 1,
            state: ActivityState::Backoff,
            inst: NONE,
            first_scheduled_at: now,
            scheduled_at: now,
            started_at: 0,
            outcome: ActivityOutcome::Completed,
            memory: 0,
            chunk_sent: false,
            holds_connection: false,
            output_tokens: 0,
        });
        if self.acts.len() > self.state_check_at_activities {
            self.limits_due = true;
        }
        self.wfs[wf].history_events += 1; // ActivityTaskScheduled
        self.stats.activities_scheduled += 1;
        self.enqueue_activity(act);
    }

    #[inline]
    fn enqueue_activity(&mut self, act: u32) {
        let now = self.now();
        let a = &mut self.acts[act];
        a.epoch = a.epoch.wrapping_add(1);
        a.state = ActivityState::Queued;
        self.activities_queued += 1;
        a.scheduled_at = now;
        let epoch = a.epoch;
        let (conv, conv_index) = (a.conv, a.conv_index);
        if self.is_request_mode() {
            match self.session_instance(conv, conv_index) {
                Some(inst) => self.start_activity(inst, act),
                None => self.fail_outside_session(act),
            }
            return;
        }
        if self.free_activity_slots > 0
            && let Some(inst) = self.pick_worker(|i| i.activity_slots_used < i.spec.activity_slots)
        {
            self.start_activity(inst, act);
            return;
        }
        self.activity_queue.push_back((act, epoch));
    }

    /// Request mode: a step of a request whose session is gone (its instance died) fails at
    /// once, and is not retried (see `end_attempt`). Its attempt counts as started and timed
    /// out: the client's connection is gone, as for an attempt lost with its instance.
    fn fail_outside_session(&mut self, act: u32) {
        self.activities_queued = (self.activities_queued.checked_sub(1))
            .expect("activities_queued counts the queued activities");
        self.stats.attempts_started += 1;
        let a = &mut self.acts[act];
        a.state = ActivityState::Lost;
        a.epoch = a.epoch.wrapping_add(1);
        let epoch = a.epoch;
        let now = self.now();
        self.schedule(now, Event::ActivityTimeout { act, epoch });
    }

    /// A worker with free activity slots takes queued activities.
    #[inline]
    pub(super) fn pull_activities(&mut self, inst: u32) {
        // The check inline, the loop out of line: see `pull_workflow_tasks`.
        if !self.activity_queue.is_empty() {
            self.pull_queued_activities(inst);
        }
    }

    #[inline(never)]
    fn pull_queued_activities(&mut self, inst: u32) {
        while !self.activity_queue.is_empty() {
            let instance = &self.instances[inst as usize];
            if instance.state != InstanceState::Running
                || instance.activity_slots_used >= instance.spec.activity_slots
            {
                return;
            }
            let Some((act, epoch)) = self.activity_queue.pop_front() else {
                return;
            };
            if self.acts.is_live(act)
                && self.acts[act].epoch == epoch
                && self.acts[act].state == ActivityState::Queued
            {
                self.start_activity(inst, act);
            }
        }
    }

    fn start_activity(&mut self, inst: u32, act: u32) {
        let now = self.now();
        self.take_activity_slot(inst);
        let step = self.program.step_of(self.acts[act].node);
        let (cpu, memory) = (step.cpu, step.memory_bytes);
        let a = &mut self.acts[act];
        assert_eq!(a.state, ActivityState::Queued, "an activity starts once");
        a.state = ActivityState::Cpu;
        self.activities_queued = (self.activities_queued.checked_sub(1))
            .expect("activities_queued counts the queued activities");
        a.inst = inst;
        a.started_at = now;
        a.memory = memory;
        let acts = &self.acts;
        self.instances[inst as usize]
            .activities_here
            .push(act, |id| activity_on(acts, id, inst));
        let a = &self.acts[act];
        let waited = now - a.scheduled_at;
        let epoch = a.epoch;
        self.stats.record_activity_wait(now, waited);
        self.stats.attempts_started += 1;
        self.instances[inst as usize].activity_bytes += memory;
        self.note_memory(inst);
        self.submit_cpu(inst, CpuJob::Activity { act, epoch }, cpu);
    }

    /// The attempt's CPU part is done: call the LLM or the tool (a tool with a connection
    /// limit first waits for a free connection, holding its slot).
    pub(super) fn begin_activity_wait(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Cpu
        {
            return;
        }
        let pool = self.program.nodes[self.acts[act].node as usize].pool;
        if pool != NONE {
            let limit = self.pool_limit(pool);
            let p = &mut self.pools[pool as usize];
            if p.in_use >= limit {
                p.waiting.push_back((act, epoch));
                let a = &mut self.acts[act];
                a.state = ActivityState::WaitingForConnection;
                // The start-to-close timeout runs while it waits.
                let timeout = self.program.step_of(a.node).start_to_close_timeout;
                let deadline = a.started_at.saturating_add(timeout).max(self.now());
                if deadline <= self.horizon {
                    self.schedule(deadline, Event::ActivityTimeout { act, epoch });
                }
                return;
            }
            p.in_use += 1;
            self.acts[act].holds_connection = true;
        }
        self.begin_call(act);
    }

    fn pool_limit(&self, pool: u32) -> u32 {
        let limits = &self.program.pool_limits;
        limits[pool as usize]
    }

    /// Gives a connection back to `pool` and hands it to the next waiting activity.
    fn release_connection(&mut self, pool: u32) {
        let p = &mut self.pools[pool as usize];
        p.in_use = p
            .in_use
            .checked_sub(1)
            .expect("a pool's connections in use are the activities holding one");
        let limit = self.pool_limit(pool);
        while self.pools[pool as usize].in_use < limit {
            let Some((act, epoch)) = self.pools[pool as usize].waiting.pop_front() else {
                return;
            };
            if self.acts.is_live(act)
                && self.acts[act].epoch == epoch
                && self.acts[act].state == ActivityState::WaitingForConnection
            {
                self.pools[pool as usize].in_use += 1;
                self.acts[act].holds_connection = true;
                self.begin_call(act);
            }
        }
    }

    /// The call itself: its outcome and duration are drawn now, and its end is scheduled (or
    /// its start-to-close timeout, whichever comes first). An LLM call that reaches a provider
    /// with a quota after a failed attempt is suspended until that attempt's start.
    fn begin_call(&mut self, act: u32) {
        let now = self.now();
        self.acts[act].state = ActivityState::Waiting;
        match self.draw_activity_wait(act) {
            Wait::Drawn {
                wait,
                ok,
                first_chunk,
            } => self.schedule_attempt_end(act, now, wait, ok, first_chunk),
            Wait::Suspended { call, at } => self.suspend_call(act, call, now.saturating_add(at)),
        }
    }

    /// Schedules the end of the attempt whose wait began at `began_at` and lasts `wait`: its
    /// drawn outcome, or its start-to-close timeout if that comes first.
    fn schedule_attempt_end(
        &mut self,
        act: u32,
        began_at: Time,
        wait: Time,
        ok: bool,
        first_chunk: Option<Time>,
    ) {
        let now = self.now();
        let timeout = self
            .program
            .step_of(self.acts[act].node)
            .start_to_close_timeout;
        let a = &mut self.acts[act];
        let epoch = a.epoch;
        let deadline = a.started_at.saturating_add(timeout);
        let done_at = began_at.saturating_add(wait);
        let (at, event, outcome) = if done_at > deadline {
            (
                deadline.max(now),
                Event::ActivityTimeout { act, epoch },
                ActivityOutcome::TimedOut,
            )
        } else {
            let outcome = if ok {
                ActivityOutcome::Completed
            } else {
                ActivityOutcome::Failed
            };
            (done_at, Event::ActivityDone { act, epoch }, outcome)
        };
        a.outcome = outcome;
        if let Some(chunk) = first_chunk {
            let chunk_at = began_at.saturating_add(chunk);
            if !a.chunk_sent && chunk_at <= deadline && chunk_at <= self.horizon {
                self.schedule(chunk_at.max(now), Event::ActivityFirstChunk { act, epoch });
            }
        }
        if at <= self.horizon {
            self.schedule(at, event);
        }
    }

    /// Parks the LLM call `call` of `act` until `at`, when its next attempt starts; if the
    /// activity's start-to-close timeout comes first, the call ends there.
    fn suspend_call(&mut self, act: u32, call: u32, at: Time) {
        let timeout = self
            .program
            .step_of(self.acts[act].node)
            .start_to_close_timeout;
        let a = &self.acts[act];
        let epoch = a.epoch;
        let deadline = a.started_at.saturating_add(timeout);
        if at <= deadline && at <= self.horizon {
            self.schedule(at, Event::LlmAttempt { act, epoch, call });
            return;
        }
        self.end_call(call);
        if at > deadline {
            let now = self.now();
            self.acts[act].outcome = ActivityOutcome::TimedOut;
            let at = deadline.max(now);
            if at <= self.horizon {
                self.schedule(at, Event::ActivityTimeout { act, epoch });
            }
        }
    }

    /// Drops a suspended call whose next attempt will not be made, recording its attempts.
    fn end_call(&mut self, call: u32) {
        let c = &self.calls[call];
        self.stats.record_llm_call(
            c.started_at,
            &c.outcome,
            &self.cfg.providers,
            c.tokens,
            c.stat,
        );
        self.calls.remove(call);
    }

    /// A suspended call's next attempt starts: a quota admits it or not, and the call goes on.
    pub(super) fn on_llm_attempt(&mut self, act: u32, epoch: u32, call: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Waiting
        {
            // The attempt is over (its worker died): the call stops here.
            self.end_call(call);
            return;
        }
        let mut c = self.calls[call].clone();
        self.calls.remove(call);
        let group = &self.cfg.provider_groups[c.group].providers;
        let mut gate = QuotaGate {
            quotas: &mut self.quotas,
            call_started_at: c.started_at,
        };
        let progress = llm::call_with(
            &self.cfg.providers,
            &self.conditions,
            group,
            &c.request,
            &mut c.draws,
            &mut c.outcome,
            &mut gate,
        );
        match progress {
            llm::Progress::Done => {
                self.stats.record_llm_call(
                    c.started_at,
                    &c.outcome,
                    &self.cfg.providers,
                    c.tokens,
                    c.stat,
                );
                let (wait, ok, chunk) = (c.outcome.elapsed, c.outcome.ok, c.outcome.first_chunk_at);
                self.schedule_attempt_end(act, c.started_at, wait, ok, chunk);
            }
            llm::Progress::Suspended { at } => {
                let started_at = c.started_at;
                let call = self.calls.insert_with(|_| c);
                self.suspend_call(act, call, started_at.saturating_add(at));
            }
        }
    }

    /// The live conversation `wf` belongs to (a branch child may outlive it).
    pub(super) fn conversation_of(&self, wf: u32) -> Option<u32> {
        let w = &self.wfs[wf];
        (self.convs.is_live(w.conv) && self.convs[w.conv].index == w.conv_index).then_some(w.conv)
    }

    /// Draws the attempt: its wait, whether it succeeds, and (streaming) when its first chunk
    /// arrives. Tokens and prices are charged here, for successful calls.
    fn draw_activity_wait(&mut self, act: u32) -> Wait {
        let a = &self.acts[act];
        // From the activity itself: its workflow may have completed and its slot be reused.
        let (conv, conv_index, turn, node) = (a.conv, a.conv_index, a.turn as u64, a.node);
        let occurrence = a.occurrence;
        // A plain step's position keeps its historical key; nested occurrences are mixed.
        let attempt_part = if occurrence < 1 << 32 {
            (occurrence << 32) | a.attempt as u64
        } else {
            rng::mix64(occurrence ^ a.attempt as u64)
        };
        let attempt_key = key(conv_index, turn, attempt_part);
        let stat = self.program.nodes[node as usize].stat;
        let now = self.now();
        match &self.program.step_of(node).kind {
            StepKind::Tool {
                latency,
                failure_probability,
                price_per_call_usd,
                ..
            } => {
                let mut draws = self.draws(streams::TOOL, attempt_key);
                let wait = dist::sample_nanos(latency, &mut draws);
                let failed = draws.random::<f64>() < *failure_probability;
                self.stats.record_tool_call(stat, *price_per_call_usd);
                Wait::Drawn {
                    wait,
                    ok: !failed,
                    first_chunk: None,
                }
            }
            StepKind::Llm {
                group_index,
                input_tokens,
                output_tokens,
                prompt,
                ..
            } => {
                let mut tokens = self.draws(streams::TOKENS, key(conv_index, turn, occurrence));
                let drawn = dist::sample_count(input_tokens, &mut tokens);
                let output = dist::sample_count(output_tokens, &mut tokens);
                let carried = if prompt.carry_previous_output
                    && self.convs.is_live(conv)
                    && self.convs[conv].index == conv_index
                {
                    self.convs[conv].carried_output_tokens
                } else {
                    0
                };
                let input = drawn
                    .saturating_add(prompt.input_tokens_per_turn.saturating_mul(turn - 1))
                    .saturating_add(carried);
                let cached = round_to_u64(input as f64 * prompt.cached_input_fraction);
                let request = llm::Request {
                    uncached_input_tokens: input - cached.min(input),
                    output_tokens: output,
                    first_chunk_tokens: prompt.first_chunk_tokens,
                    quota_tokens: input.saturating_add(output),
                };
                let mut draws = self.draws(streams::LLM, attempt_key);
                let group = &self.cfg.provider_groups[*group_index].providers;
                let mut outcome = llm::CallOutcome::default();
                let progress = if self.quotas_active {
                    let mut gate = QuotaGate {
                        quotas: &mut self.quotas,
                        call_started_at: now,
                    };
                    llm::call_with(
                        &self.cfg.providers,
                        &self.conditions,
                        group,
                        &request,
                        &mut draws,
                        &mut outcome,
                        &mut gate,
                    )
                } else {
                    llm::call_with(
                        &self.cfg.providers,
                        &self.conditions,
                        group,
                        &request,
                        &mut draws,
                        &mut outcome,
                        &mut llm::Unlimited,
                    )
                };
                let tokens = crate::model::stats::CallTokens {
                    input,
                    cached_input: cached.min(input),
                    output,
                };
                self.acts[act].output_tokens = output;
                match progress {
                    llm::Progress::Done => {
                        self.stats.record_llm_call(
                            now,
                            &outcome,
                            &self.cfg.providers,
                            tokens,
                            stat,
                        );
                        Wait::Drawn {
                            wait: outcome.elapsed,
                            ok: outcome.ok,
                            first_chunk: outcome.first_chunk_at,
                        }
                    }
                    llm::Progress::Suspended { at } => {
                        let group = *group_index;
                        let call = self.calls.insert_with(|_| PendingCall {
                            started_at: now,
                            outcome,
                            draws,
                            request,
                            tokens,
                            group,
                            stat,
                        });
                        Wait::Suspended { call, at }
                    }
                }
            }
            StepKind::Parallel(_) | StepKind::Repeat { .. } | StepKind::Choice { .. } => {
                unreachable!("activity nodes hold llm and tool steps")
            }
        }
    }

    /// A streaming call's first chunk: the enclosing sequence may move on.
    pub(super) fn on_activity_first_chunk(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Waiting
            || self.acts[act].chunk_sent
        {
            return;
        }
        let a = &mut self.acts[act];
        a.chunk_sent = true;
        let (wf, wf_gen, frame, frame_gen) = (a.wf, a.wf_gen, a.frame, a.frame_gen);
        if self.wfs.is_live(wf) && self.wfs[wf].generation == wf_gen {
            self.complete_into(wf, frame, frame_gen, Signal::FirstChunk);
        }
    }

    pub(super) fn on_activity_done(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act)
            || self.acts[act].epoch != epoch
            || self.acts[act].state != ActivityState::Waiting
        {
            return;
        }
        let outcome = self.acts[act].outcome;
        self.end_attempt(act, outcome);
    }

    pub(super) fn on_activity_timeout(&mut self, act: u32, epoch: u32) {
        if !self.acts.is_live(act) || self.acts[act].epoch != epoch {
            return;
        }
        if matches!(
            self.acts[act].state,
            ActivityState::Waiting | ActivityState::Lost | ActivityState::WaitingForConnection
        ) {
            self.end_attempt(act, ActivityOutcome::TimedOut);
        }
    }

    /// Ends the current attempt: frees its slot (if its worker still has it), then retries or
    /// reports the final outcome.
    fn end_attempt(&mut self, act: u32, outcome: ActivityOutcome) {
        if std::mem::take(&mut self.acts[act].holds_connection) {
            let pool = self.program.nodes[self.acts[act].node as usize].pool;
            self.release_connection(pool);
        }
        if matches!(
            self.acts[act].state,
            ActivityState::Waiting | ActivityState::WaitingForConnection
        ) {
            let a = &mut self.acts[act];
            let (inst, memory) = (a.inst, a.memory);
            // Off its worker before the slot is freed: if that lets a draining worker stop
            // (below), the attempt that just ended is not among what the stop loses (it was, and
            // a timeout was scheduled for an attempt already over, discarded when it fired).
            a.inst = NONE;
            let instance = &mut self.instances[inst as usize];
            instance.activities_here.leave(act);
            instance.activity_bytes = instance
                .activity_bytes
                .checked_sub(memory)
                .expect("an instance's activity memory is the sum of its activities'");
            self.release_activity_slot(inst);
            self.pull_activities(inst);
            self.stop_if_drained(inst);
        }
        let a = &mut self.acts[act];
        a.inst = NONE;
        let (wf, wf_gen, node, attempt) = (a.wf, a.wf_gen, a.node, a.attempt);
        match outcome {
            ActivityOutcome::Completed => self.stats.attempts_completed += 1,
            ActivityOutcome::Failed => self.stats.attempts_failed += 1,
            ActivityOutcome::TimedOut => self.stats.attempts_timed_out += 1,
        }
        let workflow_alive = self.wfs.is_live(wf) && self.wfs[wf].generation == wf_gen;
        let is_tool = matches!(self.program.step_of(node).kind, StepKind::Tool { .. });
        if is_tool
            && outcome != ActivityOutcome::Completed
            && workflow_alive
            && let Some(conv) = self.conversation_of(wf)
        {
            self.convs[conv].tool_failed = true;
        }
        let retry = &self.cfg.retry;
        let exhausted = retry.maximum_attempts > 0 && attempt >= retry.maximum_attempts;
        // Request mode: a step retries inside its request, so not once the session is gone.
        let session_gone = self.is_request_mode() && {
            let a = &self.acts[act];
            self.session_instance(a.conv, a.conv_index).is_none()
        };
        // A completed workflow's activity is not retried: nothing would take its result.
        if outcome == ActivityOutcome::Completed || exhausted || !workflow_alive || session_gone {
            self.finish_activity(act, outcome == ActivityOutcome::Completed);
            return;
        }
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let interval = retry.initial_interval as f64 * retry.backoff_coefficient.powi(exponent);
        let backoff = (interval.min(retry.maximum_interval as f64)) as Time;
        self.stats.retries += 1;
        let a = &mut self.acts[act];
        a.attempt += 1;
        a.state = ActivityState::Backoff;
        a.epoch = a.epoch.wrapping_add(1);
        let epoch = a.epoch;
        self.schedule_within_horizon(backoff, Event::ActivityRetry { act, epoch });
    }

    /// The activity's final outcome: record it in its workflow's history and hand it to its
    /// frame through the workflow's next task (or drop it if the workflow has completed).
    fn finish_activity(&mut self, act: u32, ok: bool) {
        let now = self.now();
        let a = &self.acts[act];
        let (node, first_scheduled_at, output_tokens, chunk_sent) =
            (a.node, a.first_scheduled_at, a.output_tokens, a.chunk_sent);
        let (wf, wf_gen, frame, frame_gen) = (a.wf, a.wf_gen, a.frame, a.frame_gen);
        self.acts.remove(act);
        let n = &self.program.nodes[node as usize];
        if n.on_failure.is_none() {
            self.stats
                .record_step(n.stat, now, now - first_scheduled_at, ok);
        }
        let workflow_alive = self.wfs.is_live(wf) && self.wfs[wf].generation == wf_gen;
        if !workflow_alive {
            self.stats.activities_orphaned += 1;
            self.deliver_orphan(frame, frame_gen);
            return;
        }
        if ok {
            self.stats.activities_completed += 1;
        } else {
            self.stats.activities_failed += 1;
        }
        if ok
            && let StepKind::Llm { prompt, .. } = &self.program.step_of(node).kind
            && prompt.carry_previous_output
            && let Some(conv) = self.conversation_of(wf)
        {
            let c = &mut self.convs[conv];
            c.carried_output_tokens = c.carried_output_tokens.saturating_add(output_tokens);
        }
        self.wfs[wf].history_events += 2; // ActivityTaskStarted, Completed (or Failed)
        let signal = Signal::Done {
            ok,
            streamed: chunk_sent,
        };
        self.complete_into(wf, frame, frame_gen, signal);
    }

    pub(super) fn on_activity_retry(&mut self, act: u32, epoch: u32) {
        if self.acts.is_live(act)
            && self.acts[act].epoch == epoch
            && self.acts[act].state == ActivityState::Backoff
        {
            self.enqueue_activity(act);
        }
    }

    /// Called when `inst` dies: its attempts are lost; their start-to-close timeouts (already
    /// implied by when they started) bring them back.
    pub(super) fn lose_activities(&mut self, inst: u32) {
        let now = self.now();
        let acts = &self.acts;
        let lost = self.instances[inst as usize]
            .activities_here
            .take(|act| activity_on(acts, act, inst));
        let mut released = Vec::new();
        for act in lost {
            let a = &mut self.acts[act];
            // The worker's connection goes with it.
            if std::mem::take(&mut a.holds_connection) {
                released.push(self.program.nodes[a.node as usize].pool);
            }
            let a = &mut self.acts[act];
            a.state = ActivityState::Lost;
            a.inst = NONE;
            a.epoch = a.epoch.wrapping_add(1);
            let (epoch, started_at, node) = (a.epoch, a.started_at, a.node);
            let timeout = self.program.step_of(node).start_to_close_timeout;
            // A request's client sees its connection drop at once; a Temporal activity's loss
            // is noticed only by its start-to-close timeout.
            let at = if self.serving.is_some() {
                now
            } else {
                started_at.saturating_add(timeout).max(now)
            };
            if at <= self.horizon {
                self.schedule(at, Event::ActivityTimeout { act, epoch });
            }
        }
        for pool in released {
            self.release_connection(pool);
        }
    }
}

/// Whether attempt `act` runs on `inst` (its CPU part, its wait, or waiting for a tool
/// connection): what a crash of `inst` loses.
fn activity_on(acts: &Slab<Activity>, act: u32, inst: u32) -> bool {
    acts.is_live(act) && {
        let a = &acts[act];
        matches!(
            a.state,
            ActivityState::Cpu | ActivityState::Waiting | ActivityState::WaitingForConnection
        ) && a.inst == inst
    }
}
