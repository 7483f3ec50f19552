//! The event queue: a radix heap keyed by (time, insertion sequence).
//!
//! Contract: time is an integer number of nanoseconds; events at the same time pop in the order
//! they were scheduled; scheduling before the current time is a bug and panics (in release
//! builds too). The queue allocates only when a bucket or the arena reaches a new high-water
//! mark, never per event in steady state, and its memory follows the most entries pending
//! (each near bucket keeps its own most), not the horizon. Events are `Copy`: the model's are
//! ids and epochs.
//!
//! Why a radix heap: keys only grow. A new event's time is at least the time of the last one
//! popped and its sequence number is larger than any before, so every key scheduled is larger
//! than the last key popped. A radix heap exploits that: an entry sits in the bucket named by
//! the highest digit in which its key differs from the last key popped and by its value there,
//! so scheduling is an append, and an entry moves only to lower buckets as the clock nears it
//! (at most once per digit); the least entry of the lowest bucket is the next event. A binary
//! or 4-ary heap instead sifts every far-future timer that reaches its root through all its
//! levels, and this model keeps many long timers (idle timeouts, abandonment) pending behind
//! short CPU and call completions. Keys are unique (the sequence), so the order is exactly
//! (time, sequence), as with any correct priority queue.
//!
//! Storage: a near bucket (times that differ from the last key's below bit 32, 4.3 s) is a
//! vector that keeps its capacity: the clock passes through these all the time, and each keeps
//! the most short delays it ever held. A far bucket is a chain of fixed-size blocks drawn from
//! one arena with a free list: it empties when the clock passes its span and its digit comes
//! round again 18 minutes or more later, so it gives its blocks back at once and the next far
//! bucket to fill reuses them. (Vectors there either kept the capacity of the most timers each
//! of a thousand buckets ever held, megabytes growing with the horizon, or allocated again each
//! time one refilled.)

pub type Time = u64;

/// Digits of 8 bits: an entry moves at most 8 times across a 64-bit time, where one bit per
/// level let it move up to 64 times. The voice peak keeps many long timers behind its short
/// completions and moved about three entries per event with one bit per level.
const DIGIT_BITS: u32 = 8;
const RADIX: usize = 1 << DIGIT_BITS;
const LEVELS: usize = 64usize.div_ceil(DIGIT_BITS as usize);
/// Buckets `0..HALF` hold entries with the same time as the last key, by the highest differing
/// digit of the sequence (its level) and the entry's value there; buckets `HALF..` those with a
/// later time, by the highest differing digit of the time. Bucket `level * RADIX + digit`
/// within each half.
const HALF: usize = LEVELS * RADIX;
const BUCKETS: usize = 2 * HALF;
const WORDS: usize = BUCKETS.div_ceil(64);
const _: () = assert!(WORDS <= 64, "the summary has a bit per word of the bitset");
/// The first far bucket: times that differ from the last key's from bit 32 up.
const FAR: usize = HALF + (32 / DIGIT_BITS as usize) * RADIX;
/// Entries per block. A far bucket wastes at most `BLOCK - 1` slots, and only while it is
/// occupied. Not tuned: far pushes are few (the voice peak's 40 minutes open 48,000 blocks in
/// 5 million pushes).
const BLOCK: usize = 8;
/// No block: the end of a chain or of the free list.
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

/// A far bucket's chain: `head` is the block filled last (holding `(len - 1) % BLOCK + 1`
/// entries), each block before it full.
#[derive(Clone, Copy)]
struct Bucket {
    head: u32,
    len: u32,
}

const EMPTY: Bucket = Bucket { head: NIL, len: 0 };

pub struct EventQueue<E> {
    /// The least entry, once `settle` has found it: its key is the last key.
    front: Option<Entry<E>>,
    near: Vec<Vec<Entry<E>>>,
    /// Bucket `FAR + i` is `far[i]`.
    far: Box<[Bucket; BUCKETS - FAR]>,
    /// `BLOCK` entries per block; a block's slots past its bucket's count are stale copies.
    slots: Vec<Entry<E>>,
    /// Per block: the next block of its chain, or of the free list.
    links: Vec<u32>,
    free: u32,
    /// Bit `b` set when bucket `b` is not empty.
    occupied: Occupied,
    /// The key the buckets are relative to: that of the last entry moved to the front.
    last_time: Time,
    last_seq: u64,
    len: usize,
    next_seq: u64,
    now: Time,
}

/// The occupied buckets as a bitset of `WORDS` words, with a summary of the words that are not
/// zero, so the lowest occupied bucket is two trailing-zero counts away.
struct Occupied {
    words: [u64; WORDS],
    summary: u64,
}

impl Default for Occupied {
    fn default() -> Self {
        Occupied {
            words: [0; WORDS],
            summary: 0,
        }
    }
}

impl Occupied {
    #[inline]
    fn set(&mut self, bucket: usize) {
        let word = bucket / 64;
        self.words[word] |= 1 << (bucket % 64);
        self.summary |= 1 << word;
    }

    #[inline]
    fn clear(&mut self, bucket: usize) {
        let word = bucket / 64;
        self.words[word] &= !(1 << (bucket % 64));
        if self.words[word] == 0 {
            self.summary &= !(1 << word);
        }
    }

    /// The lowest occupied bucket.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        if self.summary == 0 {
            return None;
        }
        let word = self.summary.trailing_zeros() as usize;
        Some(word * 64 + self.words[word].trailing_zeros() as usize)
    }
}

/// The bucket of the key (`time`, `seq`) relative to a last key (`last_time`, `last_seq`)
/// below it: its highest differing digit and that digit's value.
#[inline]
fn bucket_of(time: Time, seq: u64, last_time: Time, last_seq: u64) -> usize {
    let (half, key, bits) = if time != last_time {
        (HALF, time, time ^ last_time)
    } else {
        debug_assert!(seq != last_seq, "keys are unique");
        (0, seq, seq ^ last_seq)
    };
    let level = ((63 - bits.leading_zeros()) / DIGIT_BITS) as usize;
    let digit = (key >> (level as u32 * DIGIT_BITS)) as usize & (RADIX - 1);
    half + level * RADIX + digit
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            front: None,
            near: (0..FAR).map(|_| Vec::new()).collect(),
            far: Box::new([EMPTY; BUCKETS - FAR]),
            slots: Vec::new(),
            links: Vec::new(),
            free: NIL,
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
    #[inline(always)]
    fn push_entry(&mut self, entry: Entry<E>) {
        let bucket = bucket_of(entry.time, entry.seq, self.last_time, self.last_seq);
        self.occupied.set(bucket);
        if bucket < FAR {
            self.near[bucket].push(entry);
        } else {
            self.push_far(bucket - FAR, entry);
        }
    }

    /// Out of line: most pushes are near, and this path's calls would make every push save
    /// registers.
    #[inline(never)]
    fn push_far(&mut self, bucket: usize, entry: Entry<E>) {
        let Bucket { head, len } = self.far[bucket];
        let at = len as usize % BLOCK;
        if at == 0 {
            // One far push in `BLOCK`: a block off the free list, or a new one.
            self.push_into_new_block(bucket, entry);
            return;
        }
        self.slots[head as usize * BLOCK + at] = entry;
        self.far[bucket].len = len + 1;
    }

    /// Starts a block at the head of far `bucket`'s chain with `entry`: one off the free list, or
    /// a new one at the end of the arena (its other slots copies of `entry` until written).
    #[inline(never)]
    fn push_into_new_block(&mut self, bucket: usize, entry: Entry<E>) {
        let block = if self.free != NIL {
            let block = self.free;
            self.free = self.links[block as usize];
            block
        } else {
            let block = u32::try_from(self.links.len())
                .ok()
                .filter(|&block| block != NIL)
                .expect("fewer than 2^32 blocks of pending events");
            self.links.push(NIL);
            self.slots.extend(std::iter::repeat_n(entry, BLOCK));
            block
        };
        let Bucket { head, len } = self.far[bucket];
        self.links[block as usize] = head;
        self.slots[block as usize * BLOCK] = entry;
        self.far[bucket] = Bucket {
            head: block,
            len: len + 1,
        };
    }

    #[inline]
    fn free_block(&mut self, block: u32) {
        self.links[block as usize] = self.free;
        self.free = block;
    }

    /// Inlined into its callers, always (a hint left some calls in the `sim` binary): the
    /// prologue of a call saved more registers than the push itself takes instructions.
    #[inline(always)]
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

    /// The entries of a chain of `len` entries from `head`, in slot indices, blocks freed
    /// after `visit` has seen all of theirs when `free` is set.
    #[inline]
    fn walk(&mut self, head: u32, len: u32, free: bool, mut visit: impl FnMut(&mut Self, usize)) {
        let (mut block, mut count, mut left) = (head, (len as usize - 1) % BLOCK + 1, len as usize);
        loop {
            let start = block as usize * BLOCK;
            for slot in start..start + count {
                visit(self, slot);
            }
            left -= count;
            let next = self.links[block as usize];
            if free {
                self.free_block(block);
            }
            if left == 0 {
                return;
            }
            (block, count) = (next, BLOCK);
        }
    }

    /// Makes `least`, smaller than every key queued, the front and the reference key, and
    /// files every other entry again. Rare (see `schedule`); allocates.
    #[cold]
    #[inline(never)]
    fn rebase(&mut self, least: Entry<E>) {
        let mut entries: Vec<Entry<E>> = self.front.take().into_iter().collect();
        while let Some(bucket) = self.occupied.lowest() {
            self.occupied.clear(bucket);
            if bucket < FAR {
                entries.append(&mut self.near[bucket]);
            } else {
                let Bucket { head, len } = std::mem::replace(&mut self.far[bucket - FAR], EMPTY);
                self.walk(head, len, true, |queue, slot| {
                    entries.push(queue.slots[slot])
                });
            }
        }
        (self.last_time, self.last_seq) = (least.time, least.seq);
        self.front = Some(least);
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
        self.occupied.clear(bucket);
        let front = if bucket < FAR {
            self.settle_near(bucket)
        } else {
            self.settle_far(bucket - FAR)
        };
        (self.last_time, self.last_seq) = (front.time, front.seq);
        self.front = Some(front);
        Some(front.time)
    }

    /// Takes the least entry of an occupied near bucket and files the others lower.
    #[inline]
    fn settle_near(&mut self, bucket: usize) -> Entry<E> {
        let entries = &mut self.near[bucket];
        if entries.len() == 1 {
            // Alone in its bucket: it is the least, and nothing moves down.
            return entries.pop().expect("an occupied bucket holds an entry");
        }
        let mut least = 0;
        for (index, entry) in entries.iter().enumerate().skip(1) {
            if (entry.time, entry.seq) < (entries[least].time, entries[least].seq) {
                least = index;
            }
        }
        let front = entries.swap_remove(least);
        // The others land in lower buckets: they agreed with the old last key above the
        // bucket's digit and had the same value there, and so does the new one (the caller
        // makes it the last key). The vector is taken out while they move and put back,
        // keeping its capacity.
        let mut entries = std::mem::take(entries);
        for entry in entries.drain(..) {
            let lower = bucket_of(entry.time, entry.seq, front.time, front.seq);
            debug_assert!(lower < bucket);
            self.occupied.set(lower);
            self.near[lower].push(entry);
        }
        self.near[bucket] = entries;
        front
    }

    /// Takes the least entry of an occupied far bucket, files the others lower and gives its
    /// blocks back.
    fn settle_far(&mut self, bucket: usize) -> Entry<E> {
        let Bucket { head, len } = std::mem::replace(&mut self.far[bucket], EMPTY);
        if len == 1 {
            self.free_block(head);
            return self.slots[head as usize * BLOCK];
        }
        let mut least = head as usize * BLOCK;
        self.walk(head, len, false, |queue, slot| {
            let (entry, best) = (&queue.slots[slot], &queue.slots[least]);
            if (entry.time, entry.seq) < (best.time, best.seq) {
                least = slot;
            }
        });
        let front = self.slots[least];
        // As in `settle_near`, but filed by `push_entry`, which reads the last key: set here,
        // before they move. Each block is read before it is freed, so a lower far bucket may
        // reuse it at once.
        (self.last_time, self.last_seq) = (front.time, front.seq);
        self.walk(head, len, true, |queue, slot| {
            if slot != least {
                queue.push_entry(queue.slots[slot]);
            }
        });
        front
    }

    /// The bytes it holds (the near vectors' capacity, the far arena at the most far entries
    /// ever pending, the chains' heads), for the run's memory check: some 3,000 additions, for
    /// a caller to run now and then.
    pub fn footprint(&self) -> usize {
        let near: usize = self.near.iter().map(Vec::capacity).sum();
        (near + self.slots.capacity()) * std::mem::size_of::<Entry<E>>()
            + self.near.capacity() * std::mem::size_of::<Vec<Entry<E>>>()
            + self.links.capacity() * std::mem::size_of::<u32>()
            + std::mem::size_of::<[Bucket; BUCKETS - FAR]>()
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

    /// The blocks in chains and on the free list, for the invariants below.
    fn blocks_in_use(queue: &EventQueue<u32>) -> (usize, usize) {
        let chained: usize = queue
            .far
            .iter()
            .map(|bucket| (bucket.len as usize).div_ceil(BLOCK))
            .sum();
        let mut free = 0;
        let mut block = queue.free;
        while block != NIL {
            free += 1;
            block = queue.links[block as usize];
        }
        (chained, free)
    }

    /// Every block is in one chain or on the free list, and the arena stays within what the
    /// most entries ever pending need: an emptied bucket gives its blocks back.
    #[test]
    fn pops_the_least_time_then_sequence_on_random_interleavings() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(11);
        let mut queue = EventQueue::new();
        // A sorted model of what is in the queue: ids grow with insertion, so (time, id) order
        // is (time, sequence) order.
        let mut model = std::collections::BTreeSet::new();
        let (mut id, mut most_pending) = (0u32, 0);
        for step in 0..50_000 {
            if rng.random_bool(0.1) {
                // A limit before the next event leaves it settled at the front; what is
                // scheduled next may still come first.
                let limit = queue.now() + rng.random_range(0..100u64);
                let due = model.first().is_some_and(|&(time, _)| time <= limit);
                let expected = if due { model.pop_first() } else { None };
                assert_eq!(queue.pop_until(limit), expected);
            }
            // Phases of growth and of draining, so blocks are freed and reused.
            let grow = if step / 5_000 % 2 == 0 { 0.6 } else { 0.4 };
            if rng.random_bool(grow) || queue.is_empty() {
                // Ties, short delays and long timers, as in the model.
                let span = [50, 1 << 20, 1 << 42, 1 << 47][rng.random_range(0..4)];
                let time = queue.now() + rng.random_range(0..span);
                queue.schedule(time, id);
                model.insert((time, id));
                id += 1;
            } else {
                assert_eq!(queue.pop(), model.pop_first());
            }
            most_pending = most_pending.max(model.len());
            if step % 97 == 0 {
                let (chained, free) = blocks_in_use(&queue);
                assert_eq!(
                    chained + free,
                    queue.links.len(),
                    "every block accounted for"
                );
                assert_eq!(queue.slots.len(), queue.links.len() * BLOCK);
                let occupied = queue.far.iter().filter(|b| b.len > 0).count();
                assert!(
                    queue.links.len() <= most_pending.div_ceil(BLOCK) + BUCKETS.min(most_pending),
                    "the arena follows the most entries pending"
                );
                assert!(chained <= model.len().div_ceil(BLOCK) + occupied);
            }
        }
        while let Some(entry) = queue.pop() {
            assert_eq!(Some(entry), model.pop_first());
        }
        assert!(model.is_empty());
        assert_eq!(
            blocks_in_use(&queue),
            (0, queue.links.len()),
            "all blocks free"
        );
    }

    /// Ties are filed by their sequence numbers' digits: enough of them, interleaved with pops
    /// and with later times, to use the sequence buckets of the first three digits.
    #[test]
    fn many_ties_pop_in_insertion_order() {
        let mut queue = EventQueue::new();
        let mut expected = Vec::new();
        let mut popped = Vec::new();
        for id in 0..200_000u32 {
            // Mostly ties at the current time, a few a little later.
            let time = queue.now() + u64::from(id % 97 == 0) * u64::from(id % 7);
            queue.schedule(time, id);
            expected.push((time, id));
            if id % 3 == 0 {
                popped.extend(queue.pop());
            }
        }
        popped.extend(std::iter::from_fn(|| queue.pop()));
        expected.sort();
        assert_eq!(popped, expected);
        assert!(
            queue.next_seq > 1 << 17,
            "sequence numbers reached the third digit"
        );
    }

    /// A steady state (as many scheduled as popped) stops growing the queue's storage: the
    /// near vectors keep what the busiest moment needed, and the blocks an emptied far bucket
    /// gives back are reused.
    #[test]
    fn a_steady_state_reuses_its_storage() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(5);
        let mut queue = EventQueue::new();
        let spans = [1 << 10, 1 << 30, 1 << 40];
        for id in 0..5_000u32 {
            let span = spans[rng.random_range(0..3)];
            queue.schedule(rng.random_range(0..span), id);
        }
        let mut marks = Vec::new();
        for round in 0..20 {
            for id in 0..50_000u32 {
                let (now, _) = queue.pop().expect("pending");
                let span = spans[rng.random_range(0..3)];
                queue.schedule(now + rng.random_range(0..span), round * 50_000 + id);
            }
            let near: usize = queue.near.iter().map(Vec::capacity).sum();
            marks.push((queue.links.len(), near));
        }
        assert_eq!(queue.len(), 5_000);
        // The arena stops at its mark. The near vectors' capacity is the sum of each bucket's
        // own high-water mark, which still creeps up as rarer bursts come (5% over these
        // 500,000 events): it grows with the extremes of the load, not with the horizon.
        let (first, last) = (marks[9], marks[19]);
        assert!(
            last.0 <= first.0 + first.0 / 100 && last.1 <= first.1 + first.1 / 10,
            "the storage stops growing: {marks:?}"
        );
        assert!(last.0 > 0, "far buckets were used");
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
