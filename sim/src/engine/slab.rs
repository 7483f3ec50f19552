//! A slab: entities stored in a `Vec` and addressed by a `u32` id, with freed ids reused, so
//! memory follows what is alive, not what has ever existed. Ids are never handed out twice at
//! once; callers pair `insert` with `remove` and use generation counters in their entities to
//! recognise stale references carried by events.

pub struct Slab<T> {
    items: Vec<T>,
    live: Vec<bool>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            live: Vec::new(),
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
            let slot = &mut self.items[id as usize];
            *slot = make(Some(slot));
            self.live[id as usize] = true;
            id
        } else {
            let id = u32::try_from(self.items.len()).expect("slab full: more than 2^32 entities");
            self.items.push(make(None));
            self.live.push(true);
            id
        }
    }

    pub fn remove(&mut self, id: u32) {
        assert!(self.live[id as usize], "slab: double free of {id}");
        self.live[id as usize] = false;
        self.free.push(id);
        self.len -= 1;
    }

    pub fn is_live(&self, id: u32) -> bool {
        self.live.get(id as usize).copied().unwrap_or(false)
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
        self.items.len() * (std::mem::size_of::<T>() + 1) + self.free.len() * 4
    }

    /// Live ids in increasing order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.live
            .iter()
            .enumerate()
            .filter(|(_, live)| **live)
            .map(|(id, _)| id as u32)
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    fn index(&self, id: u32) -> &T {
        &self.items[id as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, id: u32) -> &mut T {
        &mut self.items[id as usize]
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
