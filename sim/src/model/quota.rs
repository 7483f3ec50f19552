//! Provider quotas: requests-per-minute and tokens-per-minute token buckets and a limit on
//! requests in flight, per provider. An attempt is admitted or refused (a 429) at its start
//! time, which is the time of the event that evaluates it (`llm::call` suspends a call before
//! a limited provider's attempt that starts later), so admissions happen in time order.
//!
//! Bucket levels are integers (u128) in units of 1e-6 token x nanoseconds per minute, so
//! refills and takes are exact and a run does not depend on float rounding: a quota of q per
//! minute is held as round(q x 1e6) micro-units, refilled by that many units per nanosecond.

use crate::engine::Time;
use crate::metrics::report::{QuotaColumns, QuotaCounts, QuotaSample};
use crate::model::llm::QuotaLimit;
use crate::scenario::{Action, Provider, Scenario};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NANOS_PER_MINUTE: u128 = 60_000_000_000;
const MICRO: f64 = 1e6;

/// A token bucket that holds one minute's quota, starts full and refills continuously.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// The quota per minute in millionths.
    per_minute_micro: u128,
    /// Tokens in the bucket, in millionths x nanoseconds per minute.
    level: u128,
    updated_at: Time,
}

impl TokenBucket {
    /// A full bucket for a quota of `per_minute` at `now`.
    pub fn full(per_minute: f64, now: Time) -> Self {
        let per_minute_micro = (per_minute * MICRO).round().max(1.0) as u128;
        TokenBucket {
            per_minute_micro,
            level: per_minute_micro * NANOS_PER_MINUTE,
            updated_at: now,
        }
    }

    fn capacity(&self) -> u128 {
        self.per_minute_micro * NANOS_PER_MINUTE
    }

    /// Adds what the quota refilled since the last update (capped at one minute's quota).
    pub fn refill(&mut self, now: Time) {
        let elapsed = now.saturating_sub(self.updated_at) as u128;
        self.level =
            (self.level + self.per_minute_micro.saturating_mul(elapsed)).min(self.capacity());
        self.updated_at = self.updated_at.max(now);
    }

    /// Whether `amount` tokens are in the bucket at `now` (after refilling).
    pub fn has(&mut self, now: Time, amount: u64) -> bool {
        self.refill(now);
        self.level >= Self::units(amount)
    }

    /// Takes `amount` tokens; the caller has checked `has`.
    pub fn take(&mut self, amount: u64) {
        self.level = self
            .level
            .checked_sub(Self::units(amount))
            .expect("a bucket gives only what it holds");
    }

    /// Tokens in the bucket (after the last refill).
    #[cfg(test)]
    pub fn tokens(&self) -> f64 {
        self.level as f64 / (MICRO * NANOS_PER_MINUTE as f64)
    }

    /// A new quota from `now` on: the level so far is kept, capped at the new capacity.
    pub fn set_quota(&mut self, per_minute: f64, now: Time) {
        self.refill(now);
        self.per_minute_micro = (per_minute * MICRO).round().max(1.0) as u128;
        self.level = self.level.min(self.capacity());
    }

    fn units(amount: u64) -> u128 {
        (amount as u128) * (MICRO as u128) * NANOS_PER_MINUTE
    }
}

/// One provider's quotas in force and what they did.
#[derive(Clone, Debug, Default)]
pub struct ProviderQuota {
    requests: Option<TokenBucket>,
    tokens: Option<TokenBucket>,
    max_concurrent: Option<u32>,
    /// End times of admitted attempts that may still be in flight (min-heap); kept only
    /// with a concurrency limit.
    in_flight: BinaryHeap<Reverse<Time>>,
    /// Run totals: 429s by the quota that refused them.
    pub rejected_requests: u64,
    pub rejected_tokens: u64,
    pub rejected_concurrency: u64,
    /// Since the last sample: admissions, tokens admitted, 429s, peak in flight, and what the
    /// quotas allowed (requests and tokens, the integral of the quota over the interval).
    pub interval: QuotaInterval,
    allowance_since: Time,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct QuotaInterval {
    pub admitted: u64,
    pub admitted_tokens: u64,
    pub rejected: u64,
    pub in_flight_max: u32,
    pub requests_allowed: f64,
    pub tokens_allowed: f64,
}

impl ProviderQuota {
    /// The quotas `provider` sets, buckets full at `now`.
    pub fn new(provider: &Provider, now: Time) -> Self {
        ProviderQuota {
            requests: provider
                .requests_per_minute
                .map(|q| TokenBucket::full(q, now)),
            tokens: provider
                .tokens_per_minute
                .map(|q| TokenBucket::full(q, now)),
            max_concurrent: provider.max_concurrent_requests,
            allowance_since: now,
            ..Default::default()
        }
    }

    pub fn is_limited(&self) -> bool {
        self.requests.is_some() || self.tokens.is_some() || self.max_concurrent.is_some()
    }

    /// Applies `provider`'s quotas from `now` on (a timeline `set`): buckets keep their level
    /// (capped at the new quota), a new quota starts full, a removed one goes.
    pub fn apply(&mut self, provider: &Provider, now: Time) {
        self.accrue_allowance(now);
        fn update(bucket: &mut Option<TokenBucket>, quota: Option<f64>, now: Time) {
            match (bucket.as_mut(), quota) {
                (Some(b), Some(q)) => b.set_quota(q, now),
                (None, Some(q)) => *bucket = Some(TokenBucket::full(q, now)),
                (_, None) => *bucket = None,
            }
        }
        update(&mut self.requests, provider.requests_per_minute, now);
        update(&mut self.tokens, provider.tokens_per_minute, now);
        self.max_concurrent = provider.max_concurrent_requests;
        if self.max_concurrent.is_none() {
            self.in_flight.clear();
        }
    }

    /// Admits an attempt at `now` that asks for `tokens` and ends at `ends_at`, or says which
    /// quota refuses it (checked in the order concurrency, requests, tokens; a refused attempt
    /// takes nothing).
    pub fn admit(&mut self, now: Time, tokens: u64, ends_at: Time) -> Result<(), QuotaLimit> {
        let refused = self.check(now, tokens);
        if let Err(limit) = refused {
            self.interval.rejected += 1;
            match limit {
                QuotaLimit::Requests => self.rejected_requests += 1,
                QuotaLimit::Tokens => self.rejected_tokens += 1,
                QuotaLimit::Concurrency => self.rejected_concurrency += 1,
            }
            return refused;
        }
        if let Some(bucket) = &mut self.requests {
            bucket.take(1);
        }
        if let Some(bucket) = &mut self.tokens {
            bucket.take(tokens);
        }
        if self.max_concurrent.is_some() {
            self.in_flight.push(Reverse(ends_at));
            let in_flight = self.in_flight.len() as u32;
            self.interval.in_flight_max = self.interval.in_flight_max.max(in_flight);
        }
        self.interval.admitted += 1;
        self.interval.admitted_tokens = self.interval.admitted_tokens.saturating_add(tokens);
        Ok(())
    }

    fn check(&mut self, now: Time, tokens: u64) -> Result<(), QuotaLimit> {
        if let Some(limit) = self.max_concurrent {
            while self.in_flight.peek().is_some_and(|end| end.0 <= now) {
                self.in_flight.pop();
            }
            if self.in_flight.len() as u64 >= u64::from(limit) {
                return Err(QuotaLimit::Concurrency);
            }
        }
        if let Some(bucket) = &mut self.requests
            && !bucket.has(now, 1)
        {
            return Err(QuotaLimit::Requests);
        }
        if let Some(bucket) = &mut self.tokens
            && !bucket.has(now, tokens)
        {
            return Err(QuotaLimit::Tokens);
        }
        Ok(())
    }

    /// Attempts in flight at `now` (with a concurrency limit; 0 without).
    pub fn in_flight(&mut self, now: Time) -> u32 {
        while self.in_flight.peek().is_some_and(|end| end.0 <= now) {
            self.in_flight.pop();
        }
        self.in_flight.len() as u32
    }

    /// Adds what the quotas allowed since the last call to the interval's allowance.
    pub fn accrue_allowance(&mut self, now: Time) {
        let minutes = now.saturating_sub(self.allowance_since) as f64 / 60e9;
        if let Some(b) = &self.requests {
            self.interval.requests_allowed += b.per_minute_micro as f64 / MICRO * minutes;
        }
        if let Some(b) = &self.tokens {
            self.interval.tokens_allowed += b.per_minute_micro as f64 / MICRO * minutes;
        }
        self.allowance_since = self.allowance_since.max(now);
    }

    /// The interval's figures, reset for the next one; the peak in flight starts again from
    /// what is in flight at `now`.
    pub fn take_interval(&mut self, now: Time) -> QuotaInterval {
        self.accrue_allowance(now);
        let interval = std::mem::take(&mut self.interval);
        if self.max_concurrent.is_some() {
            self.interval.in_flight_max = self.in_flight(now);
        }
        interval
    }
}

/// The providers that report quota figures (index, columns): those with a quota in
/// `scenario` or after any of its timeline sets, so the columns are known before the run.
pub fn reported(scenario: &Scenario) -> Vec<(usize, QuotaColumns)> {
    let effective = scenario.timeline.iter().filter_map(|i| match &i.action {
        Action::Set { effective, .. } => Some(effective.as_ref()),
        _ => None,
    });
    let all: Vec<&Scenario> = std::iter::once(scenario).chain(effective).collect();
    let mut out = Vec::new();
    for (index, provider) in scenario.providers.iter().enumerate() {
        let mut columns = QuotaColumns {
            provider: provider.name.clone(),
            ..Default::default()
        };
        for s in &all {
            if let Some(p) = s.providers.get(index) {
                columns.requests |= p.requests_per_minute.is_some();
                columns.tokens |= p.tokens_per_minute.is_some();
                columns.concurrency |= p.max_concurrent_requests.is_some();
            }
        }
        if columns.requests || columns.tokens || columns.concurrency {
            out.push((index, columns));
        }
    }
    out
}

impl ProviderQuota {
    /// The run's 429s by quota.
    pub fn counts(&self) -> QuotaCounts {
        QuotaCounts {
            rejected: self.rejected_requests + self.rejected_tokens + self.rejected_concurrency,
            rejected_requests_per_minute: self.rejected_requests,
            rejected_tokens_per_minute: self.rejected_tokens,
            rejected_concurrency: self.rejected_concurrency,
        }
    }

    /// The interval ending at `now` as a time-series sample, reset for the next one.
    pub fn sample(&mut self, now: Time) -> QuotaSample {
        let limited = self.max_concurrent.is_some();
        let interval = self.take_interval(now);
        let used = |admitted: u64, allowed: f64| (allowed > 0.0).then(|| admitted as f64 / allowed);
        QuotaSample {
            rejected: interval.rejected,
            requests_used: used(interval.admitted, interval.requests_allowed),
            tokens_used: used(interval.admitted_tokens, interval.tokens_allowed),
            in_flight_max: limited.then_some(interval.in_flight_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Time = 1_000_000_000;

    fn provider(rpm: Option<f64>, tpm: Option<f64>, concurrent: Option<u32>) -> Provider {
        let mut p = crate::model::testkit::fleet(1.0, 60.0).providers[0].clone();
        p.requests_per_minute = rpm;
        p.tokens_per_minute = tpm;
        p.max_concurrent_requests = concurrent;
        p
    }

    #[test]
    fn bucket_starts_full_and_refills_continuously_up_to_one_minute() {
        let mut bucket = TokenBucket::full(60.0, 0);
        for _ in 0..60 {
            assert!(bucket.has(0, 1));
            bucket.take(1);
        }
        assert!(
            !bucket.has(0, 1),
            "60 per minute: the 61st at t = 0 is refused"
        );
        // One per second: half a second gives half a token, one second a whole one.
        assert!(!bucket.has(SECOND / 2, 1));
        assert!(bucket.has(SECOND, 1));
        bucket.take(1);
        assert_eq!(bucket.tokens(), 0.0);
        // Ten minutes idle: capped at one minute's quota.
        bucket.refill(600 * SECOND);
        assert_eq!(bucket.tokens(), 60.0);
    }

    #[test]
    fn fractional_quotas_refill_exactly() {
        // 0.5 per minute: one token every two minutes.
        let mut bucket = TokenBucket::full(0.5, 0);
        assert!(
            !bucket.has(0, 1),
            "a half-token bucket never holds a whole request"
        );
        // 1.5 per minute: 40 s per token, exactly.
        let mut bucket = TokenBucket::full(1.5, 0);
        assert!(bucket.has(0, 1));
        bucket.take(1);
        assert!(!bucket.has(19 * SECOND, 1));
        assert!(bucket.has(20 * SECOND, 1));
        bucket.take(1);
        assert!(!bucket.has(60 * SECOND - 1, 1));
        assert!(bucket.has(60 * SECOND, 1));
    }

    #[test]
    fn a_lower_quota_caps_the_level_and_a_higher_one_refills_faster() {
        let mut bucket = TokenBucket::full(100.0, 0);
        bucket.set_quota(10.0, 0);
        assert_eq!(bucket.tokens(), 10.0);
        bucket.take(10);
        bucket.set_quota(600.0, 0);
        assert!(
            bucket.has(SECOND / 10, 1),
            "600 per minute: one every 100 ms"
        );
    }

    #[test]
    fn admission_checks_concurrency_then_requests_then_tokens_and_refusals_take_nothing() {
        let mut quota = ProviderQuota::new(&provider(Some(2.0), Some(1000.0), Some(1)), 0);
        assert_eq!(quota.admit(0, 400, 10 * SECOND), Ok(()));
        // One in flight until 10 s.
        assert_eq!(
            quota.admit(SECOND, 400, 20 * SECOND),
            Err(QuotaLimit::Concurrency)
        );
        assert_eq!(quota.admit(10 * SECOND, 400, 11 * SECOND), Ok(()));
        // Two requests taken (plus a sixth of one refilled by 11 s): the requests bucket is dry.
        assert_eq!(
            quota.admit(11 * SECOND, 10, 12 * SECOND),
            Err(QuotaLimit::Requests)
        );
        // At 30 s one request has refilled; 1000 - 800 taken + 500 refilled leave 700 tokens.
        assert_eq!(
            quota.admit(30 * SECOND, 900, 31 * SECOND),
            Err(QuotaLimit::Tokens)
        );
        assert_eq!(quota.admit(30 * SECOND, 700, 31 * SECOND), Ok(()));
        assert_eq!(
            (
                quota.rejected_concurrency,
                quota.rejected_requests,
                quota.rejected_tokens
            ),
            (1, 1, 1)
        );
        let interval = quota.take_interval(60 * SECOND);
        assert_eq!((interval.admitted, interval.rejected), (3, 3));
        assert_eq!(interval.admitted_tokens, 1500);
        assert_eq!(interval.in_flight_max, 1);
        assert_eq!(interval.requests_allowed, 2.0);
        assert_eq!(interval.tokens_allowed, 1000.0);
    }
}
