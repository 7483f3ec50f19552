//! Temporal workflow tasks on workers: the normal and per-worker sticky task queues, the sticky
//! schedule-to-start fallback, workflow-task slots, the per-worker LRU sticky cache with its
//! memory, cache misses (history fetch then replay CPU), and the workflow task timeout after a
//! worker is lost.

use super::Model;
use super::state::*;
use crate::engine::Time;
use crate::engine::slab::Slab;

/// History events a workflow task adds: WorkflowTaskScheduled, Started, Completed.
const TASK_HISTORY_EVENTS: u32 = 3;

impl Model {
    /// Makes sure `wf` has a workflow task for what is in its inbox. A task already queued or
    /// running picks the inbox up when it completes.
    pub(super) fn schedule_workflow_task(&mut self, wf: u32) {
        if self.wfs[wf].task != TaskState::Idle {
            return;
        }
        if self.is_request_mode() {
            self.schedule_served_task(wf);
            return;
        }
        let now = self.now();
        let w = &mut self.wfs[wf];
        w.task_epoch = w.task_epoch.wrapping_add(1);
        w.task_scheduled_at = now;
        let epoch = w.task_epoch;
        let sticky = w.sticky_inst;
        if sticky == NONE {
            w.task = TaskState::QueuedNormal;
            self.workflow_tasks_queued += 1;
            self.enqueue_normal_workflow_task(wf, epoch);
            return;
        }
        w.task = TaskState::QueuedSticky;
        self.workflow_tasks_queued += 1;
        let sticky_gen = w.sticky_gen;
        let instance = &self.instances[sticky as usize];
        let alive = instance.generation == sticky_gen && instance.state == InstanceState::Running;
        if alive && instance.workflow_slots_used < instance.spec.workflow_slots {
            self.start_workflow_task(sticky, wf);
            return;
        }
        if alive {
            self.instances[sticky as usize]
                .sticky_queue
                .push_back((wf, epoch));
        }
        // A dead or busy worker's sticky queue: the service moves the task after the timeout.
        let timeout = self.cfg.temporal.sticky_schedule_to_start_timeout;
        self.schedule_within_horizon(timeout, Event::StickyTimeout { wf, epoch });
    }

    fn enqueue_normal_workflow_task(&mut self, wf: u32, epoch: u32) {
        if self.free_workflow_slots > 0
            && let Some(inst) = self.pick_worker(|i| i.workflow_slots_used < i.spec.workflow_slots)
        {
            self.start_workflow_task(inst, wf);
            return;
        }
        self.workflow_queue.push_back((wf, epoch));
    }

    pub(super) fn on_sticky_timeout(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf) {
            return;
        }
        let w = &mut self.wfs[wf];
        if w.task_epoch != epoch || w.task != TaskState::QueuedSticky {
            return;
        }
        // The service gives up on the sticky worker for this task.
        w.task = TaskState::QueuedNormal;
        w.task_epoch = w.task_epoch.wrapping_add(1);
        w.sticky_inst = NONE;
        let epoch = w.task_epoch;
        self.enqueue_normal_workflow_task(wf, epoch);
    }

    /// A worker with a free workflow slot takes its next task: sticky queue first.
    ///
    /// Inlined for its check alone: it runs after every workflow task and most often finds
    /// both queues empty, and a call that returns at once still saved and restored the
    /// registers the loop needs (shrink-wrapping by hand).
    #[inline]
    pub(super) fn pull_workflow_tasks(&mut self, inst: u32) {
        if self.workflow_queue.is_empty() && self.instances[inst as usize].sticky_queue.is_empty() {
            return;
        }
        self.pull_queued_workflow_tasks(inst);
    }

    #[inline(never)]
    fn pull_queued_workflow_tasks(&mut self, inst: u32) {
        loop {
            let instance = &self.instances[inst as usize];
            if instance.state != InstanceState::Running
                || instance.workflow_slots_used >= instance.spec.workflow_slots
            {
                return;
            }
            let next = self.pop_sticky(inst).or_else(|| self.pop_normal());
            match next {
                Some(wf) => self.start_workflow_task(inst, wf),
                None => return,
            }
        }
    }

    fn pop_sticky(&mut self, inst: u32) -> Option<u32> {
        while let Some((wf, epoch)) = self.instances[inst as usize].sticky_queue.pop_front() {
            if self.wfs.is_live(wf)
                && self.wfs[wf].task_epoch == epoch
                && self.wfs[wf].task == TaskState::QueuedSticky
            {
                return Some(wf);
            }
        }
        None
    }

    fn pop_normal(&mut self) -> Option<u32> {
        while let Some((wf, epoch)) = self.workflow_queue.pop_front() {
            if self.wfs.is_live(wf)
                && self.wfs[wf].task_epoch == epoch
                && self.wfs[wf].task == TaskState::QueuedNormal
            {
                return Some(wf);
            }
        }
        None
    }

    fn start_workflow_task(&mut self, inst: u32, wf: u32) {
        let now = self.now();
        self.take_workflow_slot(inst);
        let warmup = self.cfg.run.warmup;
        let w = &mut self.wfs[wf];
        debug_assert!(matches!(
            w.task,
            TaskState::QueuedNormal | TaskState::QueuedSticky
        ));
        w.task = TaskState::Running;
        self.workflow_tasks_queued = (self.workflow_tasks_queued.checked_sub(1))
            .expect("workflow_tasks_queued counts the queued workflow tasks");
        w.task_inst = inst;
        w.task_started_at = now;
        let wfs = &self.wfs;
        self.instances[inst as usize]
            .tasks_here
            .push(wf, |id| task_on(wfs, id, inst));
        let w = &mut self.wfs[wf];
        w.processing = std::mem::take(&mut w.inbox);
        w.processing_completions = std::mem::replace(&mut w.completions, CompletionList::EMPTY);
        let waited = now - w.task_scheduled_at;
        let epoch = w.task_epoch;
        let cached_here = w.cached_on == inst;
        let brand_new = !w.has_run;
        let history = w.history_events;
        if now >= warmup {
            self.stats.workflow_task_schedule_to_start.record(waited);
        }
        let task_cpu = self.cfg.temporal.workflow_task_cpu;
        if cached_here {
            self.wfs[wf].task_replaying = false;
            self.stats.cache_hits += now_counts(now, warmup);
            self.cache_touch(inst, wf);
            self.submit_cpu(inst, CpuJob::WorkflowTask { wf, epoch }, task_cpu);
        } else if brand_new {
            // A new workflow's first task carries its whole (tiny) history: nothing to replay.
            self.wfs[wf].task_replaying = true;
            self.submit_cpu(inst, CpuJob::WorkflowTask { wf, epoch }, task_cpu);
        } else {
            self.fetch_history(inst, wf, epoch, history);
        }
    }

    /// A cache miss: the task fetches the full history from the service, then replays it (out
    /// of line: most tasks hit the cache or are a new workflow's first).
    #[cold]
    #[inline(never)]
    fn fetch_history(&mut self, inst: u32, wf: u32, epoch: u32, history: u32) {
        let now = self.now();
        self.wfs[wf].task_replaying = true;
        self.wfs[wf].task = TaskState::Fetching;
        if self.wfs[wf].cached_on != NONE {
            self.cache_remove(wf);
        }
        if now >= self.cfg.run.warmup {
            self.stats.cache_misses += 1;
            self.stats.replayed_events += history as u64;
        }
        self.stats.interval_cache_misses += 1;
        let t = &self.cfg.temporal;
        let pages = history.div_ceil(t.history_page_size.max(1)) as u64;
        let fetch = t.history_fetch_base + pages * t.history_fetch_per_page;
        let inst_gen = self.instances[inst as usize].generation;
        self.schedule(
            now + fetch,
            Event::HistoryFetched {
                inst,
                inst_gen,
                wf,
                epoch,
            },
        );
    }

    pub(super) fn on_history_fetched(&mut self, inst: u32, inst_gen: u32, wf: u32, epoch: u32) {
        if self.instances[inst as usize].generation != inst_gen
            || !self.wfs.is_live(wf)
            || self.wfs[wf].task_epoch != epoch
            || self.wfs[wf].task != TaskState::Fetching
        {
            return;
        }
        self.wfs[wf].task = TaskState::Running;
        let t = &self.cfg.temporal;
        let replay = self.wfs[wf].history_events as u64 * t.replay_cpu_per_event;
        let work = replay + t.workflow_task_cpu;
        self.submit_cpu(inst, CpuJob::WorkflowTask { wf, epoch }, work);
    }

    /// The task's CPU work is done: apply its effects, cache the workflow, free the slot.
    pub(super) fn complete_workflow_task(&mut self, inst: u32, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf)
            || self.wfs[wf].task_epoch != epoch
            || self.wfs[wf].task != TaskState::Running
            || self.wfs[wf].task_inst != inst
        {
            return;
        }
        let w = &mut self.wfs[wf];
        w.history_events += TASK_HISTORY_EVENTS;
        w.has_run = true;
        w.task = TaskState::Idle;
        w.task_inst = NONE;
        let processing = std::mem::take(&mut w.processing);
        let kind = w.kind;
        self.instances[inst as usize].tasks_here.leave(wf);
        self.release_workflow_slot(inst);
        let finished = match kind {
            WorkflowKind::Parent => self.complete_parent_task(wf, processing),
            WorkflowKind::Child { parent, .. } => self.complete_child_task(wf, parent, processing),
        };
        if finished {
            self.remove_workflow(wf);
        } else {
            let generation = self.instances[inst as usize].generation;
            let w = &mut self.wfs[wf];
            w.sticky_inst = inst;
            w.sticky_gen = generation;
            self.cache_put(inst, wf);
            if self.wfs[wf].inbox != 0 {
                self.schedule_workflow_task(wf);
            }
        }
        self.pull_workflow_tasks(inst);
        self.stop_if_drained(inst);
    }

    /// Request mode: the agent's code runs in the request, with no service, queue, slot,
    /// cache or CPU of its own: the task takes what is in the inbox now and completes once
    /// the current event's other zero-time work is done (`Model::drain_immediate`).
    fn schedule_served_task(&mut self, wf: u32) {
        let now = self.now();
        let w = &mut self.wfs[wf];
        w.task_epoch = w.task_epoch.wrapping_add(1);
        w.task = TaskState::Running;
        w.task_scheduled_at = now;
        w.task_started_at = now;
        w.processing = std::mem::take(&mut w.inbox);
        w.processing_completions = std::mem::replace(&mut w.completions, CompletionList::EMPTY);
        let epoch = w.task_epoch;
        self.served_tasks.push((wf, epoch));
    }

    pub(super) fn run_served_task(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf)
            || self.wfs[wf].task_epoch != epoch
            || self.wfs[wf].task != TaskState::Running
        {
            return;
        }
        let w = &mut self.wfs[wf];
        w.history_events += TASK_HISTORY_EVENTS;
        w.has_run = true;
        w.task = TaskState::Idle;
        let processing = std::mem::take(&mut w.processing);
        let kind = w.kind;
        let finished = match kind {
            WorkflowKind::Parent => self.complete_parent_task(wf, processing),
            WorkflowKind::Child { parent, .. } => self.complete_child_task(wf, parent, processing),
        };
        if finished {
            self.remove_workflow(wf);
        } else if self.wfs[wf].inbox != 0 {
            self.schedule_workflow_task(wf);
        }
    }

    #[inline]
    pub(super) fn remove_workflow(&mut self, wf: u32) {
        if self.wfs[wf].cached_on != NONE {
            self.cache_remove(wf);
        }
        self.drop_completions(wf);
        self.wfs.remove(wf);
    }

    pub(super) fn on_workflow_task_timeout(&mut self, wf: u32, epoch: u32) {
        if !self.wfs.is_live(wf) {
            return;
        }
        let w = &mut self.wfs[wf];
        if w.task_epoch != epoch || w.task != TaskState::Lost {
            return;
        }
        // The lost task's work is redone by a new task on the normal queue.
        w.inbox |= std::mem::take(&mut w.processing);
        self.requeue_processing_completions(wf);
        let w = &mut self.wfs[wf];
        w.task = TaskState::Idle;
        w.sticky_inst = NONE;
        self.schedule_workflow_task(wf);
    }

    /// Called when `inst` dies: its running workflow tasks are lost until their timeout.
    pub(super) fn lose_workflow_tasks(&mut self, inst: u32) {
        let now = self.now();
        let timeout = self.cfg.temporal.workflow_task_timeout;
        let wfs = &self.wfs;
        let lost = self.instances[inst as usize]
            .tasks_here
            .take(|wf| task_on(wfs, wf, inst));
        for wf in lost {
            let w = &mut self.wfs[wf];
            w.task = TaskState::Lost;
            w.task_inst = NONE;
            let epoch = w.task_epoch;
            let at = (w.task_started_at + timeout).max(now);
            if at <= self.horizon {
                self.schedule(at, Event::WorkflowTaskTimeout { wf, epoch });
            }
        }
    }

    // ----- the sticky cache: an intrusive LRU list per instance -----

    fn workflow_memory(&self, wf: u32) -> u64 {
        let t = &self.cfg.temporal;
        let w = &self.wfs[wf];
        t.cached_workflow_memory_bytes
            + w.history_events as u64 * t.cached_memory_per_event_bytes
            + w.turns_done as u64 * t.cached_memory_per_turn_bytes
    }

    /// Inserts or refreshes `wf` in `inst`'s cache (most recently used), evicting the least
    /// recently used entries beyond the worker's cache size.
    fn cache_put(&mut self, inst: u32, wf: u32) {
        let capacity = self.instances[inst as usize].spec.cache_size;
        if capacity == 0 {
            return;
        }
        let bytes = self.workflow_memory(wf);
        if self.wfs[wf].cached_on == inst {
            self.cache_touch(inst, wf);
            if self.wfs[wf].cached_bytes == bytes {
                return;
            }
        } else {
            if self.wfs[wf].cached_on != NONE {
                self.cache_remove(wf);
            }
            self.lru_push_front(inst, wf);
            self.instances[inst as usize].cache_entries += 1;
            self.wfs[wf].cached_on = inst;
        }
        let old = std::mem::replace(&mut self.wfs[wf].cached_bytes, bytes);
        let instance = &mut self.instances[inst as usize];
        instance.cache_bytes = (instance.cache_bytes.checked_sub(old))
            .expect("cache_bytes is the sum of the cached workflows' bytes")
            + bytes;
        if self.instances[inst as usize].cache_entries > capacity {
            self.evict_beyond(inst, capacity);
        }
        self.note_memory(inst);
    }

    /// Out of line, and `cache_put` checks first: most tasks leave the cache within its size.
    #[inline(never)]
    pub(super) fn evict_beyond(&mut self, inst: u32, capacity: u32) {
        while self.instances[inst as usize].cache_entries > capacity {
            let victim = self.instances[inst as usize].lru_tail;
            self.cache_remove(victim);
            if self.now() >= self.cfg.run.warmup {
                self.stats.cache_evictions += 1;
            }
        }
    }

    #[inline]
    fn cache_touch(&mut self, inst: u32, wf: u32) {
        if self.instances[inst as usize].lru_head != wf {
            self.lru_unlink(inst, wf);
            self.lru_push_front(inst, wf);
        }
    }

    #[inline]
    pub(super) fn cache_remove(&mut self, wf: u32) {
        let inst = self.wfs[wf].cached_on;
        self.lru_unlink(inst, wf);
        let bytes = std::mem::take(&mut self.wfs[wf].cached_bytes);
        self.wfs[wf].cached_on = NONE;
        let instance = &mut self.instances[inst as usize];
        instance.cache_entries = (instance.cache_entries.checked_sub(1))
            .expect("cache_entries counts the cached workflows");
        instance.cache_bytes = (instance.cache_bytes.checked_sub(bytes))
            .expect("cache_bytes is the sum of the cached workflows' bytes");
    }

    /// Drops a dead instance's whole cache.
    pub(super) fn cache_clear(&mut self, inst: u32) {
        let mut wf = self.instances[inst as usize].lru_head;
        while wf != NONE {
            let next = self.wfs[wf].lru_next;
            let w = &mut self.wfs[wf];
            w.cached_on = NONE;
            w.cached_bytes = 0;
            w.lru_prev = NONE;
            w.lru_next = NONE;
            wf = next;
        }
        let instance = &mut self.instances[inst as usize];
        instance.lru_head = NONE;
        instance.lru_tail = NONE;
        instance.cache_entries = 0;
        instance.cache_bytes = 0;
    }

    fn lru_push_front(&mut self, inst: u32, wf: u32) {
        let head = self.instances[inst as usize].lru_head;
        let w = &mut self.wfs[wf];
        w.lru_prev = NONE;
        w.lru_next = head;
        if head != NONE {
            self.wfs[head].lru_prev = wf;
        }
        let instance = &mut self.instances[inst as usize];
        instance.lru_head = wf;
        if instance.lru_tail == NONE {
            instance.lru_tail = wf;
        }
    }

    #[inline]
    fn lru_unlink(&mut self, inst: u32, wf: u32) {
        let (prev, next) = (self.wfs[wf].lru_prev, self.wfs[wf].lru_next);
        if prev != NONE {
            self.wfs[prev].lru_next = next;
        } else {
            self.instances[inst as usize].lru_head = next;
        }
        if next != NONE {
            self.wfs[next].lru_prev = prev;
        } else {
            self.instances[inst as usize].lru_tail = prev;
        }
        let w = &mut self.wfs[wf];
        w.lru_prev = NONE;
        w.lru_next = NONE;
    }
}

fn now_counts(now: Time, warmup: Time) -> u64 {
    u64::from(now >= warmup)
}

/// Whether `wf`'s task runs (or fetches its history) on `inst`: what a crash of `inst` loses.
fn task_on(wfs: &Slab<Workflow>, wf: u32, inst: u32) -> bool {
    wfs.is_live(wf) && {
        let w = &wfs[wf];
        matches!(w.task, TaskState::Running | TaskState::Fetching) && w.task_inst == inst
    }
}
