//! Forwarding a validated tweet to the gateway, over REST (default) or gRPC.
//!
//! One client per process (pooled keep-alive HTTP/1.1 connections, or one multiplexed HTTP/2
//! channel), a per-attempt timeout and a bounded retry that reuses the tweet's id: downstream
//! counts an id once, so a repeated delivery is harmless.
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Request};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::{TokioExecutor, TokioTimer},
};
use tokio::time::{sleep, timeout, Instant};

use crate::{
    config::{Config, ForwardMode},
    metrics::Metrics,
    pb::{weather_tweet_service_client::WeatherTweetServiceClient, WeatherTweetRequest},
    validate::Tweet,
};

pub const HEADER_TWEET_ID: &str = "x-tweet-id";
pub const HEADER_RECEIVED_AT: &str = "x-received-at-ms";

/// How one attempt (or the whole forward) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Gateway 2xx (REST) / OK (gRPC).
    Accepted,
    /// Gateway answered 4xx (or a non-retryable gRPC code): the api and the gateway disagree → 502.
    Rejected(String),
    /// Gateway 503 / gRPC UNAVAILABLE / connection refused or failed → 503 (retryable).
    Unavailable(String),
    /// Gateway 5xx other than 503/504, or a broken connection → 502 (retryable).
    BadGateway(String),
    /// Our per-attempt deadline passed, or the gateway said 504 / DEADLINE_EXCEEDED → 504 (not retried:
    /// the time budget is spent and the tweet may already be in; the client may retry).
    Timeout(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected(_) => "rejected",
            Outcome::Unavailable(_) => "unavailable",
            Outcome::BadGateway(_) => "bad_gateway",
            Outcome::Timeout(_) => "timeout",
        }
    }

    /// The status the api answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Outcome::Accepted => 202,
            Outcome::Rejected(_) | Outcome::BadGateway(_) => 502,
            Outcome::Unavailable(_) => 503,
            Outcome::Timeout(_) => 504,
        }
    }

    fn retryable(&self) -> bool {
        matches!(self, Outcome::Unavailable(_) | Outcome::BadGateway(_))
    }

    pub fn detail(&self) -> &str {
        match self {
            Outcome::Accepted => "",
            Outcome::Rejected(s) | Outcome::Unavailable(s) | Outcome::BadGateway(s) | Outcome::Timeout(s) => s,
        }
    }
}

/// The gRPC transport: a plain hyper HTTP/2 client (no tower buffer task between the handler and
/// the connection, unlike tonic's `Channel`: one hop less per call).
type GrpcHttp = Client<HttpConnector, tonic::body::Body>;

#[derive(Clone)]
enum Transport {
    Rest {
        client: Box<Client<HttpConnector, Full<Bytes>>>,
        uri: hyper::Uri,
    },
    /// Several HTTP/2 connections, used round-robin: one connection would pin every call to one
    /// gateway pod behind a ClusterIP Service and serialize all streams on one socket.
    Grpc {
        clients: Arc<[WeatherTweetServiceClient<GrpcHttp>]>,
        next: Arc<AtomicUsize>,
    },
}

#[derive(Clone)]
pub struct Forwarder {
    transport: Transport,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    metrics: Arc<Metrics>,
}

impl Forwarder {
    pub fn new(cfg: &Config, metrics: Arc<Metrics>) -> Result<Self, String> {
        let transport = match cfg.forward {
            ForwardMode::Rest => {
                let uri: hyper::Uri = format!("{}/tweets", cfg.gateway_url)
                    .parse()
                    .map_err(|e| format!("GATEWAY_URL={:?}: {e}", cfg.gateway_url))?;
                if uri.scheme_str() != Some("http") {
                    return Err(format!("GATEWAY_URL={:?}: only http:// is supported", cfg.gateway_url));
                }
                let client = Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(1024)
                    .build(connector(cfg.forward_timeout));
                Transport::Rest { client: Box::new(client), uri }
            }
            ForwardMode::Grpc => {
                let origin: hyper::Uri = cfg
                    .gateway_grpc_addr
                    .parse()
                    .map_err(|e| format!("GATEWAY_GRPC_ADDR={:?}: {e}", cfg.gateway_grpc_addr))?;
                if origin.scheme_str() != Some("http") || origin.authority().is_none() {
                    return Err(format!("GATEWAY_GRPC_ADDR={:?}: want http://host:port", cfg.gateway_grpc_addr));
                }
                // Each client is its own pool, so each holds its own HTTP/2 connection. Connections
                // are made on first use: the api starts (and is live) even if the gateway is not up.
                let clients: Vec<_> = (0..cfg.grpc_connections.max(1))
                    .map(|_| {
                        let client = Client::builder(TokioExecutor::new())
                            .http2_only(true)
                            .timer(TokioTimer::new())
                            .http2_keep_alive_interval(Duration::from_secs(30))
                            .http2_keep_alive_timeout(Duration::from_secs(10))
                            .http2_keep_alive_while_idle(true)
                            .pool_idle_timeout(Duration::from_secs(300))
                            .build(connector(cfg.forward_timeout));
                        WeatherTweetServiceClient::with_origin(client, origin.clone())
                    })
                    .collect();
                Transport::Grpc { clients: clients.into(), next: Arc::default() }
            }
        };
        Ok(Forwarder {
            transport,
            timeout: cfg.forward_timeout,
            retries: cfg.forward_retries,
            backoff: cfg.forward_backoff,
            metrics,
        })
    }

    pub fn mode(&self) -> &'static str {
        match self.transport {
            Transport::Rest { .. } => "rest",
            Transport::Grpc { .. } => "grpc",
        }
    }

    /// Sends the tweet, retrying retryable failures up to `retries` times with the same id.
    pub async fn forward(&self, tweet: &Tweet, id: &str, received_at_ms: u64) -> Outcome {
        let start = Instant::now();
        let body = Bytes::from(tweet.to_json());
        let mut attempt = 0;
        let outcome = loop {
            let o = match &self.transport {
                Transport::Rest { client, uri } => self.rest_once(client, uri, body.clone(), id, received_at_ms).await,
                Transport::Grpc { clients, next } => {
                    let client = clients[next.fetch_add(1, Ordering::Relaxed) % clients.len()].clone();
                    self.grpc_once(client, tweet, id, received_at_ms).await
                }
            };
            self.metrics.count_attempt(self.mode(), o.label());
            if !o.retryable() || attempt >= self.retries {
                break o;
            }
            attempt += 1;
            tracing::debug!(tweet_id = id, attempt, outcome = o.label(), detail = o.detail(), "forward retry");
            sleep(self.backoff_for(attempt)).await;
        };
        self.metrics.observe_forward(self.mode(), outcome.label(), start.elapsed());
        outcome
    }

    /// Exponential backoff with up to 50% jitter, capped at 1 s.
    fn backoff_for(&self, attempt: u32) -> Duration {
        let base = self.backoff.saturating_mul(1 << (attempt - 1).min(10)).min(Duration::from_secs(1));
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let half = base.as_nanos() as u64 / 2;
        base + Duration::from_nanos(if half == 0 { 0 } else { u64::from(nanos) % half })
    }

    async fn rest_once(
        &self,
        client: &Client<HttpConnector, Full<Bytes>>,
        uri: &hyper::Uri,
        body: Bytes,
        id: &str,
        received_at_ms: u64,
    ) -> Outcome {
        let req = match Request::post(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(HEADER_TWEET_ID, id)
            .header(HEADER_RECEIVED_AT, received_at_ms)
            .body(Full::new(body))
        {
            Ok(r) => r,
            Err(e) => return Outcome::BadGateway(format!("building request: {e}")),
        };
        let attempt = async {
            let resp = client.request(req).await?;
            let status = resp.status();
            // Read the (small) answer so the connection goes back to the pool.
            let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, hyper_util::client::legacy::Error>((status, body))
        };
        match timeout(self.timeout, attempt).await {
            Err(_) => Outcome::Timeout(format!("no answer from the gateway within {:?}", self.timeout)),
            Ok(Err(e)) if e.is_connect() => {
                Outcome::Unavailable(format!("cannot connect to the gateway: {}", err_chain(&e)))
            }
            Ok(Err(e)) => Outcome::BadGateway(format!("gateway connection failed: {}", err_chain(&e))),
            Ok(Ok((status, body))) => {
                let snippet = String::from_utf8_lossy(&body[..body.len().min(256)]).into_owned();
                match status.as_u16() {
                    200..=299 => Outcome::Accepted,
                    503 => Outcome::Unavailable(format!("gateway 503: {snippet}")),
                    504 => Outcome::Timeout(format!("gateway 504: {snippet}")),
                    400..=499 => Outcome::Rejected(format!("gateway {status}: {snippet}")),
                    s => Outcome::BadGateway(format!("gateway {s}: {snippet}")),
                }
            }
        }
    }

    async fn grpc_once(
        &self,
        mut client: WeatherTweetServiceClient<GrpcHttp>,
        tweet: &Tweet,
        id: &str,
        received_at_ms: u64,
    ) -> Outcome {
        let mut req = tonic::Request::new(WeatherTweetRequest {
            municipality: tweet.municipality as i32,
            temperature: tweet.temperature,
            humidity: tweet.humidity,
            weather: tweet.weather as i32,
        });
        req.set_timeout(self.timeout);
        let md = req.metadata_mut();
        match (id.parse(), received_at_ms.to_string().parse()) {
            (Ok(i), Ok(r)) => {
                md.insert(HEADER_TWEET_ID, i);
                md.insert(HEADER_RECEIVED_AT, r);
            }
            _ => return Outcome::BadGateway("invalid metadata".into()),
        }
        use tonic::Code;
        match timeout(self.timeout, client.send_tweet(req)).await {
            Err(_) => Outcome::Timeout(format!("no answer from the gateway within {:?}", self.timeout)),
            Ok(Ok(_)) => Outcome::Accepted,
            Ok(Err(s)) if transport_error(&s).is_some_and(|e| e.is_connect()) => {
                Outcome::Unavailable(format!("cannot connect to the gateway: {}", err_chain(&s)))
            }
            Ok(Err(s)) if transport_error(&s).is_some() => {
                Outcome::BadGateway(format!("gateway connection failed: {}", err_chain(&s)))
            }
            Ok(Err(s)) => {
                let d = format!("gateway {:?}: {}", s.code(), s.message());
                match s.code() {
                    Code::Unavailable | Code::ResourceExhausted => Outcome::Unavailable(d),
                    Code::DeadlineExceeded | Code::Cancelled => Outcome::Timeout(d),
                    Code::Internal | Code::Unknown | Code::Aborted | Code::DataLoss => Outcome::BadGateway(d),
                    _ => Outcome::Rejected(d),
                }
            }
        }
    }
}

fn connector(connect_timeout: Duration) -> HttpConnector {
    let mut conn = HttpConnector::new();
    conn.set_nodelay(true);
    conn.set_connect_timeout(Some(connect_timeout));
    conn.set_keepalive(Some(Duration::from_secs(60)));
    conn
}

/// The client's own error inside a gRPC status (connect failure, broken connection), if any.
fn transport_error(s: &tonic::Status) -> Option<&hyper_util::client::legacy::Error> {
    let mut cur = std::error::Error::source(s);
    while let Some(e) = cur {
        if let Some(l) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            return Some(l);
        }
        cur = e.source();
    }
    None
}

fn err_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
