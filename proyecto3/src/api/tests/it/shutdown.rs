//! The real binary: SIGTERM flips /readyz to 503, keeps serving during SHUTDOWN_DELAY_MS,
//! finishes the in-flight request and exits 0.
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

use crate::common::*;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn send(c: &HttpClient, method: &str, url: &str, body: &str) -> Result<u16, String> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = c.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Ok(status)
}

#[tokio::test]
async fn sigterm_drains_then_exits() {
    // The in-flight request outlives the drain delay: it is still running when the listener closes.
    let fake = fake_rest(&[Reply { code: 202, delay: Duration::from_millis(2500) }]).await;
    let port = refused_addr().await.port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tweets-api"))
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GATEWAY_URL", fake.url())
        .env("SHUTDOWN_DELAY_MS", "1500")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the api");
    let c: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let deadline = Instant::now() + Duration::from_secs(10);
    while send(&c, "GET", &format!("{base}/readyz"), "").await != Ok(200) {
        assert!(Instant::now() < deadline, "api did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A slow request in flight (the fake takes 2.5 s), then SIGTERM.
    let c2 = c.clone();
    let url = format!("{base}/tweets");
    let in_flight = tokio::spawn(async move { send(&c2, "POST", &url, VALID).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Draining: not ready, but still alive and still serving.
    let fresh: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    assert_eq!(send(&fresh, "GET", &format!("{base}/readyz"), "").await, Ok(503));
    assert_eq!(send(&fresh, "GET", &format!("{base}/healthz"), "").await, Ok(200));

    // After the delay the listener is closed: new connections are refused…
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let after: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    assert!(send(&after, "GET", &format!("{base}/healthz"), "").await.is_err(), "listener closed");
    // …but the in-flight request still finishes with its real answer.
    assert_eq!(in_flight.await.unwrap(), Ok(202), "the in-flight request finished");
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "api did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}
