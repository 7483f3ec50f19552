//! The domain-free discrete-event engine: integer time and the event queue, slabs of entities
//! addressed by id, and seeded random streams. Nothing here knows about workflows, instances or
//! LLMs.

pub mod fifo;
pub mod queue;
pub mod rng;
pub mod slab;

pub use fifo::Fifo;
pub use queue::{EventQueue, Time};
pub use slab::Slab;
