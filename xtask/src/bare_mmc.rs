//! The bench's yardstick: a bare M/M/c event loop (a binary heap of timestamped events, a FIFO
//! of waiting customers, a count of busy servers, no model). It serves the same customers the
//! model's M/M/c reduction serves, with the same kind of generator (PCG, integer nanosecond
//! times), so the ratio of the two customers/s says how far the model's hot path is from the
//! least an event loop must do. Ratios survive a noisy machine; absolute times do not.

use rand::Rng as _;
use sim::engine::rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

const NANOS_PER_SECOND: f64 = 1e9;

/// What one bare run did: its wall time, the customers served and their mean wait in queue.
pub struct BareRun {
    pub wall: Duration,
    pub customers: u64,
    pub mean_wait_s: f64,
}

/// Serves `customers` arrivals of a Poisson(lambda) stream on `c` exponential(mu) servers.
pub fn run(lambda: f64, mu: f64, c: u32, customers: u64, seed: u64) -> BareRun {
    let started = Instant::now();
    let mut draws = rng::from_seed(seed);
    let mut exponential = |rate: f64| -> u64 {
        let u: f64 = draws.random();
        (-(1.0 - u).ln() / rate * NANOS_PER_SECOND) as u64
    };
    // (time, sequence, departure?): the sequence breaks ties in scheduling order.
    let mut events: BinaryHeap<Reverse<(u64, u64, bool)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let (mut busy, mut arrived, mut served) = (0u32, 0u64, 0u64);
    let mut wait_total_ns = 0u128;
    events.push(Reverse((exponential(lambda), sequence, false)));
    while let Some(Reverse((now, _, departure))) = events.pop() {
        sequence += 1;
        if departure {
            served += 1;
            match waiting.pop_front() {
                Some(arrived_at) => {
                    wait_total_ns += u128::from(now - arrived_at);
                    events.push(Reverse((now + exponential(mu), sequence, true)));
                }
                None => busy -= 1,
            }
            continue;
        }
        arrived += 1;
        if arrived < customers {
            events.push(Reverse((now + exponential(lambda), sequence, false)));
            sequence += 1;
        }
        if busy < c {
            busy += 1;
            events.push(Reverse((now + exponential(mu), sequence, true)));
        } else {
            waiting.push_back(now);
        }
    }
    BareRun {
        wall: started.elapsed(),
        customers: served,
        mean_wait_s: wait_total_ns as f64 / served.max(1) as f64 / NANOS_PER_SECOND,
    }
}

pub use sim::metrics::queueing::erlang_c_wait_s;

#[cfg(test)]
mod tests {
    use super::*;

    /// The bare loop is an M/M/c: its mean wait matches Erlang C (rho 0.8, 200,000 customers:
    /// the standard error of the mean wait is a few percent of it).
    #[test]
    fn bare_loop_waits_as_erlang_c_says() {
        let (lambda, mu, c) = (8.0, 1.0, 10);
        let theory = erlang_c_wait_s(lambda, mu, c);
        assert!((theory - 0.204_590).abs() < 1e-5, "Erlang C: {theory}");
        let run = run(lambda, mu, c, 200_000, 1);
        assert_eq!(run.customers, 200_000);
        let error = (run.mean_wait_s - theory).abs() / theory;
        assert!(error < 0.1, "bare loop Wq {} vs {theory}", run.mean_wait_s);
    }
}
