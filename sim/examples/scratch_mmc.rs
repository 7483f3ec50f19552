fn main() {
    let n: f64 = std::env::args().nth(1).map(|a| a.parse().unwrap()).unwrap_or(1e6);
    let mut s = sim::model::testkit::mmc(9.0, 1.0, 10, n / 9.0);
    s.run.sample_interval = 60_000_000_000;
    let t0 = std::time::Instant::now();
    let out = sim::model::run(&s).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    println!("{} customers in {:.3}s: {:.0}/s, {} events", out.summary.messages.received, dt, out.summary.messages.received as f64 / dt, out.summary.events_processed);
}
