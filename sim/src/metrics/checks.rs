//! End-of-run checkers, run on every run (not only in tests): conservation of messages,
//! conversations and activity attempts, and Little's law as an exact sample-path identity.
//!
//! Little's law: over [0, T], the area under N(t) (number in system) equals the sum over items
//! of their time in system, counting items still in system up to T. The model accumulates the
//! two sides independently (one from counter changes, one from per-item timestamps), in integer
//! nanoseconds, so they must be equal exactly; any accounting slip shows up here.

use crate::metrics::report::LittleCheck;

/// Counts from the model's counters (`*_counted`) and from a scan of live entities at the end
/// (`*_in_flight`), so a counter that drifts from the entities is caught.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accounting {
    pub messages_received: u64,
    pub messages_answered: u64,
    pub messages_unanswered: u64,
    pub messages_in_flight: u64,
    pub conversations_started: u64,
    pub conversations_completed: u64,
    pub conversations_open: u64,
    pub attempts_started: u64,
    pub attempts_completed: u64,
    pub attempts_failed: u64,
    pub attempts_timed_out: u64,
    pub attempts_in_flight: u64,
    pub activities_scheduled: u64,
    pub activities_completed: u64,
    pub activities_failed: u64,
    pub activities_orphaned: u64,
    pub activities_in_flight: u64,
    pub branches_started: u64,
    pub branches_succeeded: u64,
    pub branches_failed: u64,
    pub branches_abandoned: u64,
    pub branches_in_flight: u64,
}

pub fn check_conservation(a: &Accounting) -> Result<(), String> {
    let mut problems = Vec::new();
    let messages = a.messages_answered + a.messages_unanswered + a.messages_in_flight;
    if messages != a.messages_received {
        problems.push(format!(
            "messages: received {} != answered {} + unanswered {} + in flight {}",
            a.messages_received, a.messages_answered, a.messages_unanswered, a.messages_in_flight
        ));
    }
    if a.conversations_completed + a.conversations_open != a.conversations_started {
        problems.push(format!(
            "conversations: started {} != completed {} + open {}",
            a.conversations_started, a.conversations_completed, a.conversations_open
        ));
    }
    let attempts =
        a.attempts_completed + a.attempts_failed + a.attempts_timed_out + a.attempts_in_flight;
    if attempts != a.attempts_started {
        problems.push(format!(
            "activity attempts: started {} != completed {} + failed {} + timed out {} + in flight {}",
            a.attempts_started,
            a.attempts_completed,
            a.attempts_failed,
            a.attempts_timed_out,
            a.attempts_in_flight
        ));
    }
    let activities = a.activities_completed
        + a.activities_failed
        + a.activities_orphaned
        + a.activities_in_flight;
    if activities != a.activities_scheduled {
        problems.push(format!(
            "activities: scheduled {} != completed {} + failed {} + orphaned {} + in flight {}",
            a.activities_scheduled,
            a.activities_completed,
            a.activities_failed,
            a.activities_orphaned,
            a.activities_in_flight
        ));
    }
    let branches =
        a.branches_succeeded + a.branches_failed + a.branches_abandoned + a.branches_in_flight;
    if branches != a.branches_started {
        problems.push(format!(
            "parallel branches: started {} != succeeded {} + failed {} + abandoned {} + in flight {}",
            a.branches_started,
            a.branches_succeeded,
            a.branches_failed,
            a.branches_abandoned,
            a.branches_in_flight
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// One side of Little's law each: the area under N(t), and per-item times in system.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LittleAccumulator {
    pub in_system: u64,
    last_change: u64,
    pub area_ns: u128,
    pub arrivals: u64,
    pub sojourn_ns: u128,
}

impl LittleAccumulator {
    fn advance(&mut self, now: u64) {
        self.area_ns += self.in_system as u128 * (now - self.last_change) as u128;
        self.last_change = now;
    }

    pub fn arrive(&mut self, now: u64) {
        self.advance(now);
        self.in_system += 1;
        self.arrivals += 1;
    }

    pub fn depart(&mut self, now: u64, arrived_at: u64) {
        self.advance(now);
        self.in_system -= 1;
        self.sojourn_ns += (now - arrived_at) as u128;
    }

    /// Closes the area at the horizon; the caller adds each remaining item's time up to it with
    /// `add_open_item`.
    pub fn close(&mut self, horizon: u64) {
        self.advance(horizon);
    }

    pub fn add_open_item(&mut self, horizon: u64, arrived_at: u64) {
        self.sojourn_ns += (horizon - arrived_at) as u128;
    }
}

pub fn check_littles_law(
    what: &str,
    accumulator: &LittleAccumulator,
    horizon_ns: u64,
) -> Result<LittleCheck, String> {
    if accumulator.area_ns != accumulator.sojourn_ns {
        return Err(format!(
            "little's law for {what}: area under N(t) {} ns != sum of times in system {} ns",
            accumulator.area_ns, accumulator.sojourn_ns
        ));
    }
    let horizon_s = horizon_ns as f64 / 1e9;
    let arrivals = accumulator.arrivals as f64;
    Ok(LittleCheck {
        l: if horizon_s > 0.0 {
            accumulator.area_ns as f64 / 1e9 / horizon_s
        } else {
            0.0
        },
        lambda_per_s: if horizon_s > 0.0 {
            arrivals / horizon_s
        } else {
            0.0
        },
        w_s: if arrivals > 0.0 {
            accumulator.sojourn_ns as f64 / 1e9 / arrivals
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balanced() -> Accounting {
        Accounting {
            messages_received: 10,
            messages_answered: 7,
            messages_unanswered: 2,
            messages_in_flight: 1,
            conversations_started: 4,
            conversations_completed: 3,
            conversations_open: 1,
            attempts_started: 20,
            attempts_completed: 15,
            attempts_failed: 2,
            attempts_timed_out: 2,
            attempts_in_flight: 1,
            activities_scheduled: 12,
            activities_completed: 9,
            activities_failed: 1,
            activities_orphaned: 1,
            activities_in_flight: 1,
            branches_started: 6,
            branches_succeeded: 3,
            branches_failed: 1,
            branches_abandoned: 1,
            branches_in_flight: 1,
        }
    }

    #[test]
    fn conservation_accepts_balanced_books() {
        assert_eq!(check_conservation(&balanced()), Ok(()));
    }

    #[test]
    fn conservation_catches_each_broken_account() {
        let broken_messages = Accounting {
            messages_answered: 8,
            ..balanced()
        };
        let error = check_conservation(&broken_messages).unwrap_err();
        assert!(error.contains("messages: received 10"), "{error}");
        let broken_conversations = Accounting {
            conversations_open: 0,
            ..balanced()
        };
        assert!(
            check_conservation(&broken_conversations)
                .unwrap_err()
                .contains("conversations")
        );
        let broken_attempts = Accounting {
            attempts_timed_out: 0,
            ..balanced()
        };
        assert!(
            check_conservation(&broken_attempts)
                .unwrap_err()
                .contains("activity attempts")
        );
    }

    #[test]
    fn littles_law_holds_for_consistent_accounting_and_values_are_right() {
        let mut acc = LittleAccumulator::default();
        acc.arrive(0);
        acc.arrive(1_000_000_000);
        acc.depart(3_000_000_000, 0);
        acc.close(4_000_000_000);
        acc.add_open_item(4_000_000_000, 1_000_000_000);
        let check = check_littles_law("messages", &acc, 4_000_000_000).unwrap();
        // Items spend 3 s each; 2 arrivals in 4 s; L = 6 / 4.
        assert_eq!(check.l, 1.5);
        assert_eq!(check.lambda_per_s, 0.5);
        assert_eq!(check.w_s, 3.0);
        assert!((check.l - check.lambda_per_s * check.w_s).abs() < 1e-12);
    }

    #[test]
    fn littles_law_catches_a_departure_the_counter_missed() {
        let mut acc = LittleAccumulator::default();
        acc.arrive(0);
        acc.arrive(0);
        acc.depart(2_000_000_000, 0);
        // Broken: the second item left at 3 s but only its time in system was recorded, not
        // the counter change.
        acc.sojourn_ns += 3_000_000_000;
        acc.close(5_000_000_000);
        let error = check_littles_law("messages", &acc, 5_000_000_000).unwrap_err();
        assert!(error.contains("little's law for messages"), "{error}");
    }
}
