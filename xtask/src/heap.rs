//! The bench's memory yardstick: the system allocator with a count of live heap bytes and
//! their peak, so `cargo xtask bench` can report the peak heap of one `sim::model::run` in
//! process (deterministic, unlike a resident-set size, and free of the binary's own pages).
//!
//! It counts only while `peak_during` measures (one thread, nothing else allocating). The
//! counters are atomics shared by every thread, and counting every allocation of the process
//! slowed the timed 2-thread sweeps (`bench --sweep`, five pairs: speed-ups of 1.85x and 1.87x,
//! 1.93x and 1.98x with the system allocator in its place, 1.98x twice with the counting
//! confined; a cache line the two threads took from each other is the likeliest reading).
//! Outside a measure an allocation reads one flag that nothing writes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

pub struct PeakAllocator;

/// Whether `peak_during` is measuring.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated less bytes freed since the measure began (negative when it frees what was
/// there before), and the most it reached.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(bytes: usize) {
    if COUNTING.load(Relaxed) {
        let live = LIVE.fetch_add(bytes as isize, Relaxed) + bytes as isize;
        PEAK.fetch_max(live, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if COUNTING.load(Relaxed) {
        LIVE.fetch_sub(bytes as isize, Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters allocate
// nothing.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as it is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        moved
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
}

/// The peak of live heap bytes above what was live when it started, over `f` (run on this
/// thread with nothing else allocating: the bench is single-threaded there).
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let value = f();
    COUNTING.store(false, Relaxed);
    (value, PEAK.load(Relaxed).max(0) as usize)
}
