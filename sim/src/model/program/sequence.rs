//! `Sequence`: children run one after another; the first failure fails the sequence. A
//! streaming child hands on its first chunk: the next child starts then, while the streaming
//! one goes on, and the sequence succeeds only when every child has finished.

use super::{NodeKind, occurrence};
use crate::model::Model;
use crate::model::state::Signal;

impl Model {
    pub(in crate::model) fn sequence_start(&mut self, frame: u32) {
        self.sequence_next(frame);
    }

    pub(in crate::model) fn sequence_child_done(&mut self, frame: u32, signal: Signal) {
        match signal {
            Signal::Done { ok: false, .. } => {
                self.frames[frame].failed += 1;
                self.report(frame, false);
            }
            Signal::Done { ok: true, streamed } => {
                self.frames[frame].succeeded += 1;
                let f = &self.frames[frame];
                if !streamed {
                    // The child the sequence was waiting for.
                    self.sequence_next(frame);
                } else if f.running == 0 && self.sequence_exhausted(frame) {
                    self.report(frame, true);
                }
            }
            // The current child streams: move on while it goes on.
            Signal::FirstChunk => self.sequence_next(frame),
        }
    }

    fn sequence_exhausted(&self, frame: u32) -> bool {
        let f = &self.frames[frame];
        let NodeKind::Sequence { children } = &self.program.nodes[f.node as usize].kind else {
            unreachable!("a sequence frame")
        };
        f.position as usize >= children.len()
    }

    /// Starts the next child, or reports success once the last has finished.
    fn sequence_next(&mut self, frame: u32) {
        let f = &self.frames[frame];
        let position = f.position;
        let NodeKind::Sequence { children } = &self.program.nodes[f.node as usize].kind else {
            unreachable!("a sequence frame")
        };
        match children.get(position as usize).copied() {
            Some(child) => {
                let key = occurrence(f.key, position as u64);
                self.frames[frame].position += 1;
                self.start_child(frame, child, key);
            }
            None if f.running == 0 => self.report(frame, true),
            None => {}
        }
    }
}
