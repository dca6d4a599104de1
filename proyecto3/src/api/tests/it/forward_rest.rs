//! Forwarding over REST against a fake gateway on 127.0.0.1.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn success_carries_id_and_received_at() {
    let fake = fake_rest(&[reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let before = now_ms();
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 202);
    assert_eq!(a.json["status"], "accepted");
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].tweet_id.as_deref(), a.json["id"].as_str());
    let at: u64 = seen[0].received_at_ms.as_deref().unwrap().parse().unwrap();
    assert!(at >= before && at <= now_ms(), "{at}");
    assert_eq!(seen[0].body, VALID.as_bytes());
}

#[tokio::test]
async fn ids_are_unique_and_time_ordered() {
    let fake = fake_rest(&[reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(post_tweet(&st, VALID).await.json["id"].as_str().unwrap().to_string());
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "UUIDv7 ids are unique and increasing");
}

#[tokio::test]
async fn gateway_5xx_is_502_after_bounded_retries_with_the_same_id() {
    let fake = fake_rest(&[reply(500)]).await;
    let st = state(rest_config(&fake.url()));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.json["error"], "bad gateway");
    let seen = fake.seen();
    assert_eq!(seen.len(), 3, "1 attempt + FORWARD_RETRIES=2");
    assert!(seen.iter().all(|s| s.tweet_id.as_deref() == a.json["id"].as_str()));
    assert!(seen.iter().all(|s| s.received_at_ms == seen[0].received_at_ms));
}

#[tokio::test]
async fn gateway_503_is_503_with_retry_after() {
    let fake = fake_rest(&[reply(503)]).await;
    let st = state(rest_config(&fake.url()));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.headers["retry-after"], "1");
    assert_eq!(fake.seen().len(), 3);
}

#[tokio::test]
async fn retry_keeps_the_same_id_and_succeeds() {
    let fake = fake_rest(&[reply(503), reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 202, "{}", a.json);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "the fake saw the tweet twice");
    assert!(seen[0].tweet_id.is_some());
    assert_eq!(seen[0].tweet_id, seen[1].tweet_id, "same X-Tweet-Id on the retry");
    assert_eq!(seen[1].tweet_id.as_deref(), a.json["id"].as_str());
    assert_eq!(seen[0].received_at_ms, seen[1].received_at_ms);
}

#[tokio::test]
async fn no_retries_when_disabled() {
    let fake = fake_rest(&[reply(503), reply(202)]).await;
    let st = state(tweets_api::config::Config { forward_retries: 0, ..rest_config(&fake.url()) });
    assert_eq!(post_tweet(&st, VALID).await.status, 503);
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn gateway_4xx_is_502_and_not_retried() {
    let fake = fake_rest(&[reply(400)]).await;
    let st = state(rest_config(&fake.url()));
    assert_eq!(post_tweet(&st, VALID).await.status, 502);
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn gateway_504_is_504() {
    let fake = fake_rest(&[reply(504)]).await;
    let st = state(rest_config(&fake.url()));
    assert_eq!(post_tweet(&st, VALID).await.status, 504);
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn slow_gateway_is_504_and_not_retried() {
    let fake = fake_rest(&[Reply { code: 202, delay: Duration::from_millis(2000) }]).await;
    let st =
        state(tweets_api::config::Config { forward_timeout: Duration::from_millis(150), ..rest_config(&fake.url()) });
    let t = std::time::Instant::now();
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 504);
    assert_eq!(a.json["error"], "gateway timeout");
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_503() {
    let addr = refused_addr().await;
    let st = state(rest_config(&format!("http://{addr}")));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 503, "{}", a.json);
    assert_eq!(a.json["error"], "gateway unavailable");
    assert!(a.json["id"].is_string());
}

#[tokio::test]
async fn connections_are_reused() {
    // Sequential requests through one client use one keep-alive connection: the fake counts
    // accepted connections.
    use axum::serve::ListenerExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let conns = Arc::new(AtomicUsize::new(0));
    let c2 = conns.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(move |_| {
        c2.fetch_add(1, Ordering::SeqCst);
    });
    let app = axum::Router::new()
        .route("/tweets", axum::routing::post(|| async { (axum::http::StatusCode::ACCEPTED, "{}") }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let st = state(rest_config(&format!("http://{addr}")));
    for _ in 0..20 {
        assert_eq!(post_tweet(&st, VALID).await.status, 202);
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_forward_outcomes() {
    let fake = fake_rest(&[reply(503), reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    assert_eq!(post_tweet(&st, VALID).await.status, 202);
    assert_eq!(post_tweet(&st, "{}").await.status, 400);
    let m = call(&st, get("/metrics")).await;
    assert_eq!(m.status, 200);
    assert!(m.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = String::from_utf8(m.raw).unwrap();
    for line in [
        r#"api_http_requests_total{route="/tweets",method="POST",status="202"} 1"#,
        r#"api_http_requests_total{route="/tweets",method="POST",status="400"} 1"#,
        r#"api_http_request_duration_seconds_count{route="/tweets",method="POST",status="202"} 1"#,
        r#"api_forward_attempts_total{mode="rest",outcome="unavailable"} 1"#,
        r#"api_forward_attempts_total{mode="rest",outcome="accepted"} 1"#,
        r#"api_forward_duration_seconds_count{mode="rest",outcome="accepted"} 1"#,
        r#"api_tweets_rejected_total{field="municipality"} 1"#,
        "api_ready 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let st = state(rest_config("http://127.0.0.1:9"));
    assert_eq!(call(&st, get("/healthz")).await.status, 200);
    assert_eq!(call(&st, get("/readyz")).await.status, 200);
    st.begin_shutdown();
    let r = call(&st, get("/readyz")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["status"], "shutting down");
    assert_eq!(call(&st, get("/healthz")).await.status, 200, "still alive while draining");
}
