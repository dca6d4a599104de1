//! Fake gateways (REST and gRPC) on 127.0.0.1 and helpers to drive the api's router in-process.
#![allow(dead_code)]
use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{to_bytes, Body},
    extract::State,
    http::{HeaderMap, Request, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use tower::ServiceExt;
use tweets_api::{
    app::{router, AppState},
    config::{Config, ForwardMode},
    pb::{
        weather_tweet_service_server::{WeatherTweetService, WeatherTweetServiceServer},
        WeatherTweetRequest, WeatherTweetResponse,
    },
};

pub const VALID: &str = r#"{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}"#;

/// What a fake gateway saw for one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub tweet_id: Option<String>,
    pub received_at_ms: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub grpc: Option<WeatherTweetRequest>,
}

/// A scripted answer: status (HTTP code, or gRPC code as i32 where 0 = OK) after a delay.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub code: i32,
    pub delay: Duration,
}

pub fn reply(code: i32) -> Reply {
    Reply { code, delay: Duration::ZERO }
}

#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl Fake {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Answers in order; the last reply repeats forever.
    fn next(&self) -> Reply {
        let mut s = self.script.lock().unwrap();
        if s.len() > 1 {
            s.pop_front().unwrap()
        } else {
            *s.front().expect("empty script")
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn new_fake(addr: SocketAddr, script: &[Reply]) -> Fake {
    Fake { addr, seen: Arc::default(), script: Arc::new(Mutex::new(script.iter().copied().collect())) }
}

async fn fake_rest_handler(State(f): State<Fake>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    f.seen.lock().unwrap().push(Seen {
        tweet_id: h("x-tweet-id"),
        received_at_ms: h("x-received-at-ms"),
        content_type: h("content-type"),
        body: body.to_vec(),
        grpc: None,
    });
    let r = f.next();
    tokio::time::sleep(r.delay).await;
    let status = StatusCode::from_u16(r.code as u16).unwrap();
    (status, format!(r#"{{"status":"{}"}}"#, r.code)).into_response()
}

/// A REST gateway on 127.0.0.1:<random> answering `POST /tweets` per the script.
pub async fn fake_rest(script: &[Reply]) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = new_fake(listener.local_addr().unwrap(), script);
    let app = Router::new().route("/tweets", post(fake_rest_handler)).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    fake
}

#[tonic::async_trait]
impl WeatherTweetService for Fake {
    async fn send_tweet(
        &self,
        req: tonic::Request<WeatherTweetRequest>,
    ) -> Result<tonic::Response<WeatherTweetResponse>, tonic::Status> {
        let md = req.metadata();
        let h = |k: &str| md.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let seen = Seen {
            tweet_id: h("x-tweet-id"),
            received_at_ms: h("x-received-at-ms"),
            content_type: h("content-type"),
            body: Vec::new(),
            grpc: Some(*req.get_ref()),
        };
        self.seen.lock().unwrap().push(seen);
        let r = self.next();
        tokio::time::sleep(r.delay).await;
        if r.code == 0 {
            Ok(tonic::Response::new(WeatherTweetResponse { status: "ok".into() }))
        } else {
            Err(tonic::Status::new(tonic::Code::from_i32(r.code), "scripted failure"))
        }
    }
}

/// A gRPC `wetherweet.WeatherTweetService` on 127.0.0.1:<random> answering per the script.
pub async fn fake_grpc(script: &[Reply]) -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = new_fake(listener.local_addr().unwrap(), script);
    let svc = WeatherTweetServiceServer::new(fake.clone());
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(async move {
        tonic::transport::Server::builder().add_service(svc).serve_with_incoming(incoming).await.unwrap()
    });
    fake
}

/// An address where nothing listens (bound, then closed).
pub async fn refused_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

pub fn rest_config(gateway: &str) -> Config {
    Config {
        forward: ForwardMode::Rest,
        gateway_url: gateway.to_string(),
        forward_timeout: Duration::from_millis(1000),
        forward_retries: 2,
        forward_backoff: Duration::from_millis(1),
        ..Config::default()
    }
}

pub fn grpc_config(addr: &str) -> Config {
    Config { forward: ForwardMode::Grpc, gateway_grpc_addr: addr.to_string(), ..rest_config("http://unused") }
}

pub fn state(cfg: Config) -> AppState {
    AppState::new(cfg).expect("config")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
    pub raw: Vec<u8>,
}

pub async fn call(st: &AppState, req: Request<Body>) -> Answer {
    let resp = router(st.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec();
    let json = serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null);
    Answer { status, headers, json, raw }
}

pub fn post_json(body: impl Into<Body>) -> Request<Body> {
    Request::post("/tweets").header("content-type", "application/json").body(body.into()).unwrap()
}

pub async fn post_tweet(st: &AppState, body: &str) -> Answer {
    call(st, post_json(body.to_string())).await
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}
