//! A first-in first-out list for work that is always taken to the end before more is queued
//! for later: the zero-time work of one step. A vector and a read position; the vector is
//! cleared (keeping its capacity) when a `pop` finds it taken to the end. Cheaper than a ring
//! buffer, whose every push and pop wraps its indices around.

pub struct Fifo<T> {
    items: Vec<T>,
    /// The next item to pop.
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            items: Vec::new(),
            head: 0,
        }
    }
}

impl<T: Copy> Fifo<T> {
    #[inline]
    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    /// The oldest item not yet popped; `None` (and the list empty again) when there is none.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        match self.items.get(self.head) {
            Some(&item) => {
                self.head += 1;
                Some(item)
            }
            None => {
                self.items.clear();
                self.head = 0;
                None
            }
        }
    }

    /// Items it can hold without allocating: at least the most it ever held between two
    /// clears (the vector's growth rounds up).
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_push_order_across_interleaved_pushes() {
        let mut fifo = Fifo::default();
        fifo.push(1);
        fifo.push(2);
        assert_eq!(fifo.pop(), Some(1));
        fifo.push(3);
        assert_eq!(fifo.pop(), Some(2));
        assert_eq!(fifo.pop(), Some(3));
        assert_eq!(fifo.pop(), None);
        assert_eq!(fifo.pop(), None);
        fifo.push(4);
        assert_eq!(fifo.pop(), Some(4));
        assert_eq!(fifo.pop(), None);
    }

    #[test]
    fn a_drained_list_reuses_its_memory() {
        let mut fifo = Fifo::default();
        for round in 0..100 {
            for i in 0..10 {
                fifo.push(round * 10 + i);
            }
            let popped: Vec<u32> = std::iter::from_fn(|| fifo.pop()).collect();
            assert_eq!(popped, (round * 10..round * 10 + 10).collect::<Vec<_>>());
        }
        assert!(fifo.capacity() < 100, "capacity {}", fifo.capacity());
    }
}
