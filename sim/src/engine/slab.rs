//! A slab: entities stored in a `Vec` and addressed by a `u32` id, with freed ids reused, so
//! memory follows what is alive, not what has ever existed. Ids are never handed out twice at
//! once; callers pair `insert` with `remove` and use generation counters in their entities to
//! recognise stale references carried by events.

pub struct Slab<T> {
    /// Each entity with its liveness beside it: a handler checks that an event's entity is
    /// still live and then reads it, one bounds check and one cache line.
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
}

struct Slot<T> {
    item: T,
    live: bool,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Stores `item` and returns its id. `make` receives the previous occupant of a reused slot
    /// (to carry its generation forward) or `None` for a new slot.
    pub fn insert_with(&mut self, make: impl FnOnce(Option<&T>) -> T) -> u32 {
        self.len += 1;
        if let Some(id) = self.free.pop() {
            let slot = &mut self.slots[id as usize];
            slot.item = make(Some(&slot.item));
            slot.live = true;
            id
        } else {
            let id = u32::try_from(self.slots.len()).expect("slab full: more than 2^32 entities");
            self.slots.push(Slot {
                item: make(None),
                live: true,
            });
            id
        }
    }

    pub fn remove(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        assert!(slot.live, "slab: double free of {id}");
        slot.live = false;
        self.free.push(id);
        self.len -= 1;
    }

    #[inline]
    pub fn is_live(&self, id: u32) -> bool {
        self.slots.get(id as usize).is_some_and(|slot| slot.live)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes its slots take: every slot up to the high-water mark, live or free (a slab
    /// never shrinks). The vectors' spare capacity is left out: reserved, not yet written, so
    /// not yet memory the machine gives the process.
    pub fn footprint(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot<T>>() + self.free.len() * 4
    }

    /// Live ids in increasing order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.live)
            .map(|(id, _)| id as u32)
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, id: u32) -> &T {
        &self.slots[id as usize].item
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, id: u32) -> &mut T {
        &mut self.slots[id as usize].item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_ids_and_counts_live() {
        let mut slab: Slab<u32> = Slab::default();
        let a = slab.insert_with(|_| 1);
        let b = slab.insert_with(|_| 2);
        slab.remove(a);
        assert_eq!(slab.len(), 1);
        let c = slab.insert_with(|previous| previous.map_or(0, |p| p + 10));
        assert_eq!(c, a);
        assert_eq!(slab[c], 11);
        assert_eq!(slab.ids().collect::<Vec<_>>(), vec![a, b]);
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_panics() {
        let mut slab: Slab<u8> = Slab::default();
        let a = slab.insert_with(|_| 0);
        slab.remove(a);
        slab.remove(a);
    }
}
