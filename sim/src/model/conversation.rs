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
use crate::engine::rng::Rng;
use crate::scenario::{Traffic, TrafficProfile, Workload};
use rand_distr::{Distribution, Exp1};
use std::collections::VecDeque;

/// Key for a per-entity stream from up to three indexes.
pub fn key(a: u64, b: u64, c: u64) -> u64 {
    rng::mix64(rng::mix64(rng::mix64(a) ^ b) ^ c)
}

/// One workload's abandonment deadlines, one per customer message: `(deadline, conv, epoch)`
/// in deadline order (`abandon_after` is one value per workload, so deadlines come in the order
/// the messages do), with at most one `AbandonDue` event scheduled, at the deadline of the
/// oldest message still unanswered. Nearly every message is answered long before its deadline,
/// so rather than an event per message that almost always arrives stale, the workload has an
/// event about once per `abandon_after`, and the deadlines of answered messages are dropped
/// from the front when it fires. A message whose deadline would come before the last one queued
/// (a timeline `set` shortened `abandon_after`) gets its own `Abandon` event instead.
#[derive(Default)]
pub(super) struct AbandonDeadlines {
    queue: VecDeque<(Time, u32, u32)>,
    /// An `AbandonDue` event is scheduled (at the front's deadline or earlier).
    scheduled: bool,
}

/// One workload's arrival process: the pending arrival's remaining exponential mass (or the
/// next trace row) and the arrival counter that keys its conversations' draws.
pub(super) struct Arrivals {
    rng: Rng,
    epoch: u32,
    /// When the pending arrival's mass started counting: the last arrival or rate change.
    pub(super) from: Time,
    mass: f64,
    trace_next: usize,
    next_index: u64,
    /// A named workload's salt (from its name): its conversations' draw keys mix it in, so
    /// adding, removing or changing another workload never changes its customers.
    salt: Option<u64>,
}

impl Arrivals {
    pub(super) fn new(seed: u64, workload: &Workload) -> Self {
        let salt = workload.name.as_deref().map(name_salt);
        Arrivals {
            rng: rng::stream(seed, streams::ARRIVALS, salt.unwrap_or(0)),
            epoch: 0,
            from: 0,
            mass: 0.0,
            trace_next: 0,
            next_index: 0,
            salt,
        }
    }

    /// The next conversation's draw key.
    fn next_key(&mut self) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        match self.salt {
            None => index,
            Some(salt) => key(salt, index, 0),
        }
    }
}

/// A stable 64-bit salt from a workload's name (never 0, the unnamed workload's arrivals key).
fn name_salt(name: &str) -> u64 {
    let folded = name.bytes().fold(0x005E_ED0F_3A17_0AD5_u64, |h, b| {
        rng::mix64(h ^ u64::from(b))
    });
    folded | 1
}

impl Model {
    pub(super) fn schedule_first_arrival(&mut self, workload: u32) {
        let a = &mut self.arrivals[workload as usize];
        a.from = 0;
        a.mass = Exp1.sample(&mut a.rng);
        self.schedule_next_arrival(workload);
    }

    /// Schedules `workload`'s pending arrival from its `from` and `mass` under the current
    /// rate (or the next trace timestamp).
    pub(super) fn schedule_next_arrival(&mut self, workload: u32) {
        let w = workload as usize;
        let a = &mut self.arrivals[w];
        a.epoch = a.epoch.wrapping_add(1);
        let (epoch, from, mass, trace_next) = (a.epoch, a.from, a.mass, a.trace_next);
        let traffic = &self.cfg.workloads[w].traffic;
        let at = match &traffic.profile {
            TrafficProfile::Trace { arrivals, .. } => arrivals
                .get(trace_next)
                .copied()
                .filter(|&at| at <= self.horizon)
                .map(|at| at.max(self.now())),
            profile => traffic::time_of_mass(
                profile,
                traffic.multiplier,
                from,
                mass,
                self.horizon.saturating_add(1),
            ),
        };
        if let Some(at) = at {
            self.schedule(at, Event::Arrival { workload, epoch });
        }
    }

    /// Called when `workload`'s traffic changes at `now` (from `old`): the process stays
    /// exactly Poisson. Under a rate, the pending arrival keeps the mass it still needs, measured
    /// under the old profile and multiplier up to now; from a trace to a rate, a fresh mass
    /// from now (memoryless); to a new trace, the trace's arrivals from now on.
    pub(super) fn reschedule_arrival_after_rate_change(&mut self, workload: u32, old: &Traffic) {
        let w = workload as usize;
        let now = self.now();
        let new_profile = &self.cfg.workloads[w].traffic.profile;
        let a = &mut self.arrivals[w];
        match (&old.profile, new_profile) {
            (_, TrafficProfile::Trace { arrivals, .. }) => {
                if old.profile == *new_profile {
                    // Only the multiplier changed, which a trace ignores.
                    return;
                }
                a.trace_next = arrivals.partition_point(|&at| at < now);
            }
            (TrafficProfile::Trace { .. }, _) => {
                a.from = now;
                a.mass = Exp1.sample(&mut a.rng);
            }
            (old_profile, _) => {
                let consumed = traffic::mass_between(old_profile, old.multiplier, a.from, now);
                a.mass = (a.mass - consumed).max(0.0);
                a.from = now;
            }
        }
        self.schedule_next_arrival(workload);
    }

    pub(super) fn on_arrival(&mut self, workload: u32, epoch: u32) {
        let w = workload as usize;
        if epoch != self.arrivals[w].epoch {
            return;
        }
        let now = self.now();
        let trace = matches!(
            self.cfg.workloads[w].traffic.profile,
            TrafficProfile::Trace { .. }
        );
        let a = &mut self.arrivals[w];
        if trace {
            a.trace_next += 1;
        } else {
            a.from = now;
            a.mass = Exp1.sample(&mut a.rng);
        }
        let index = a.next_key();
        self.schedule_next_arrival(workload);
        self.start_conversation(now, workload, index);
    }

    fn start_conversation(&mut self, now: Time, workload: u32, index: u64) {
        let w = workload as usize;
        let mut shape = self.draws(streams::SHAPE, index);
        let messages =
            dist::sample_count(&self.cfg.workloads[w].conversation.messages, &mut shape).max(1);
        let messages_total = u32::try_from(messages).unwrap_or(u32::MAX);
        let conv = self.convs.insert_with(|previous| Conv {
            epoch: previous.map_or(0, |p| p.epoch.wrapping_add(1)),
            index,
            workload,
            arrived_at: now,
            parent: NONE,
            messages_total,
            messages_sent: 0,
            message: MessageState::None,
            message_received_at: 0,
            done_talking: false,
            timer_pending: false,
            turn_running: false,
            tool_failed: false,
            replanned: false,
            carried_output_tokens: 0,
            session: SessionState::None,
            session_inst: NONE,
            session_gen: 0,
            request_at: 0,
            request_epoch: previous.map_or(0, |p| p.request_epoch.wrapping_add(1)),
        });
        if self.convs.len() as u64 > self.cfg.run.max_open_conversations {
            self.limits_due = true;
        }
        let parent = self.wfs.insert_with(|previous| {
            let mut wf = Workflow::new(WorkflowKind::Parent, conv, index, previous);
            wf.workload = workload;
            // Started and its first workflow task: signal-with-start.
            wf.history_events = 1;
            wf
        });
        self.convs[conv].parent = parent;
        self.stats.conversations.arrive(now);
        self.stats.conversations_started += 1;
        if let Some(acc) = self.stats.workloads.get_mut(w) {
            acc.conversations_started += 1;
        }
        if self.record_workload {
            self.workload.push(WorkloadRecord {
                workload,
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
        let w = self.convs[conv].workload as usize;
        let abandon_after = self.cfg.workloads[w].conversation.abandon_after;
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
        if let Some(acc) = self.stats.workloads.get_mut(w) {
            acc.messages_received += 1;
        }
        self.schedule_abandonment(w, now.saturating_add(abandon_after), conv, epoch);
        // Signaled, plus the timer's cancellation when the customer came back in time.
        self.wfs[parent].history_events += 1 + u32::from(cancels_timer);
        if self.is_request_mode() && !self.request_for_message(conv) {
            return;
        }
        self.deliver_message(conv);
    }

    /// The message reaches the parent workflow (in request mode, once its request holds a
    /// slot).
    pub(super) fn deliver_message(&mut self, conv: u32) {
        let parent = self.convs[conv].parent;
        self.wfs[parent].inbox |= INBOX_MESSAGE;
        self.schedule_workflow_task(parent);
    }

    /// The message `(conv, epoch)` is abandoned at `deadline` unless answered by then: queued
    /// with its workload's deadlines (see `AbandonDeadlines`). A deadline beyond the horizon
    /// could not be observed and is not kept.
    fn schedule_abandonment(&mut self, workload: usize, deadline: Time, conv: u32, epoch: u32) {
        if deadline > self.horizon {
            return;
        }
        let deadlines = &mut self.abandons[workload];
        if deadlines
            .queue
            .back()
            .is_some_and(|&(last, _, _)| last > deadline)
        {
            self.schedule(deadline, Event::Abandon { conv, epoch });
            return;
        }
        deadlines.queue.push_back((deadline, conv, epoch));
        if !std::mem::replace(&mut deadlines.scheduled, true) {
            self.schedule(
                deadline,
                Event::AbandonDue {
                    workload: workload as u32,
                },
            );
        }
    }

    /// Whether the message `(conv, epoch)` is still waiting for its reply: an `Abandon` for it
    /// would act. Once false it stays false (the epoch only grows).
    fn awaiting_reply(&self, conv: u32, epoch: u32) -> bool {
        self.convs.is_live(conv)
            && self.convs[conv].epoch == epoch
            && self.convs[conv].message == MessageState::InFlight
    }

    /// A workload's oldest unanswered deadline is due: abandon every message due now, drop the
    /// answered ones ahead of the next unanswered, and schedule the event again for it.
    pub(super) fn on_abandon_due(&mut self, workload: u32) {
        let w = workload as usize;
        self.abandons[w].scheduled = false;
        let now = self.now();
        while let Some(&(deadline, conv, epoch)) = self.abandons[w].queue.front() {
            if !self.awaiting_reply(conv, epoch) {
                self.abandons[w].queue.pop_front();
                continue;
            }
            if deadline > now {
                if !std::mem::replace(&mut self.abandons[w].scheduled, true) {
                    self.schedule(deadline, Event::AbandonDue { workload });
                }
                return;
            }
            assert_eq!(
                deadline, now,
                "an unanswered abandonment deadline was passed over"
            );
            self.abandons[w].queue.pop_front();
            self.on_abandon(conv, epoch);
        }
    }

    pub(super) fn on_abandon(&mut self, conv: u32, epoch: u32) {
        if !self.convs.is_live(conv) {
            return;
        }
        let c = &mut self.convs[conv];
        if c.epoch != epoch || c.message != MessageState::InFlight {
            return;
        }
        if self.is_request_mode() && self.withdraw_request(conv) {
            return;
        }
        let c = &mut self.convs[conv];
        c.message = MessageState::Done;
        c.done_talking = true;
        let received_at = c.message_received_at;
        let w = c.workload as usize;
        self.stats.messages.depart(self.now(), received_at);
        self.stats.messages_unanswered += 1;
        self.stats.interval_messages_unanswered += 1;
        if let Some(acc) = self.stats.workloads.get_mut(w) {
            acc.messages_unanswered += 1;
        }
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
        let workload = self.convs[conv].workload;
        let root = self.program.roots[workload as usize];
        let parent_gen = self.wfs[parent].generation;
        self.convs[conv].turn_running = true;
        let child = self.wfs.insert_with(|previous| {
            let mut wf = Workflow::new(
                WorkflowKind::Child { parent, turn },
                conv,
                conv_index,
                previous,
            );
            wf.workload = workload;
            wf.parent_gen = parent_gen;
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
        if self.is_request_mode() && self.session_per_turn() {
            self.release_session(conv);
        }
        self.wfs[parent].turns_done += 1;
        self.convs[conv].turn_running = false;
        self.stats.turns += 1;
        let w = self.convs[conv].workload as usize;
        let budget = self.cfg.workloads[w].conversation.response_budget;
        let c = &mut self.convs[conv];
        if c.message == MessageState::InFlight {
            c.message = MessageState::Done;
            let received_at = c.message_received_at;
            self.stats.messages.depart(now, received_at);
            if ok {
                self.stats.messages_answered += 1;
                let within = if received_at >= warmup {
                    let latency = now - received_at;
                    self.stats.record_response(latency);
                    self.stats.turns_answered_after_warmup += 1;
                    let within = budget.is_some_and(|budget| latency <= budget);
                    self.stats.turns_within_budget += u64::from(within);
                    self.stats.turns_budgeted_after_warmup += u64::from(budget.is_some());
                    Some((latency, within))
                } else {
                    None
                };
                if let Some(acc) = self.stats.workloads.get_mut(w) {
                    acc.answered(within);
                }
            } else {
                // The turn failed for good: the customer got no answer.
                self.stats.messages_unanswered += 1;
                self.stats.interval_messages_unanswered += 1;
                if let Some(acc) = self.stats.workloads.get_mut(w) {
                    acc.messages_unanswered += 1;
                }
                self.convs[conv].done_talking = true;
            }
        }
        self.after_reply(parent, conv)
    }

    /// The customer thinks, then writes again or goes quiet; the workflow sets its idle timer.
    /// With an idle timeout of zero and nothing more to come, no timer is set and the workflow
    /// completes in the same task (returns true).
    fn after_reply(&mut self, parent: u32, conv: u32) -> bool {
        let c = &self.convs[conv];
        let conversation = &self.cfg.workloads[c.workload as usize].conversation;
        let idle_timeout = conversation.idle_timeout;
        let more = !c.done_talking && c.messages_sent < c.messages_total;
        let think = if more {
            let stream_key = key(c.index, c.messages_sent as u64, 0);
            let mut draws = self.draws(streams::THINK, stream_key);
            let think = dist::sample_nanos(&conversation.think_time, &mut draws);
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

    pub(super) fn complete_conversation(&mut self, parent: u32, conv: u32) {
        if self.is_request_mode() {
            self.release_session(conv);
        }
        let now = self.now();
        let arrived_at = self.convs[conv].arrived_at;
        self.stats.conversations.depart(now, arrived_at);
        self.stats.conversations_completed += 1;
        let c = &self.convs[conv];
        self.stats.conversations_with_tool_failure += u64::from(c.tool_failed);
        self.stats.conversations_with_replan += u64::from(c.replanned);
        if let Some(w) = self.stats.workloads.get_mut(c.workload as usize) {
            w.conversations_completed += 1;
            w.conversations_with_tool_failure += u64::from(c.tool_failed);
            w.conversations_with_replan += u64::from(c.replanned);
        }
        self.wfs[parent].history_events += 1; // WorkflowExecutionCompleted
        self.convs.remove(conv);
    }
}
