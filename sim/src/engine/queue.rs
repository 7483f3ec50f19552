//! The event queue: a radix heap keyed by (time, insertion sequence).
//!
//! Contract: time is an integer number of nanoseconds; events at the same time pop in the order
//! they were scheduled; scheduling before the current time is a bug and panics (in release
//! builds too). The queue allocates only when a bucket grows past its high-water mark (or
//! refills a high bucket that `trim` freed), never per event in steady state.
//!
//! Why a radix heap: keys only grow. A new event's time is at least the time of the last one
//! popped and its sequence number is larger than any before, so every key scheduled is larger
//! than the last key popped. A radix heap exploits that: an entry sits in the bucket named by
//! the highest bit in which its key differs from the last key popped, so scheduling is a push
//! onto a `Vec`, and an entry moves only to lower buckets as the clock nears it (at most once
//! per bit); the least entry of the lowest bucket is the next event. A binary or 4-ary heap
//! instead sifts every far-future timer that reaches its root through all its levels, and this
//! model keeps many long timers (idle timeouts, abandonment) pending behind short CPU and call
//! completions. Keys are unique (the sequence), so the order is exactly (time, sequence), as
//! with any correct priority queue.

pub type Time = u64;

/// Bucket `b` for `b` in 0..64 holds entries with the same time as the last key and the highest
/// differing sequence bit `b`; bucket `64 + b` those whose highest differing time bit is `b`.
const BUCKETS: usize = 128;
/// `trim` frees the vectors of the empty buckets from here up: keys 2^42 ns (73 minutes) or
/// more from the last key. Bucket `64 + b` empties at most once per 2^b ns of simulated time,
/// when the clock crosses bit `b`, and just before it holds about every timer pending beyond:
/// thousands of entries, for a bucket next used 2^b ns later. Kept, those vectors would grow a
/// run's memory with its horizon (a week reaches three more bits than a day: half a megabyte
/// on the support-agent); freed, each refill costs a dozen allocations per 73 simulated
/// minutes or more.
const TRIM_FROM: usize = 64 + 42;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

pub struct EventQueue<E> {
    /// The least entry, once `settle` has found it: its key is the last key.
    front: Option<Entry<E>>,
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `b` set when bucket `b` is not empty.
    occupied: Occupied,
    /// The key the buckets are relative to: that of the last entry moved to the front.
    last_time: Time,
    last_seq: u64,
    len: usize,
    next_seq: u64,
    now: Time,
}

/// The occupied buckets as two words (sequence buckets 0..64, time buckets 64..128): a 128-bit
/// integer costs two instructions for each operation and more for its trailing zeros.
#[derive(Clone, Copy, Default)]
struct Occupied {
    seq: u64,
    time: u64,
}

impl Occupied {
    #[inline]
    fn set(&mut self, bucket: usize) {
        if bucket < 64 {
            self.seq |= 1 << bucket;
        } else {
            self.time |= 1 << (bucket - 64);
        }
    }

    #[inline]
    fn clear(&mut self, bucket: usize) {
        if bucket < 64 {
            self.seq &= !(1 << bucket);
        } else {
            self.time &= !(1 << (bucket - 64));
        }
    }

    /// The lowest occupied bucket.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        if self.seq != 0 {
            Some(self.seq.trailing_zeros() as usize)
        } else if self.time != 0 {
            Some(64 + self.time.trailing_zeros() as usize)
        } else {
            None
        }
    }
}

/// The bucket of a key that differs from the last key in `time_bits` and `seq_bits` (XORs).
fn bucket_of(time_bits: u64, seq_bits: u64) -> usize {
    if time_bits != 0 {
        (127 - time_bits.leading_zeros()) as usize
    } else {
        debug_assert!(seq_bits != 0, "keys are unique");
        (63 - seq_bits.leading_zeros()) as usize
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            front: None,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: Occupied::default(),
            last_time: 0,
            last_seq: 0,
            len: 0,
            // Sequence numbers start at 1, so the initial reference key (0, 0) is below every
            // real key: an event scheduled first at time 0 would otherwise equal it.
            next_seq: 1,
            now: 0,
        }
    }

    /// The time of the event popped last (0 before the first).
    pub fn now(&self) -> Time {
        self.now
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Files an entry whose key is larger than the last key.
    fn push_entry(&mut self, entry: Entry<E>) {
        let bucket = bucket_of(entry.time ^ self.last_time, entry.seq ^ self.last_seq);
        self.occupied.set(bucket);
        self.buckets[bucket].push(entry);
    }

    pub fn schedule(&mut self, time: Time, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: {time} < {}",
            self.now
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let entry = Entry { time, seq, event };
        if time < self.last_time {
            // Only after a `pop_until` that left the next entry, due after its limit, at the
            // front: that entry is the reference, and this one comes before it.
            self.rebase(entry);
        } else {
            self.push_entry(entry);
        }
    }

    /// Makes `least`, smaller than every key queued, the front and the reference key, and
    /// files every other entry again. Rare (see `schedule`); allocates.
    fn rebase(&mut self, least: Entry<E>) {
        let mut entries: Vec<Entry<E>> = self.front.take().into_iter().collect();
        for bucket in &mut self.buckets {
            entries.append(bucket);
        }
        (self.last_time, self.last_seq) = (least.time, least.seq);
        self.front = Some(least);
        self.occupied = Occupied::default();
        for entry in entries {
            self.push_entry(entry);
        }
    }

    /// Moves the least entry to the front (if it is not there already) and returns its time.
    fn settle(&mut self) -> Option<Time> {
        match &self.front {
            Some(entry) => Some(entry.time),
            None => self.settle_from_buckets(),
        }
    }

    fn settle_from_buckets(&mut self) -> Option<Time> {
        let bucket = self.occupied.lowest()?;
        let mut occupied = self.occupied;
        occupied.clear(bucket);
        let (lower, rest) = self.buckets.split_at_mut(bucket);
        let entries = &mut rest[0];
        if entries.len() == 1 {
            // Alone in its bucket: it is the least, and nothing moves down.
            let front = entries.pop().expect("an occupied bucket holds an entry");
            (self.last_time, self.last_seq, self.occupied) = (front.time, front.seq, occupied);
            let time = front.time;
            self.front = Some(front);
            return Some(time);
        }
        let mut least = 0;
        for (index, entry) in entries.iter().enumerate().skip(1) {
            if (entry.time, entry.seq) < (entries[least].time, entries[least].seq) {
                least = index;
            }
        }
        let front = entries.swap_remove(least);
        let (last_time, last_seq) = (front.time, front.seq);
        // The others land in lower buckets: they agreed with the old last key above bit
        // `bucket`, and so does the new one. The emptied vector keeps its capacity.
        for entry in entries.drain(..) {
            let lower_bucket = bucket_of(entry.time ^ last_time, entry.seq ^ last_seq);
            occupied.set(lower_bucket);
            lower[lower_bucket].push(entry);
        }
        (self.last_time, self.last_seq, self.occupied) = (last_time, last_seq, occupied);
        let time = front.time;
        self.front = Some(front);
        Some(time)
    }

    /// Frees the vectors of the empty high buckets (`TRIM_FROM`): a few dozen instructions,
    /// for a caller to run now and then (the model does at each time-series sample) rather
    /// than on the per-event path. Changes no order.
    pub fn trim(&mut self) {
        for bucket in &mut self.buckets[TRIM_FROM..] {
            if bucket.is_empty() && bucket.capacity() > 0 {
                *bucket = Vec::new();
            }
        }
    }

    /// The bytes its buckets hold (their capacity), for the run's memory check: 128 additions,
    /// for a caller to run now and then.
    pub fn footprint(&self) -> usize {
        let entries: usize = self.buckets.iter().map(Vec::capacity).sum();
        entries * std::mem::size_of::<Entry<E>>()
            + self.buckets.capacity() * std::mem::size_of::<Vec<Entry<E>>>()
    }

    /// Removes the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_until(Time::MAX)
    }

    /// Removes the next event if it is due at `limit` or before, and advances the clock to its
    /// time; leaves the queue as it is otherwise.
    pub fn pop_until(&mut self, limit: Time) -> Option<(Time, E)> {
        if self.settle()? > limit {
            return None;
        }
        let entry = self.front.take().expect("settled");
        self.len -= 1;
        debug_assert!(entry.time >= self.now);
        self.now = entry.time;
        Some((entry.time, entry.event))
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

    /// `trim` at random moments too: it must free every emptied far bucket and change no order.
    #[test]
    fn pops_the_least_time_then_sequence_on_random_interleavings() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(11);
        let mut queue = EventQueue::new();
        // A sorted model of what is in the queue: ids grow with insertion, so (time, id) order
        // is (time, sequence) order.
        let mut model = std::collections::BTreeSet::new();
        let (mut id, mut freed) = (0u32, 0);
        let emptied_far = |queue: &EventQueue<u32>| {
            queue.buckets[TRIM_FROM..]
                .iter()
                .filter(|bucket| bucket.is_empty() && bucket.capacity() > 0)
                .count()
        };
        for _ in 0..50_000 {
            if rng.random_bool(0.1) {
                // A limit before the next event leaves it settled at the front; what is
                // scheduled next may still come first.
                let limit = queue.now() + rng.random_range(0..100u64);
                let due = model.first().is_some_and(|&(time, _)| time <= limit);
                let expected = if due { model.pop_first() } else { None };
                assert_eq!(queue.pop_until(limit), expected);
            }
            if rng.random_bool(0.6) || queue.is_empty() {
                // Ties, short delays and long timers, as in the model, and timers far enough
                // to fill the buckets `trim` frees.
                let span = [50, 1 << 20, 1 << 42, 1 << 47][rng.random_range(0..4)];
                let time = queue.now() + rng.random_range(0..span);
                queue.schedule(time, id);
                model.insert((time, id));
                id += 1;
            } else {
                assert_eq!(queue.pop(), model.pop_first());
            }
            if rng.random_bool(0.01) {
                freed += emptied_far(&queue);
                queue.trim();
                assert_eq!(emptied_far(&queue), 0, "every emptied far bucket is freed");
            }
        }
        assert!(freed > 10, "far buckets emptied and were freed ({freed})");
        while let Some(entry) = queue.pop() {
            assert_eq!(Some(entry), model.pop_first());
        }
        assert!(model.is_empty());
    }

    /// The first event at time 0 (a timeline entry at "0s", a trace arrival at 0) must not
    /// collide with the initial reference key. Found by the swarm with overflow checks on.
    #[test]
    fn a_first_event_at_time_zero_is_filed() {
        let mut queue = EventQueue::new();
        queue.schedule(0, 'a');
        queue.schedule(0, 'b');
        queue.schedule(5, 'c');
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, vec![(0, 'a'), (0, 'b'), (5, 'c')]);
    }

    #[test]
    fn pop_until_leaves_what_is_due_later() {
        let mut queue = EventQueue::new();
        queue.schedule(10, 'a');
        queue.schedule(30, 'c');
        assert_eq!(queue.pop_until(20), Some((10, 'a')));
        // 'c' is settled at the front; 'b' and 'e', scheduled after, still come first.
        assert_eq!(queue.pop_until(20), None);
        assert_eq!(queue.now(), 10);
        queue.schedule(20, 'b');
        queue.schedule(1 << 40, 'd');
        queue.schedule(20, 'e');
        assert_eq!(queue.pop_until(20), Some((20, 'b')));
        assert_eq!(queue.pop_until(20), Some((20, 'e')));
        let rest: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(rest, vec![(30, 'c'), (1 << 40, 'd')]);
        assert!(queue.is_empty());
    }

    #[test]
    fn spans_the_whole_time_range() {
        let mut queue = EventQueue::new();
        for (id, time) in [u64::MAX, 0, 1 << 63, 1, u64::MAX, 0]
            .into_iter()
            .enumerate()
        {
            queue.schedule(time, id);
        }
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (0, 1),
                (0, 5),
                (1, 3),
                (1 << 63, 2),
                (u64::MAX, 0),
                (u64::MAX, 4)
            ]
        );
        assert!(queue.is_empty());
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
