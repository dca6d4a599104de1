//! HTTP surface: `POST /tweets`, `/healthz`, `/readyz`, `/metrics`.
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    config::Config,
    forward::{Forwarder, Outcome},
    metrics::Metrics,
    validate::{parse_tweet, Invalid, MAX_BODY_BYTES},
};

/// Shared state: config, the one forwarder (and its pooled client), metrics, readiness.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
    ready: AtomicBool,
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, String> {
        let metrics = Arc::new(Metrics::default());
        let forwarder = Forwarder::new(&config, metrics.clone())?;
        Ok(AppState { inner: Arc::new(Inner { config, forwarder, metrics, ready: AtomicBool::new(true) }) })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }

    /// Called on SIGTERM/SIGINT: /readyz answers 503 from now on (requests are still served).
    pub fn begin_shutdown(&self) {
        self.inner.ready.store(false, Ordering::SeqCst);
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/tweets", post(post_tweet))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

fn json_response(status: StatusCode, v: Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    json_response(status, json!({"error": error, "message": message.into()}))
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return false;
    }
    // A charset, if given, must be UTF-8 (JSON's only encoding).
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn post_tweet(State(st): State<AppState>, req: Request) -> Response {
    let received_at_ms = now_ms();
    let (parts, body) = req.into_parts();
    if !is_json(&parts.headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type",
            "Content-Type must be application/json",
        );
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload too large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return too_large(),
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad request", format!("reading the body: {e}")),
    };
    let tweet = match parse_tweet(&bytes) {
        Ok(t) => t,
        Err(inv) => {
            let field = match &inv {
                Invalid::Fields(f) => f[0].field.as_str(),
                _ => "body",
            };
            st.metrics().count_rejected(field);
            return json_response(StatusCode::BAD_REQUEST, inv.to_json());
        }
    };

    let id = uuid::Uuid::now_v7().to_string();
    let outcome = st.inner.forwarder.forward(&tweet, &id, received_at_ms).await;
    match outcome {
        Outcome::Accepted => {
            tracing::debug!(tweet_id = %id, municipality = tweet.municipality.as_str(), "accepted");
            json_response(StatusCode::ACCEPTED, json!({"status": "accepted", "id": id}))
        }
        o => {
            let status = StatusCode::from_u16(o.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
            tracing::warn!(tweet_id = %id, outcome = o.label(), status = status.as_u16(), detail = o.detail(), "forward failed");
            let err = match status {
                StatusCode::SERVICE_UNAVAILABLE => "gateway unavailable",
                StatusCode::GATEWAY_TIMEOUT => "gateway timeout",
                _ => "bad gateway",
            };
            let mut r = json_response(status, json!({"error": err, "id": id, "message": o.detail()}));
            if status == StatusCode::SERVICE_UNAVAILABLE {
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
    }
}

async fn healthz(State(st): State<AppState>) -> Response {
    json_response(StatusCode::OK, json!({"status": "ok", "version": st.config().version}))
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.is_ready() {
        json_response(StatusCode::OK, json!({"status": "ready"}))
    } else {
        json_response(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "shutting down"}))
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut r = st.metrics().render(&st.config().version, st.is_ready()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found", "no such route")
}

fn route_label(path: &str) -> &'static str {
    match path {
        "/tweets" => "/tweets",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        _ => "other",
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// Counts every request and its latency by route, method and status.
async fn track(State(st): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let route = route_label(req.uri().path());
    let method = method_label(req.method());
    // A guard, so a request whose client went away (future dropped) still leaves the gauge.
    struct InFlight<'a>(&'a Metrics);
    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.in_flight_add(-1);
        }
    }
    st.metrics().in_flight_add(1);
    let guard = InFlight(st.metrics());
    let resp = next.run(req).await;
    drop(guard);
    st.metrics().observe_http(route, method, resp.status().as_u16(), start.elapsed());
    resp
}
