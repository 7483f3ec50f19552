//! LLM provider calls: one call tries the providers of a group in order, failing over on a 5xx,
//! a 429 (rate-limit window or provider quota) or a per-attempt timeout. Pure: the caller passes
//! the draws' generator, the providers' current incident state and what admits an attempt on a
//! provider with a quota, and gets back what happened.
//!
//! An attempt on a provider with a quota is admitted at its own start time: when an earlier
//! attempt of the call took time, the call stops before it (`Progress::Suspended`) and the
//! caller resumes it at that time, so quotas see attempts in time order. Draws do not depend on
//! this: every attempt draws the same values from the call's stream, in provider order.

use crate::engine::rng::Rng;
use crate::model::dist;
use crate::scenario::{Nanos, Provider, seconds_to_nanos};
use rand::Rng as _;

/// A 429 comes back quickly: the request is rejected before any generation.
pub const RATE_LIMIT_RESPONSE: Nanos = 50_000_000;

/// Timeline incidents in force for one provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProviderCondition {
    pub outage: bool,
    pub rate_limited: bool,
    /// Latency multiplier (1 when not degraded).
    pub latency_factor: f64,
}

/// The provider quota that refused an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaLimit {
    /// `requests_per_minute`
    Requests,
    /// `tokens_per_minute`
    Tokens,
    /// `max_concurrent_requests`
    Concurrency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    Ok,
    Error,
    Timeout,
    /// A 429 from a timeline rate-limit incident.
    RateLimited,
    /// A 429 from one of the provider's quotas.
    QuotaLimited(QuotaLimit),
}

/// One provider attempt within a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderAttempt {
    /// The provider's index (`u32`: 16 bytes an attempt, where a `usize` took 24).
    pub provider: u32,
    pub result: AttemptResult,
    pub elapsed: Nanos,
}

impl ProviderAttempt {
    /// A slot no attempt has filled yet.
    pub const UNUSED: ProviderAttempt = ProviderAttempt {
        provider: 0,
        result: AttemptResult::Ok,
        elapsed: 0,
    };
}

impl Default for ProviderAttempt {
    fn default() -> Self {
        Self::UNUSED
    }
}

/// The whole call: attempts in order (at most one per provider) and the total time.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallOutcome {
    /// The first `tried` are the attempts made; the others are unused (`ProviderAttempt::UNUSED`).
    pub attempts: [ProviderAttempt; MAX_GROUP],
    pub elapsed: Nanos,
    pub ok: bool,
    /// Streaming: when the first chunk arrived, from the call's start (successful calls).
    pub first_chunk_at: Option<Nanos>,
    /// Providers of the group tried so far.
    pub tried: usize,
}

impl CallOutcome {
    /// The attempts made, in order: the first `tried` slots (the others are unused), so a
    /// reader need not look at all `MAX_GROUP`.
    #[inline]
    pub fn attempts_made(&self) -> &[ProviderAttempt] {
        &self.attempts[..self.tried.min(MAX_GROUP)]
    }
}

/// What one call asks of the providers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Request {
    /// Input tokens the provider must prefill (those not read from its prompt cache).
    pub uncached_input_tokens: u64,
    pub output_tokens: u64,
    /// Streaming: the size of the first chunk handed on.
    pub first_chunk_tokens: Option<u64>,
    /// What a tokens-per-minute quota charges at admission: input (cached included) + output.
    pub quota_tokens: u64,
}

/// The longest provider group; the scenario loader rejects longer ones.
pub const MAX_GROUP: usize = 8;

/// Admits attempts on providers with a quota.
pub trait Admission {
    /// Whether `provider` has a quota: its attempts are admitted at their start time.
    fn limited(&self, provider: usize) -> bool;
    /// Admits an attempt on `provider` that starts `offset` into the call, asks for `tokens`
    /// and lasts `elapsed`, or names the quota that refuses it.
    fn admit(
        &mut self,
        provider: usize,
        offset: Nanos,
        tokens: u64,
        elapsed: Nanos,
    ) -> Result<(), QuotaLimit>;
}

/// No provider has a quota.
pub struct Unlimited;

impl Admission for Unlimited {
    #[inline]
    fn limited(&self, _provider: usize) -> bool {
        false
    }

    fn admit(&mut self, _: usize, _: Nanos, _: u64, _: Nanos) -> Result<(), QuotaLimit> {
        Ok(())
    }
}

/// Whether a call is over, or waits for the start of its next attempt (`at`, from the call's
/// start), which a provider quota must admit then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Done,
    Suspended { at: Nanos },
}

/// Tries `group` (provider indexes) in order, with no quota.
pub fn call(
    providers: &[Provider],
    conditions: &[ProviderCondition],
    group: &[usize],
    request: &Request,
    rng: &mut Rng,
) -> CallOutcome {
    let mut outcome = CallOutcome::default();
    let progress = call_with(
        providers,
        conditions,
        group,
        request,
        rng,
        &mut outcome,
        &mut Unlimited,
    );
    debug_assert_eq!(progress, Progress::Done);
    outcome
}

/// Tries `group` in order from the provider after `outcome.tried`, adding to `outcome`; stops
/// before an attempt on a provider with a quota that starts later than the time it was called
/// at (`outcome.elapsed` on entry).
pub fn call_with(
    providers: &[Provider],
    conditions: &[ProviderCondition],
    group: &[usize],
    request: &Request,
    rng: &mut Rng,
    outcome: &mut CallOutcome,
    admission: &mut impl Admission,
) -> Progress {
    let called_at = outcome.elapsed;
    for (slot, &index) in group.iter().enumerate().take(MAX_GROUP).skip(outcome.tried) {
        let limited = admission.limited(index);
        if limited && outcome.elapsed > called_at {
            return Progress::Suspended {
                at: outcome.elapsed,
            };
        }
        let provider = &providers[index];
        let condition = conditions[index];
        let mut attempt = attempt(provider, condition, request, rng);
        if limited
            && attempt.result != AttemptResult::RateLimited
            && let Err(limit) = admission.admit(
                index,
                outcome.elapsed,
                request.quota_tokens,
                attempt.elapsed,
            )
        {
            attempt = Attempt {
                result: AttemptResult::QuotaLimited(limit),
                elapsed: RATE_LIMIT_RESPONSE.min(provider.timeout),
                first_chunk: None,
            };
        }
        outcome.tried = slot + 1;
        outcome.attempts[slot] = ProviderAttempt {
            provider: index as u32,
            result: attempt.result,
            elapsed: attempt.elapsed,
        };
        if attempt.result == AttemptResult::Ok {
            outcome.first_chunk_at = attempt
                .first_chunk
                .map(|chunk| outcome.elapsed.saturating_add(chunk));
            outcome.elapsed = outcome.elapsed.saturating_add(attempt.elapsed);
            outcome.ok = true;
            break;
        }
        outcome.elapsed = outcome.elapsed.saturating_add(attempt.elapsed);
    }
    Progress::Done
}

struct Attempt {
    result: AttemptResult,
    elapsed: Nanos,
    /// From the attempt's start to its first chunk (streaming, successful attempts).
    first_chunk: Option<Nanos>,
}

fn attempt(
    provider: &Provider,
    condition: ProviderCondition,
    request: &Request,
    rng: &mut Rng,
) -> Attempt {
    let failed = |result, elapsed| Attempt {
        result,
        elapsed,
        first_chunk: None,
    };
    // Draw everything up front so the stream advances the same way whatever happens.
    let ttft_s = dist::sample(&provider.ttft, rng);
    let error_draw: f64 = rng.random();
    if condition.rate_limited {
        return failed(
            AttemptResult::RateLimited,
            RATE_LIMIT_RESPONSE.min(provider.timeout),
        );
    }
    let factor = if condition.latency_factor > 0.0 {
        condition.latency_factor
    } else {
        1.0
    };
    let prefill_s = provider
        .prefill_tokens_per_s
        .map_or(0.0, |rate| request.uncached_input_tokens as f64 / rate);
    let ttft = if prefill_s > 0.0 {
        seconds_to_nanos((ttft_s + prefill_s) * factor)
    } else {
        seconds_to_nanos(ttft_s * factor)
    };
    if let Some(limit) = provider.ttft_timeout
        && ttft > limit
        && limit < provider.timeout
    {
        return failed(AttemptResult::Timeout, limit);
    }
    if condition.outage || error_draw < provider.error_probability {
        return if ttft >= provider.timeout {
            failed(AttemptResult::Timeout, provider.timeout)
        } else {
            failed(AttemptResult::Error, ttft)
        };
    }
    let generation_s = request.output_tokens as f64 / provider.output_tokens_per_s * factor;
    let latency = ttft.saturating_add(seconds_to_nanos(generation_s));
    if latency > provider.timeout {
        return failed(AttemptResult::Timeout, provider.timeout);
    }
    let first_chunk = request.first_chunk_tokens.map(|tokens| {
        let tokens = tokens.min(request.output_tokens);
        ttft.saturating_add(seconds_to_nanos(
            tokens as f64 / provider.output_tokens_per_s * factor,
        ))
    });
    Attempt {
        result: AttemptResult::Ok,
        elapsed: latency,
        first_chunk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::from_seed;
    use crate::scenario::Dist;

    /// The slots past the attempts made are untouched: a reader of `attempts_made` misses
    /// nothing.
    fn assert_unused_after_tried(outcome: &CallOutcome) {
        assert!(
            outcome.attempts[outcome.tried..]
                .iter()
                .all(|a| *a == ProviderAttempt::UNUSED),
            "{outcome:?}"
        );
    }

    fn provider(median_s: f64, error_probability: f64, timeout_s: f64) -> Provider {
        Provider {
            name: "p".into(),
            ttft: Dist::Constant { value: median_s },
            output_tokens_per_s: 100.0,
            error_probability,
            timeout: seconds_to_nanos(timeout_s),
            input_price_per_million_usd: 0.0,
            output_price_per_million_usd: 0.0,
            cached_input_price_per_million_usd: 0.0,
            ttft_timeout: None,
            prefill_tokens_per_s: None,
            requests_per_minute: None,
            tokens_per_minute: None,
            max_concurrent_requests: None,
        }
    }

    fn tokens(output_tokens: u64) -> Request {
        Request {
            output_tokens,
            ..Default::default()
        }
    }

    fn normal() -> ProviderCondition {
        ProviderCondition {
            latency_factor: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn latency_is_ttft_plus_tokens_over_throughput() {
        let providers = [provider(0.5, 0.0, 60.0)];
        let outcome = call(
            &providers,
            &[normal()],
            &[0],
            &tokens(200),
            &mut from_seed(1),
        );
        assert!(outcome.ok);
        assert_eq!(outcome.elapsed, 2_500_000_000);
    }

    #[test]
    fn fails_over_on_error_and_on_timeout() {
        // First always errors (after its TTFT), second is too slow for its timeout, third works.
        let providers = [
            provider(1.0, 1.0, 60.0),
            provider(1.0, 0.0, 2.0),
            provider(0.5, 0.0, 60.0),
        ];
        let outcome = call(
            &providers,
            &[normal(); 3],
            &[0, 1, 2],
            &tokens(200),
            &mut from_seed(1),
        );
        let results: Vec<_> = outcome.attempts_made().iter().map(|a| a.result).collect();
        assert_unused_after_tried(&outcome);
        assert_eq!(
            results,
            vec![
                AttemptResult::Error,
                AttemptResult::Timeout,
                AttemptResult::Ok
            ]
        );
        assert_eq!(
            outcome.elapsed,
            1_000_000_000 + 2_000_000_000 + 2_500_000_000
        );
        assert!(outcome.ok);
    }

    /// Admits nothing on provider 1 and records when it was asked.
    struct RefuseSecond {
        asked_at: Vec<Nanos>,
    }

    impl Admission for RefuseSecond {
        fn limited(&self, provider: usize) -> bool {
            provider == 1
        }

        fn admit(&mut self, _: usize, offset: Nanos, _: u64, _: Nanos) -> Result<(), QuotaLimit> {
            self.asked_at.push(offset);
            Err(QuotaLimit::Requests)
        }
    }

    #[test]
    fn a_limited_provider_after_a_failed_attempt_suspends_the_call_until_its_start() {
        // Provider 0 errors after 1 s; provider 1 has a quota that refuses; provider 2 works.
        let providers = [
            provider(1.0, 1.0, 60.0),
            provider(0.5, 0.0, 60.0),
            provider(0.5, 0.0, 60.0),
        ];
        let conditions = [normal(); 3];
        let mut gate = RefuseSecond {
            asked_at: Vec::new(),
        };
        let mut outcome = CallOutcome::default();
        let mut rng = from_seed(1);
        let request = tokens(200);
        let group = [0, 1, 2];
        let progress = call_with(
            &providers,
            &conditions,
            &group,
            &request,
            &mut rng,
            &mut outcome,
            &mut gate,
        );
        assert_eq!(progress, Progress::Suspended { at: 1_000_000_000 });
        assert_eq!(outcome.tried, 1);
        assert_eq!(outcome.attempts_made().len(), 1);
        assert_unused_after_tried(&outcome);
        assert!(gate.asked_at.is_empty(), "not admitted before its start");
        // Resumed at 1 s: refused at once, then provider 2 serves it.
        let progress = call_with(
            &providers,
            &conditions,
            &group,
            &request,
            &mut rng,
            &mut outcome,
            &mut gate,
        );
        assert_eq!(progress, Progress::Done);
        assert_eq!(gate.asked_at, [1_000_000_000]);
        let results: Vec<_> = outcome.attempts_made().iter().map(|a| a.result).collect();
        assert_unused_after_tried(&outcome);
        assert_eq!(
            results,
            [
                AttemptResult::Error,
                AttemptResult::QuotaLimited(QuotaLimit::Requests),
                AttemptResult::Ok
            ]
        );
        assert_eq!(
            outcome.elapsed,
            1_000_000_000 + RATE_LIMIT_RESPONSE + 2_500_000_000
        );
        // The draws are those of an unlimited call: the same stream, in provider order.
        let unlimited = call(
            &providers,
            &conditions,
            &[0, 2],
            &request,
            &mut from_seed(1),
        );
        assert_eq!(unlimited.attempts[0].elapsed, 1_000_000_000);
    }

    #[test]
    fn all_failing_is_a_failed_call_and_degradation_under_timeout_is_latency() {
        let providers = [provider(1.0, 0.0, 60.0)];
        let outage = ProviderCondition {
            outage: true,
            ..normal()
        };
        assert!(!call(&providers, &[outage], &[0], &tokens(100), &mut from_seed(1)).ok);
        let slow = ProviderCondition {
            latency_factor: 3.0,
            ..normal()
        };
        let outcome = call(&providers, &[slow], &[0], &tokens(100), &mut from_seed(1));
        assert!(outcome.ok);
        assert_eq!(outcome.elapsed, 6_000_000_000);
    }
}
