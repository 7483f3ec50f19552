//! Request mode (`[serving] mode = "request"`): the fleet serves requests instead of polling
//! task queues. A request is one customer turn (`session = "turn"`) or a whole conversation
//! such as a voice call (`session = "conversation"`); it holds one of an instance's
//! `max_concurrency` request slots from the moment it is admitted to its end (the reply, or the
//! conversation's end), and the agent's program runs inside it, on that instance: its steps'
//! CPU and memory land there, its workflow tasks cost nothing and take no time (there is no
//! Temporal service: the code simply runs), and no worker slot or task queue stands between a
//! step and its start.
//!
//! Routing: a request goes to the running instance with the fewest sessions that has a free
//! slot (ties to the lowest instance id): least-outstanding-requests balancing, the rule
//! Kubernetes gateways and Envoy's `LEAST_REQUEST` use; Cloud Run does not document its
//! balancer. When every slot is taken the request waits, first come first served, for at most
//! `max_wait`, and is then rejected (the 429 or 503 the customer sees; with `max_wait = "0s"` at
//! once). A waiting customer who gives up (`abandon_after`) withdraws the request. A slot that
//! frees, or an instance that becomes ready, takes the oldest waiting request.
//!
//! An instance that dies (OOM kill, or the end of a scale-in's grace period) drops the sessions
//! on it: their steps in flight fail at once (the connection is gone, the client sees it), no
//! retry is attempted outside a live session, and the customer's turn goes unanswered; a
//! dropped conversation session (a call) ends: at once between turns, or once the failed turn
//! has reported (a turn whose caller hung up still runs, and reports to its workflow). With no
//! instance at all (scaled to zero), a request starts one at once (Cloud Run's scale from zero).

use super::Model;
use super::autoscaler::Observed;
use super::state::*;
use super::stats::Integral;
use crate::engine::slab::Slab;
use crate::metrics::histogram::LatencyHistogram;
use crate::metrics::report::RequestSummary;
use crate::scenario::{Autoscaler, SessionScope};
use std::collections::VecDeque;

/// The request side of the fleet: the wait queue, the counts and the demand the autoscaler
/// sees.
pub(super) struct ServingState {
    /// Requests waiting for a slot, oldest first: (conversation, request epoch). Entries whose
    /// request has since been admitted, rejected or withdrawn are skipped when popped.
    pending: VecDeque<(u32, u32)>,
    pub waiting: u64,
    pub held: u64,
    /// Requests held or waiting, over time: Cloud Run's concurrency signal.
    pub demand: Integral,
    /// Sessions held, over time.
    held_time: Integral,
    held_max: u64,
    requests: u64,
    admitted: u64,
    rejected: u64,
    withdrawn: u64,
    dropped: u64,
    /// Requests that came after warm-up, and those of them rejected.
    requests_after_warmup: u64,
    rejected_after_warmup: u64,
    /// Wait for a slot of admitted requests (after warm-up, by when the wait ended).
    wait: LatencyHistogram,
    pub interval_rejected: u64,
}

impl ServingState {
    /// The bytes its queue holds, for the run's memory check.
    pub(super) fn footprint(&self) -> usize {
        self.pending.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    pub fn new() -> Self {
        ServingState {
            pending: VecDeque::new(),
            waiting: 0,
            held: 0,
            demand: Integral::default(),
            held_time: Integral::default(),
            held_max: 0,
            requests: 0,
            admitted: 0,
            rejected: 0,
            withdrawn: 0,
            dropped: 0,
            requests_after_warmup: 0,
            rejected_after_warmup: 0,
            wait: LatencyHistogram::new(3),
            interval_rejected: 0,
        }
    }
}

impl Model {
    #[inline]
    pub(super) fn is_request_mode(&self) -> bool {
        self.serving.is_some()
    }

    fn session_scope(&self) -> SessionScope {
        self.cfg
            .serving
            .request
            .as_ref()
            .map_or(SessionScope::Turn, |r| r.session)
    }

    /// The instance holding `conv`'s session, if the session and its instance are alive. `conv`
    /// and `conv_index` come from an activity, whose conversation may have ended.
    pub(super) fn session_instance(&self, conv: u32, conv_index: u64) -> Option<u32> {
        if !self.convs.is_live(conv) {
            return None;
        }
        let c = &self.convs[conv];
        if c.index != conv_index || c.session != SessionState::Held {
            return None;
        }
        let instance = &self.instances[c.session_inst as usize];
        let alive = instance.generation == c.session_gen
            && matches!(
                instance.state,
                InstanceState::Running | InstanceState::Draining
            );
        alive.then_some(c.session_inst)
    }

    /// A customer message reached the service. Returns whether it may go to the agent now (it
    /// rides a session already held); otherwise it has become a request that is admitted
    /// (the message is delivered then), waits, or is rejected.
    pub(super) fn request_for_message(&mut self, conv: u32) -> bool {
        if self.convs[conv].session == SessionState::Held {
            return true;
        }
        let now = self.now();
        let warmup = self.cfg.run.warmup;
        let serving = self.serving.as_mut().expect("request mode");
        serving.requests += 1;
        if now >= warmup {
            serving.requests_after_warmup += 1;
        }
        self.convs[conv].request_at = now;
        if let Some(inst) = self.route() {
            self.serving_mut().demand.change(now, 1);
            self.bind(conv, inst);
            return true;
        }
        self.scale_from_zero();
        let max_wait = self.cfg.serving.request.as_ref().map_or(0, |r| r.max_wait);
        if max_wait == 0 {
            self.reject(conv);
            return false;
        }
        let c = &mut self.convs[conv];
        c.session = SessionState::Waiting;
        c.request_epoch = c.request_epoch.wrapping_add(1);
        let epoch = c.request_epoch;
        let serving = self.serving_mut();
        serving.pending.push_back((conv, epoch));
        serving.waiting += 1;
        serving.demand.change(now, 1);
        self.schedule_within_horizon(max_wait, Event::RequestTimeout { conv, epoch });
        false
    }

    fn serving_mut(&mut self) -> &mut ServingState {
        self.serving.as_mut().expect("request mode")
    }

    /// The running instance with a free slot and the fewest sessions (lowest id on ties).
    fn route(&self) -> Option<u32> {
        let mut best: Option<(u32, u32)> = None;
        for (index, instance) in self.instances.iter().enumerate() {
            if instance.state == InstanceState::Running
                && instance.sessions < instance.spec.max_concurrency
                && best.is_none_or(|(_, sessions)| instance.sessions < sessions)
            {
                best = Some((index as u32, instance.sessions));
            }
        }
        best.map(|(index, _)| index)
    }

    /// Gives `conv` a slot on `inst` (its demand is already counted).
    fn bind(&mut self, conv: u32, inst: u32) {
        let now = self.now();
        let warmup = self.cfg.run.warmup;
        let instance = &mut self.instances[inst as usize];
        instance.sessions += 1;
        let generation = instance.generation;
        let c = &mut self.convs[conv];
        c.session = SessionState::Held;
        c.session_inst = inst;
        c.session_gen = generation;
        let convs = &self.convs;
        self.instances[inst as usize]
            .sessions_here
            .push(conv, |id| session_on(convs, id, inst, generation));
        let c = &self.convs[conv];
        let waited = now - c.request_at;
        let serving = self.serving.as_mut().expect("request mode");
        serving.admitted += 1;
        serving.held += 1;
        serving.held_max = serving.held_max.max(serving.held);
        serving.held_time.change(now, 1);
        if now >= warmup {
            serving.wait.record(waited);
        }
    }

    /// A waiting request's time is up: it is rejected.
    pub(super) fn on_request_timeout(&mut self, conv: u32, epoch: u32) {
        if !self.convs.is_live(conv)
            || self.convs[conv].request_epoch != epoch
            || self.convs[conv].session != SessionState::Waiting
        {
            return;
        }
        self.stop_waiting(conv);
        self.reject(conv);
    }

    fn stop_waiting(&mut self, conv: u32) {
        let now = self.now();
        let c = &mut self.convs[conv];
        c.session = SessionState::None;
        c.request_epoch = c.request_epoch.wrapping_add(1);
        let serving = self.serving_mut();
        serving.waiting = (serving.waiting.checked_sub(1))
            .expect("waiting counts the requests waiting for a slot");
        serving.demand.change(now, -1);
    }

    /// The customer gets a 429/503: the message goes unanswered and the conversation ends.
    fn reject(&mut self, conv: u32) {
        let warmup = self.cfg.run.warmup;
        let request_at = self.convs[conv].request_at;
        let serving = self.serving_mut();
        serving.rejected += 1;
        serving.interval_rejected += 1;
        if request_at >= warmup {
            serving.rejected_after_warmup += 1;
        }
        self.end_unserved(conv);
    }

    /// A customer who gave up while their request waited withdraws it; the conversation ends.
    /// Returns whether it did (the request was waiting).
    pub(super) fn withdraw_request(&mut self, conv: u32) -> bool {
        if self.convs[conv].session != SessionState::Waiting {
            return false;
        }
        self.stop_waiting(conv);
        self.serving_mut().withdrawn += 1;
        self.end_unserved(conv);
        true
    }

    /// Ends a conversation whose message never reached the agent: the message (if still open)
    /// is unanswered, and the parent workflow, idle, completes with it.
    fn end_unserved(&mut self, conv: u32) {
        let now = self.now();
        let c = &mut self.convs[conv];
        c.done_talking = true;
        // Cancels the customer's pending events (abandonment, next message).
        c.epoch = c.epoch.wrapping_add(1);
        if c.message == MessageState::InFlight {
            c.message = MessageState::Done;
            let (received_at, w) = (c.message_received_at, c.workload as usize);
            self.stats.messages.depart(now, received_at);
            self.stats.messages_unanswered += 1;
            self.stats.interval_messages_unanswered += 1;
            if let Some(acc) = self.stats.workloads.get_mut(w) {
                acc.messages_unanswered += 1;
            }
        }
        let parent = self.convs[conv].parent;
        debug_assert_eq!(self.wfs[parent].task, TaskState::Idle);
        self.complete_conversation(parent, conv);
        self.remove_workflow(parent);
    }

    /// The request ends (turn mode: the reply; conversation mode: the conversation's end): its
    /// slot goes to the oldest waiting request.
    pub(super) fn release_session(&mut self, conv: u32) {
        if self.convs[conv].session != SessionState::Held {
            return;
        }
        let now = self.now();
        let c = &mut self.convs[conv];
        c.session = SessionState::None;
        let (inst, generation) = (c.session_inst, c.session_gen);
        c.session_inst = NONE;
        let serving = self.serving_mut();
        serving.held = (serving.held.checked_sub(1)).expect("held counts the sessions held");
        serving.held_time.change(now, -1);
        serving.demand.change(now, -1);
        let instance = &mut self.instances[inst as usize];
        if instance.generation != generation {
            return;
        }
        instance.sessions = (instance.sessions.checked_sub(1))
            .expect("an instance's sessions count the sessions bound to it");
        self.admit_waiting(inst);
        self.stop_if_drained(inst);
    }

    /// Whether the turn-mode session of `conv` ends with its reply.
    pub(super) fn session_per_turn(&self) -> bool {
        self.session_scope() == SessionScope::Turn
    }

    /// `inst` has free slots (one freed, or it became ready): the oldest waiting requests take
    /// them.
    pub(super) fn admit_waiting(&mut self, inst: u32) {
        loop {
            let instance = &self.instances[inst as usize];
            if instance.state != InstanceState::Running
                || instance.sessions >= instance.spec.max_concurrency
            {
                return;
            }
            let Some((conv, epoch)) = self.serving_mut().pending.pop_front() else {
                return;
            };
            if !self.convs.is_live(conv)
                || self.convs[conv].request_epoch != epoch
                || self.convs[conv].session != SessionState::Waiting
            {
                continue;
            }
            let c = &mut self.convs[conv];
            c.request_epoch = c.request_epoch.wrapping_add(1);
            let serving = self.serving_mut();
            serving.waiting = (serving.waiting.checked_sub(1))
                .expect("waiting counts the requests waiting for a slot");
            self.bind(conv, inst);
            self.deliver_message(conv);
        }
    }

    /// `inst` dies: the sessions on it are dropped. Their steps in flight fail at once (see
    /// `lose_activities`); a conversation session between turns ends now.
    pub(super) fn drop_sessions(&mut self, inst: u32) {
        let generation = self.instances[inst as usize].generation;
        let now = self.now();
        let convs = &self.convs;
        let dropped = self.instances[inst as usize]
            .sessions_here
            .take(|conv| session_on(convs, conv, inst, generation));
        self.instances[inst as usize].sessions = 0;
        for conv in dropped {
            let c = &mut self.convs[conv];
            c.session = SessionState::None;
            c.session_inst = NONE;
            // Not only an unanswered message: an abandoned one leaves its turn running, and the
            // conversation must not end under it (its child would report to a freed parent).
            let between_turns = c.message != MessageState::InFlight && !c.turn_running;
            let serving = self.serving_mut();
            serving.held = (serving.held.checked_sub(1)).expect("held counts the sessions held");
            serving.held_time.change(now, -1);
            serving.demand.change(now, -1);
            serving.dropped += 1;
            if self.session_scope() == SessionScope::Conversation {
                let parent = self.convs[conv].parent;
                if between_turns && self.wfs[parent].task == TaskState::Idle {
                    self.end_unserved(conv);
                } else {
                    // The turn in flight fails; the customer says no more.
                    self.convs[conv].done_talking = true;
                }
            }
        }
    }

    /// Scaled to zero, a request starts an instance at once.
    fn scale_from_zero(&mut self) {
        if matches!(self.cfg.autoscaler, Autoscaler::Fixed { .. }) {
            return;
        }
        let (_, total) = self.counted_instances();
        let (_, max) = self.cfg.autoscaler.max_instances_key();
        if total == 0 && max > 0 {
            self.stats.instances_desired = self.stats.instances_desired.max(1);
            self.scale_to(1, 0, Observed::Requests(1.0));
        }
    }

    /// The requests held or waiting, integrated over time (request-nanoseconds).
    pub(super) fn demand_area(&mut self) -> u128 {
        let now = self.now();
        match self.serving.as_mut() {
            Some(serving) => serving.demand.area_at(now),
            None => 0,
        }
    }

    /// The summary's `requests` section (request mode only).
    pub(super) fn request_summary(&mut self) -> Option<RequestSummary> {
        let horizon = self.horizon;
        let request = self.cfg.serving.request.clone()?;
        let serving = self.serving.as_mut()?;
        let fraction = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                part as f64 / whole as f64
            }
        };
        Some(RequestSummary {
            session: match request.session {
                SessionScope::Turn => "turn".into(),
                SessionScope::Conversation => "conversation".into(),
            },
            max_concurrency: request.max_concurrency,
            requests: serving.requests,
            admitted: serving.admitted,
            rejected: serving.rejected,
            withdrawn: serving.withdrawn,
            dropped: serving.dropped,
            waiting_at_end: serving.waiting,
            rejected_fraction: fraction(
                serving.rejected_after_warmup,
                serving.requests_after_warmup,
            ),
            wait_s: serving.wait.stats(),
            concurrency_mean: if horizon == 0 {
                0.0
            } else {
                serving.held_time.area_at(horizon) as f64 / horizon as f64
            },
            concurrency_max: serving.held_max,
        })
    }

    /// Sessions held on instances against the conversations holding them, by a scan: the
    /// end-of-run check of the counters.
    pub(super) fn check_sessions(&self) -> Result<(), String> {
        let Some(serving) = &self.serving else {
            return Ok(());
        };
        let mut per_instance = vec![0u32; self.instances.len()];
        let (mut held, mut waiting) = (0u64, 0u64);
        for conv in self.convs.ids() {
            let c = &self.convs[conv];
            match c.session {
                SessionState::Held => {
                    held += 1;
                    let instance = &self.instances[c.session_inst as usize];
                    if instance.generation == c.session_gen {
                        per_instance[c.session_inst as usize] += 1;
                    }
                }
                SessionState::Waiting => waiting += 1,
                SessionState::None => {}
            }
        }
        if held != serving.held || waiting != serving.waiting {
            return Err(format!(
                "sessions held {} and waiting {} counted, {held} and {waiting} found",
                serving.held, serving.waiting
            ));
        }
        for (index, instance) in self.instances.iter().enumerate() {
            if instance.sessions != per_instance[index] {
                return Err(format!(
                    "instance {index} counts {} sessions, {} conversations hold one there",
                    instance.sessions, per_instance[index]
                ));
            }
        }
        Ok(())
    }
}

/// Whether `conv` holds a session on `inst` in its `generation`: what a crash of it drops.
fn session_on(convs: &Slab<Conv>, conv: u32, inst: u32, generation: u32) -> bool {
    convs.is_live(conv) && {
        let c = &convs[conv];
        c.session == SessionState::Held && c.session_inst == inst && c.session_gen == generation
    }
}
