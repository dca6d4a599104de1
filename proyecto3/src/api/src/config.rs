//! Configuration, from the environment only.
use std::{net::SocketAddr, time::Duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardMode {
    Rest,
    Grpc,
}

impl ForwardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardMode::Rest => "rest",
            ForwardMode::Grpc => "grpc",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (`0.0.0.0:8080`).
    pub listen_addr: SocketAddr,
    /// `FORWARD` (`rest` | `grpc`, default `rest`).
    pub forward: ForwardMode,
    /// `GATEWAY_URL` (`http://gateway:8080`): REST base URL, the api POSTs to `${GATEWAY_URL}/tweets`.
    pub gateway_url: String,
    /// `GATEWAY_GRPC_ADDR` (`http://gateway:50051`).
    pub gateway_grpc_addr: String,
    /// `GRPC_CONNECTIONS` (`4`): HTTP/2 connections to the gateway with `FORWARD=grpc`, used
    /// round-robin (spreads calls over gateway pods behind a ClusterIP Service).
    pub grpc_connections: usize,
    /// `FORWARD_TIMEOUT_MS` (`6000`): deadline of one attempt (connect + answer), longer than the
    /// gateway's own writer timeout (5 s) so the gateway's answer, not ours, decides.
    pub forward_timeout: Duration,
    /// `FORWARD_RETRIES` (`2`): extra attempts after a retryable failure (so at most 3 in all).
    pub forward_retries: u32,
    /// `FORWARD_BACKOFF_MS` (`25`): first backoff; doubles each retry, with jitter, capped at 1 s.
    pub forward_backoff: Duration,
    /// `SHUTDOWN_DELAY_MS` (`5000`): after SIGTERM, how long /readyz says 503 while still serving,
    /// so load balancers stop sending before the listener closes.
    pub shutdown_delay: Duration,
    /// `SHUTDOWN_TIMEOUT_MS` (`20000`): hard limit for in-flight requests to finish after the delay.
    pub shutdown_timeout: Duration,
    /// `LOG_LEVEL` (`info`): error, warn, info, debug, trace.
    pub log_level: String,
    /// `VERSION` (build arg baked into the image), reported in /healthz and metrics.
    pub version: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen_addr: "0.0.0.0:8080".parse().expect("static address"),
            forward: ForwardMode::Rest,
            gateway_url: "http://gateway:8080".into(),
            gateway_grpc_addr: "http://gateway:50051".into(),
            grpc_connections: 4,
            forward_timeout: Duration::from_millis(6000),
            forward_retries: 2,
            forward_backoff: Duration::from_millis(25),
            shutdown_delay: Duration::from_millis(5000),
            shutdown_timeout: Duration::from_millis(20000),
            log_level: "info".into(),
            version: option_env!("VERSION").unwrap_or("dev").into(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the config from any key lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut c = Config::default();
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if let Some(v) = get("LISTEN_ADDR") {
            c.listen_addr = v.parse().map_err(|e| format!("LISTEN_ADDR={v:?}: {e}"))?;
        }
        if let Some(v) = get("FORWARD") {
            c.forward = match v.to_ascii_lowercase().as_str() {
                "rest" | "http" => ForwardMode::Rest,
                "grpc" => ForwardMode::Grpc,
                _ => return Err(format!("FORWARD={v:?}: want rest or grpc")),
            };
        }
        if let Some(v) = get("GATEWAY_URL") {
            c.gateway_url = v.trim_end_matches('/').to_string();
        }
        if let Some(v) = get("GATEWAY_GRPC_ADDR") {
            c.gateway_grpc_addr = v;
        }
        if let Some(v) = get("GRPC_CONNECTIONS") {
            c.grpc_connections = v.parse().map_err(|e| format!("GRPC_CONNECTIONS={v:?}: {e}"))?;
            if !(1..=64).contains(&c.grpc_connections) {
                return Err("GRPC_CONNECTIONS must be in 1..=64".into());
            }
        }
        let ms = |k: &str| -> Result<Option<Duration>, String> {
            get(k)
                .map(|v| v.parse::<u64>().map(Duration::from_millis).map_err(|e| format!("{k}={v:?}: {e}")))
                .transpose()
        };
        if let Some(d) = ms("FORWARD_TIMEOUT_MS")? {
            if d.is_zero() {
                return Err("FORWARD_TIMEOUT_MS must be > 0".into());
            }
            c.forward_timeout = d;
        }
        if let Some(v) = get("FORWARD_RETRIES") {
            c.forward_retries = v.parse().map_err(|e| format!("FORWARD_RETRIES={v:?}: {e}"))?;
            if c.forward_retries > 10 {
                return Err("FORWARD_RETRIES must be <= 10".into());
            }
        }
        if let Some(d) = ms("FORWARD_BACKOFF_MS")? {
            c.forward_backoff = d;
        }
        if let Some(d) = ms("SHUTDOWN_DELAY_MS")? {
            c.shutdown_delay = d;
        }
        if let Some(d) = ms("SHUTDOWN_TIMEOUT_MS")? {
            c.shutdown_timeout = d;
        }
        if let Some(v) = get("LOG_LEVEL") {
            c.log_level = v;
        }
        if let Some(v) = get("VERSION") {
            c.version = v;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.forward, ForwardMode::Rest);
        assert_eq!(c.gateway_url, "http://gateway:8080");
        let env: HashMap<&str, &str> = [
            ("FORWARD", "grpc"),
            ("GATEWAY_URL", "http://127.0.0.1:8081/"),
            ("FORWARD_TIMEOUT_MS", "250"),
            ("FORWARD_RETRIES", "0"),
        ]
        .into();
        let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.forward, ForwardMode::Grpc);
        assert_eq!(c.gateway_url, "http://127.0.0.1:8081");
        assert_eq!(c.forward_timeout, Duration::from_millis(250));
        assert_eq!(c.forward_retries, 0);
        assert!(Config::from_lookup(|k| (k == "FORWARD").then(|| "kafka".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "FORWARD_TIMEOUT_MS").then(|| "x".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "GRPC_CONNECTIONS").then(|| "0".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "FORWARD_RETRIES").then(|| "11".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "LISTEN_ADDR").then(|| "nope".into())).is_err());
    }
}
