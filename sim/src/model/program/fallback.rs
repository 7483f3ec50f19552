//! The on-failure wrapper of a step: the step runs inside it; when the step fails, the
//! fallback steps run (a re-plan), at most `max_runs` times; their success is the step's
//! success. The wrapper is transparent to the step's draws and passes a streaming step's first
//! chunk on to its own parent.

use super::fallback_occurrence;
use crate::model::Model;
use crate::model::state::*;

impl Model {
    pub(in crate::model) fn fallback_start(&mut self, frame: u32) {
        let f = &mut self.frames[frame];
        f.running = 1;
        let (wf, generation, node, key) = (f.wf, f.generation, f.node, f.key);
        self.start_core(wf, frame, generation, node, key);
    }

    pub(in crate::model) fn fallback_child_done(&mut self, frame: u32, signal: Signal) {
        match signal {
            Signal::FirstChunk => {
                let f = &mut self.frames[frame];
                f.streamed = true;
                let (wf, parent, parent_gen) = (f.wf, f.parent, f.parent_gen);
                self.report_to(wf, parent, parent_gen, Signal::FirstChunk);
            }
            Signal::Done { ok: true, .. } => self.report(frame, true),
            Signal::Done { ok: false, .. } => {
                let f = &self.frames[frame];
                let (fallback, max_runs) = self.program.nodes[f.node as usize]
                    .on_failure
                    .expect("a wrapper's node has a fallback");
                if f.position >= max_runs {
                    self.report(frame, false);
                    return;
                }
                let run = f.position + 1;
                let (key, wf) = (fallback_occurrence(f.key, run), f.wf);
                self.frames[frame].position = run;
                self.stats.fallbacks_run += 1;
                if let Some(conv) = self.conversation_of(wf) {
                    self.convs[conv].replanned = true;
                }
                self.start_child(frame, fallback, key);
            }
        }
    }
}
