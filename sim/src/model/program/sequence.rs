//! `Sequence`: children run one after another; the first failure fails the sequence.

use super::NodeKind;
use crate::model::Model;
use crate::model::state::Signal;

impl Model {
    pub(in crate::model) fn sequence_start(&mut self, frame: u32) {
        self.sequence_next(frame);
    }

    pub(in crate::model) fn sequence_child_done(&mut self, frame: u32, signal: Signal) {
        let Signal::Done { ok } = signal;
        if ok {
            self.frames[frame].succeeded += 1;
            self.sequence_next(frame);
        } else {
            self.frames[frame].failed += 1;
            self.report(frame, false);
        }
    }

    /// Starts the next child, or reports success after the last.
    fn sequence_next(&mut self, frame: u32) {
        let f = &self.frames[frame];
        let position = f.position;
        let NodeKind::Sequence { children } = &self.program.nodes[f.node as usize].kind else {
            unreachable!("a sequence frame")
        };
        match children.get(position as usize).copied() {
            Some(child) => {
                self.frames[frame].position += 1;
                self.start_child(frame, child, position as u64);
            }
            None => self.report(frame, true),
        }
    }
}
