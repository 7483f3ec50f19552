//! `Choice`: one option runs, drawn per run by its probability from a workload stream.

use super::{NodeKind, occurrence};
use crate::model::Model;
use crate::model::state::Signal;
use rand::Rng as _;

impl Model {
    pub(in crate::model) fn choice_start(&mut self, frame: u32) {
        let u: f64 = self.program_draws(frame).random();
        let f = &self.frames[frame];
        let NodeKind::Choice {
            cumulative,
            options,
        } = &self.program.nodes[f.node as usize].kind
        else {
            unreachable!("a choice frame")
        };
        // The last option takes what rounding leaves of the total.
        let index = cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(options.len() - 1);
        let (option, key) = (options[index], occurrence(f.key, index as u64));
        self.start_child(frame, option, key);
    }

    pub(in crate::model) fn choice_child_done(&mut self, frame: u32, signal: Signal) {
        if let Signal::Done { ok, .. } = signal {
            self.report(frame, ok);
        }
    }
}
