//! A small Prometheus registry: counters and histograms for a handful of fixed label sets.
//! Hand-written to keep the dependency tree (and compile time) small.
use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        atomic::{AtomicI64, Ordering},
        Mutex,
    },
    time::Duration,
};

/// Latency buckets, seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cum = 0;
        for (b, c) in BUCKETS.iter().zip(self.counts) {
            cum += c;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cum}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
pub struct Metrics {
    /// (route, method, status) → latency histogram (its count is the request count).
    http: Mutex<BTreeMap<(&'static str, &'static str, u16), Histogram>>,
    /// (mode, outcome) → latency of the whole forward (all attempts).
    forward: Mutex<BTreeMap<(&'static str, &'static str), Histogram>>,
    /// (mode, outcome) → attempts, one per try (retries included).
    attempts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// (field) → rejected bodies by first invalid field ("body" for malformed/non-object).
    rejected: Mutex<BTreeMap<String, u64>>,
    in_flight: AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn observe_http(&self, route: &'static str, method: &'static str, status: u16, d: Duration) {
        lock(&self.http).entry((route, method, status)).or_default().observe(d.as_secs_f64());
    }

    pub fn observe_forward(&self, mode: &'static str, outcome: &'static str, d: Duration) {
        lock(&self.forward).entry((mode, outcome)).or_default().observe(d.as_secs_f64());
    }

    pub fn count_attempt(&self, mode: &'static str, outcome: &'static str) {
        *lock(&self.attempts).entry((mode, outcome)).or_default() += 1;
    }

    pub fn count_rejected(&self, field: &str) {
        let mut m = lock(&self.rejected);
        // Bound the label set: only the contract's fields, anything else is "other".
        let field = match field {
            "municipality" | "temperature" | "humidity" | "weather" | "body" => field,
            _ => "other",
        };
        *m.entry(field.to_string()).or_default() += 1;
    }

    pub fn in_flight_add(&self, d: i64) {
        self.in_flight.fetch_add(d, Ordering::Relaxed);
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, version: &str, ready: bool) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP api_build_info Build information.\n# TYPE api_build_info gauge\n");
        let _ = writeln!(out, "api_build_info{{version=\"{}\"}} 1", version.replace(['"', '\\', '\n'], "_"));
        out.push_str(
            "# HELP api_ready 1 while the api accepts traffic, 0 while shutting down.\n# TYPE api_ready gauge\n",
        );
        let _ = writeln!(out, "api_ready {}", u8::from(ready));
        out.push_str(
            "# HELP api_http_in_flight_requests Requests being served.\n# TYPE api_http_in_flight_requests gauge\n",
        );
        let _ = writeln!(out, "api_http_in_flight_requests {}", self.in_flight.load(Ordering::Relaxed));

        out.push_str(
            "# HELP api_http_request_duration_seconds HTTP requests by route, method and status (count = requests).\n",
        );
        out.push_str("# TYPE api_http_request_duration_seconds histogram\n");
        for ((route, method, status), h) in lock(&self.http).iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            h.write(&mut out, "api_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP api_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE api_http_requests_total counter\n");
        for ((route, method, status), h) in lock(&self.http).iter() {
            let _ = writeln!(
                out,
                "api_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        out.push_str(
            "# HELP api_forward_duration_seconds Forwards to the gateway by mode and final outcome (all attempts).\n",
        );
        out.push_str("# TYPE api_forward_duration_seconds histogram\n");
        for ((mode, outcome), h) in lock(&self.forward).iter() {
            h.write(&mut out, "api_forward_duration_seconds", &format!("mode=\"{mode}\",outcome=\"{outcome}\""));
        }
        out.push_str("# HELP api_forward_attempts_total Forward attempts (retries included) by mode and outcome.\n");
        out.push_str("# TYPE api_forward_attempts_total counter\n");
        for ((mode, outcome), n) in lock(&self.attempts).iter() {
            let _ = writeln!(out, "api_forward_attempts_total{{mode=\"{mode}\",outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP api_tweets_rejected_total Bodies rejected with 400, by the first invalid field.\n");
        out.push_str("# TYPE api_tweets_rejected_total counter\n");
        for (field, n) in lock(&self.rejected).iter() {
            let _ = writeln!(out, "api_tweets_rejected_total{{field=\"{field}\"}} {n}");
        }
        out
    }
}
