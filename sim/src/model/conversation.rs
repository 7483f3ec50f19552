//! Traffic and the customer's side: conversation arrivals, messages, think time, abandonment,
//! the idle timer, and what the parent workflow does when its task runs (start a response
//! child, send the reply, complete).
//!
//! Workload draws (number of messages, think times, tokens) come from streams keyed by the
//! conversation's arrival index, never from shared sequential streams, so two fleets with the
//! same seed see exactly the same customers whatever their timing (common random numbers).

use super::state::*;
use super::{Model, WorkloadRecord, dist, program, streams, traffic};
use crate::engine::Time;
use crate::engine::rng;
use crate::scenario::TrafficProfile;
use rand_distr::{Distribution, Exp1};

/// Key for a per-entity stream from up to three indexes.
pub fn key(a: u64, b: u64, c: u64) -> u64 {
    rng::mix64(rng::mix64(rng::mix64(a) ^ b) ^ c)
}

impl Model {
    pub(super) fn schedule_first_arrival(&mut self) {
        self.arrival_from = 0;
        self.arrival_mass = Exp1.sample(&mut self.arrival_rng);
        self.schedule_next_arrival();
    }

    /// Schedules the pending arrival from `arrival_from` and `arrival_mass` under the current
    /// rate (or the next trace timestamp).
    pub(super) fn schedule_next_arrival(&mut self) {
        self.arrival_epoch = self.arrival_epoch.wrapping_add(1);
        let epoch = self.arrival_epoch;
        let at = match &self.cfg.traffic.profile {
            TrafficProfile::Trace { arrivals, .. } => arrivals
                .get(self.arrival_trace_next)
                .copied()
                .filter(|&at| at <= self.horizon)
                .map(|at| at.max(self.now())),
            profile => traffic::time_of_mass(
                profile,
                self.cfg.traffic.multiplier,
                self.arrival_from,
                self.arrival_mass,
                self.horizon.saturating_add(1),
            ),
        };
        if let Some(at) = at {
            self.schedule(at, Event::Arrival { epoch });
        }
    }

    /// Called when the rate changes at `now`: the pending arrival keeps the mass it still
    /// needs, under the new rate.
    pub(super) fn reschedule_arrival_after_rate_change(&mut self, old_multiplier: f64) {
        if matches!(self.cfg.traffic.profile, TrafficProfile::Trace { .. }) {
            return;
        }
        let now = self.now();
        let consumed = traffic::mass_between(
            &self.cfg.traffic.profile,
            old_multiplier,
            self.arrival_from,
            now,
        );
        self.arrival_mass = (self.arrival_mass - consumed).max(0.0);
        self.arrival_from = now;
        self.schedule_next_arrival();
    }

    pub(super) fn on_arrival(&mut self, epoch: u32) {
        if epoch != self.arrival_epoch {
            return;
        }
        let now = self.now();
        if matches!(self.cfg.traffic.profile, TrafficProfile::Trace { .. }) {
            self.arrival_trace_next += 1;
        } else {
            self.arrival_from = now;
            self.arrival_mass = Exp1.sample(&mut self.arrival_rng);
        }
        self.schedule_next_arrival();
        self.start_conversation(now);
    }

    fn start_conversation(&mut self, now: Time) {
        let index = self.next_conversation_index;
        self.next_conversation_index += 1;
        let mut shape = rng::stream(self.seed, streams::SHAPE, index);
        let messages = dist::sample_count(&self.cfg.conversation.messages, &mut shape).max(1);
        let messages_total = u32::try_from(messages).unwrap_or(u32::MAX);
        let conv = self.convs.insert_with(|previous| Conv {
            epoch: previous.map_or(0, |p| p.epoch.wrapping_add(1)),
            index,
            arrived_at: now,
            parent: NONE,
            messages_total,
            messages_sent: 0,
            message: MessageState::None,
            message_received_at: 0,
            done_talking: false,
            timer_pending: false,
            tool_failed: false,
            replanned: false,
            carried_output_tokens: 0,
        });
        let parent = self.wfs.insert_with(|previous| {
            let mut wf = Workflow::new(WorkflowKind::Parent, conv, index, previous);
            // Started and its first workflow task: signal-with-start.
            wf.history_events = 1;
            wf
        });
        self.convs[conv].parent = parent;
        self.stats.conversations.arrive(now);
        self.stats.conversations_started += 1;
        if self.record_workload {
            self.workload.push(WorkloadRecord {
                index,
                arrived_at: now,
                messages: messages_total,
                think_times: Vec::new(),
            });
        }
        self.receive_message(conv);
    }

    pub(super) fn on_customer_message(&mut self, conv: u32, epoch: u32) {
        if !self.convs.is_live(conv) || self.convs[conv].epoch != epoch {
            return;
        }
        self.receive_message(conv);
    }

    /// A customer message reaches the parent workflow as a signal.
    fn receive_message(&mut self, conv: u32) {
        let now = self.now();
        let abandon_after = self.cfg.conversation.abandon_after;
        let c = &mut self.convs[conv];
        c.messages_sent += 1;
        c.message = MessageState::InFlight;
        c.message_received_at = now;
        c.epoch = c.epoch.wrapping_add(1);
        let epoch = c.epoch;
        let parent = c.parent;
        let cancels_timer = std::mem::replace(&mut c.timer_pending, false);
        self.stats.messages.arrive(now);
        self.stats.messages_received += 1;
        self.stats.interval_messages_received += 1;
        self.schedule_within_horizon(abandon_after, Event::Abandon { conv, epoch });
        let wf = &mut self.wfs[parent];
        // Signaled, plus the timer's cancellation when the customer came back in time.
        wf.history_events += 1 + u32::from(cancels_timer);
        wf.inbox |= INBOX_MESSAGE;
        self.schedule_workflow_task(parent);
    }

    pub(super) fn on_abandon(&mut self, conv: u32, epoch: u32) {
        if !self.convs.is_live(conv) {
            return;
        }
        let c = &mut self.convs[conv];
        if c.epoch != epoch || c.message != MessageState::InFlight {
            return;
        }
        c.message = MessageState::Done;
        c.done_talking = true;
        let received_at = c.message_received_at;
        self.stats.messages.depart(self.now(), received_at);
        self.stats.messages_unanswered += 1;
        self.stats.interval_messages_unanswered += 1;
    }

    pub(super) fn on_idle_timer(&mut self, conv: u32, epoch: u32) {
        if !self.convs.is_live(conv) || self.convs[conv].epoch != epoch {
            return;
        }
        let c = &mut self.convs[conv];
        if !c.timer_pending {
            return;
        }
        c.timer_pending = false;
        let parent = c.parent;
        let wf = &mut self.wfs[parent];
        wf.history_events += 1; // TimerFired
        wf.inbox |= INBOX_TIMER;
        self.schedule_workflow_task(parent);
    }

    /// The parent's workflow task has run on `inst`: act on what it processed. Returns whether
    /// the workflow completed.
    pub(super) fn complete_parent_task(&mut self, wf: u32, processing: u8) -> bool {
        let conv = self.wfs[wf].conv;
        if processing & INBOX_MESSAGE != 0 {
            self.start_response_child(wf, conv);
        }
        if processing & (INBOX_CHILD_DONE | INBOX_CHILD_FAILED) != 0
            && self.send_reply(wf, conv, processing & INBOX_CHILD_DONE != 0)
        {
            // Nothing more will come and there is no idle time to wait: done in this task.
            self.complete_conversation(wf, conv);
            return true;
        }
        // The idle timer fired and no message came since: the conversation is over. (A timer
        // only runs after a reply, so no child is running then.)
        let message_pending = self.convs[conv].message == MessageState::InFlight
            || (processing | self.wfs[wf].inbox) & INBOX_MESSAGE != 0;
        if processing & INBOX_TIMER != 0 && !message_pending {
            self.complete_conversation(wf, conv);
            return true;
        }
        false
    }

    fn start_response_child(&mut self, parent: u32, conv: u32) {
        let turn = self.convs[conv].messages_sent;
        let conv_index = self.convs[conv].index;
        let root = self.program.root;
        let child = self.wfs.insert_with(|previous| {
            let mut wf = Workflow::new(
                WorkflowKind::Child { parent, turn },
                conv,
                conv_index,
                previous,
            );
            wf.program_node = root;
            wf.program_key = program::ROOT_KEY;
            wf.history_events = 1; // WorkflowExecutionStarted
            wf.inbox = INBOX_START;
            wf
        });
        // StartChildWorkflowExecutionInitiated and ChildWorkflowExecutionStarted.
        self.wfs[parent].history_events += 2;
        self.schedule_workflow_task(child);
    }

    /// Returns whether the conversation is over at once (see `after_reply`).
    fn send_reply(&mut self, parent: u32, conv: u32, ok: bool) -> bool {
        let now = self.now();
        let warmup = self.cfg.run.warmup;
        self.wfs[parent].turns_done += 1;
        self.stats.turns += 1;
        let budget = self.cfg.conversation.response_budget;
        let c = &mut self.convs[conv];
        if c.message == MessageState::InFlight {
            c.message = MessageState::Done;
            let received_at = c.message_received_at;
            self.stats.messages.depart(now, received_at);
            if ok {
                self.stats.messages_answered += 1;
                if received_at >= warmup {
                    let latency = now - received_at;
                    self.stats.record_response(latency);
                    self.stats.turns_answered_after_warmup += 1;
                    if budget.is_some_and(|budget| latency <= budget) {
                        self.stats.turns_within_budget += 1;
                    }
                }
            } else {
                // The turn failed for good: the customer got no answer.
                self.stats.messages_unanswered += 1;
                self.stats.interval_messages_unanswered += 1;
                self.convs[conv].done_talking = true;
            }
        }
        self.after_reply(parent, conv)
    }

    /// The customer thinks, then writes again or goes quiet; the workflow sets its idle timer.
    /// With an idle timeout of zero and nothing more to come, no timer is set and the workflow
    /// completes in the same task (returns true).
    fn after_reply(&mut self, parent: u32, conv: u32) -> bool {
        let idle_timeout = self.cfg.conversation.idle_timeout;
        let c = &self.convs[conv];
        let more = !c.done_talking && c.messages_sent < c.messages_total;
        let think = if more {
            let stream_key = key(c.index, c.messages_sent as u64, 0);
            let mut draws = rng::stream(self.seed, streams::THINK, stream_key);
            let think = dist::sample_nanos(&self.cfg.conversation.think_time, &mut draws);
            if self.record_workload {
                let index = c.index;
                if let Some(record) = self.workload.iter_mut().rev().find(|r| r.index == index) {
                    record.think_times.push(think);
                }
            }
            Some(think)
        } else {
            None
        };
        if think.is_none_or(|think| think >= idle_timeout) && idle_timeout == 0 {
            self.convs[conv].done_talking = true;
            return true;
        }
        let c = &mut self.convs[conv];
        c.timer_pending = true;
        c.epoch = c.epoch.wrapping_add(1);
        let epoch = c.epoch;
        self.wfs[parent].history_events += 1; // TimerStarted
        match think {
            Some(think) if think < idle_timeout => {
                self.schedule_within_horizon(think, Event::CustomerMessage { conv, epoch });
            }
            _ => {
                self.convs[conv].done_talking = true;
                self.schedule_within_horizon(idle_timeout, Event::IdleTimer { conv, epoch });
            }
        }
        false
    }

    fn complete_conversation(&mut self, parent: u32, conv: u32) {
        let now = self.now();
        let arrived_at = self.convs[conv].arrived_at;
        self.stats.conversations.depart(now, arrived_at);
        self.stats.conversations_completed += 1;
        let c = &self.convs[conv];
        self.stats.conversations_with_tool_failure += u64::from(c.tool_failed);
        self.stats.conversations_with_replan += u64::from(c.replanned);
        self.wfs[parent].history_events += 1; // WorkflowExecutionCompleted
        self.convs.remove(conv);
    }
}
