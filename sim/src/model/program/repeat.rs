//! `Repeat`: the body runs `count` times in a row (the count drawn per run from a workload
//! stream, at most `MAX_REPEAT`); the first failed run fails the step.

use super::{NodeKind, occurrence};
use crate::model::Model;
use crate::model::state::Signal;
use crate::scenario::MAX_REPEAT;

impl Model {
    pub(in crate::model) fn repeat_start(&mut self, frame: u32) {
        let NodeKind::Repeat { count, .. } =
            &self.program.nodes[self.frames[frame].node as usize].kind
        else {
            unreachable!("a repeat frame")
        };
        let total = self.draw_count(frame, count, MAX_REPEAT);
        self.frames[frame].total = total;
        self.repeat_next(frame);
    }

    pub(in crate::model) fn repeat_child_done(&mut self, frame: u32, signal: Signal) {
        match signal {
            Signal::Done { ok: true, .. } => {
                self.frames[frame].succeeded += 1;
                self.repeat_next(frame);
            }
            Signal::Done { ok: false, .. } => {
                self.frames[frame].failed += 1;
                self.report(frame, false);
            }
            Signal::FirstChunk => {}
        }
    }

    fn repeat_next(&mut self, frame: u32) {
        let f = &self.frames[frame];
        if f.position >= f.total {
            self.report(frame, true);
            return;
        }
        let NodeKind::Repeat { body, .. } = &self.program.nodes[f.node as usize].kind else {
            unreachable!("a repeat frame")
        };
        let (body, key) = (*body, occurrence(f.key, f.position as u64));
        self.frames[frame].position += 1;
        self.start_child(frame, body, key);
    }
}
