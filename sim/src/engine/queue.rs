//! The event queue: a 4-ary min-heap keyed by (time, insertion sequence).
//!
//! Contract: time is an integer number of nanoseconds; events at the same time pop in the order
//! they were scheduled; scheduling before the current time is a bug and panics (in release
//! builds too). The queue allocates only when it grows past its high-water mark, never per
//! event in steady state.

pub type Time = u64;

/// Children per node. A 4-ary heap is half as deep as a binary one and its children share a
/// cache line or two, which matters when long timers keep the queue large.
const ARITY: usize = 4;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn before(&self, other: &Self) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
    now: Time,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: Vec::with_capacity(1024),
            next_seq: 0,
            now: 0,
        }
    }

    /// The time of the event popped last (0 before the first).
    pub fn now(&self) -> Time {
        self.now
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn schedule(&mut self, time: Time, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: {time} < {}",
            self.now
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
        self.sift_up(self.heap.len() - 1);
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.first().map(|entry| entry.time)
    }

    /// Removes the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        if self.heap.is_empty() {
            return None;
        }
        let entry = self.heap.swap_remove(0);
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        debug_assert!(entry.time >= self.now);
        self.now = entry.time;
        Some((entry.time, entry.event))
    }

    fn sift_up(&mut self, mut index: usize) {
        while index > 0 {
            let parent = (index - 1) / ARITY;
            if !self.heap[index].before(&self.heap[parent]) {
                break;
            }
            self.heap.swap(index, parent);
            index = parent;
        }
    }

    fn sift_down(&mut self, mut index: usize) {
        let len = self.heap.len();
        loop {
            let first = index * ARITY + 1;
            if first >= len {
                break;
            }
            let mut best = first;
            for child in first + 1..(first + ARITY).min(len) {
                if self.heap[child].before(&self.heap[best]) {
                    best = child;
                }
            }
            if !self.heap[best].before(&self.heap[index]) {
                break;
            }
            self.heap.swap(index, best);
            index = best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut queue = EventQueue::new();
        queue.schedule(20, 'c');
        queue.schedule(10, 'a');
        queue.schedule(20, 'd');
        queue.schedule(10, 'b');
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, vec![(10, 'a'), (10, 'b'), (20, 'c'), (20, 'd')]);
        assert_eq!(queue.now(), 20);
    }

    #[test]
    fn pops_the_least_time_then_sequence_on_random_interleavings() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(11);
        let mut queue = EventQueue::new();
        // A sorted model of what is in the queue: ids grow with insertion, so (time, id) order
        // is (time, sequence) order.
        let mut model = std::collections::BTreeSet::new();
        let mut id = 0u32;
        for _ in 0..20_000 {
            if rng.random_bool(0.6) || queue.is_empty() {
                let time = queue.now() + rng.random_range(0..50u64);
                queue.schedule(time, id);
                model.insert((time, id));
                id += 1;
            } else {
                assert_eq!(queue.pop(), model.pop_first());
            }
        }
        while let Some(entry) = queue.pop() {
            assert_eq!(Some(entry), model.pop_first());
        }
        assert!(model.is_empty());
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn scheduling_in_the_past_panics() {
        let mut queue = EventQueue::new();
        queue.schedule(5, ());
        queue.pop();
        queue.schedule(4, ());
    }
}
