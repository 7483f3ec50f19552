//! Queueing theory the model is checked against: Erlang B (a loss system) and Erlang C (a
//! delay system), for `servers` parallel servers offered `a = lambda / mu` erlangs of Poisson
//! traffic with exponential service. The validation tests and the benchmark's bare M/M/c loop
//! share these.

/// Erlang B: the probability that an arrival finds all `servers` busy and is lost (M/M/c/c),
/// by the stable recurrence B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1)).
pub fn erlang_b(servers: u32, a: f64) -> f64 {
    (1..=servers).fold(1.0, |b, n| a * b / (n as f64 + a * b))
}

/// Erlang C: the probability that an arrival waits (M/M/c, `a < servers`), from Erlang B:
/// C = B / (1 - (a / c)(1 - B)).
pub fn erlang_c(servers: u32, a: f64) -> f64 {
    let rho = a / servers as f64;
    assert!(
        rho < 1.0,
        "Erlang C needs a < servers (a = {a}, servers = {servers})"
    );
    let b = erlang_b(servers, a);
    b / (1.0 - rho * (1.0 - b))
}

/// The M/M/c mean wait in queue: C(c, a) / (c mu - lambda).
pub fn erlang_c_wait_s(lambda: f64, mu: f64, servers: u32) -> f64 {
    erlang_c(servers, lambda / mu) / (servers as f64 * mu - lambda)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_b_matches_tabulated_values() {
        // Standard Erlang B table values.
        assert!((erlang_b(1, 1.0) - 0.5).abs() < 1e-12);
        assert!((erlang_b(10, 5.0) - 0.018_385).abs() < 1e-6);
        assert!((erlang_b(10, 9.0) - 0.168_0).abs() < 1e-4);
    }

    #[test]
    fn erlang_c_wait_matches_the_spec_values() {
        assert!((erlang_c_wait_s(8.0, 1.0, 10) - 0.204_590).abs() < 1e-6);
        assert!((erlang_c_wait_s(0.2, 0.1, 3) - 4.444_444).abs() < 1e-6);
    }
}
