//! Forwarding over gRPC (`FORWARD=grpc`) against a fake tonic server.
use tweets_api::pb::{Municipalities, Weathers};

use crate::common::*;

const OK: i32 = 0;
const INVALID_ARGUMENT: i32 = 3;
const DEADLINE_EXCEEDED: i32 = 4;
const UNAVAILABLE: i32 = 14;

#[tokio::test]
async fn ok_is_202_with_metadata_and_enums() {
    let fake = fake_grpc(&[reply(OK)]).await;
    let st = state(grpc_config(&fake.url()));
    let a = post_tweet(&st, r#"{"municipality":"chinautla","temperature":-3,"humidity":99,"weather":"foggy"}"#).await;
    assert_eq!(a.status, 202, "{}", a.json);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].tweet_id.as_deref(), a.json["id"].as_str(), "x-tweet-id metadata");
    assert!(seen[0].received_at_ms.as_deref().unwrap().parse::<u64>().is_ok(), "x-received-at-ms metadata");
    let req = seen[0].grpc.unwrap();
    assert_eq!(req.municipality, Municipalities::Chinautla as i32);
    assert_eq!(req.weather, Weathers::Foggy as i32);
    assert_eq!((req.temperature, req.humidity), (-3, 99));
}

#[tokio::test]
async fn unavailable_is_503_after_retries_with_the_same_id() {
    let fake = fake_grpc(&[reply(UNAVAILABLE)]).await;
    let st = state(grpc_config(&fake.url()));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 503);
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.tweet_id.as_deref() == a.json["id"].as_str()));
}

#[tokio::test]
async fn unavailable_then_ok_is_202_with_the_same_id() {
    let fake = fake_grpc(&[reply(UNAVAILABLE), reply(OK)]).await;
    let st = state(grpc_config(&fake.url()));
    let a = post_tweet(&st, VALID).await;
    assert_eq!(a.status, 202);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].tweet_id, seen[1].tweet_id);
}

#[tokio::test]
async fn other_codes_map_honestly() {
    let fake = fake_grpc(&[reply(INVALID_ARGUMENT)]).await;
    let st = state(grpc_config(&fake.url()));
    assert_eq!(post_tweet(&st, VALID).await.status, 502);
    assert_eq!(fake.seen().len(), 1, "not retried");

    let fake = fake_grpc(&[reply(DEADLINE_EXCEEDED)]).await;
    let st = state(grpc_config(&fake.url()));
    assert_eq!(post_tweet(&st, VALID).await.status, 504);
}

#[tokio::test]
async fn slow_server_is_504() {
    let fake = fake_grpc(&[Reply { code: OK, delay: std::time::Duration::from_millis(2000) }]).await;
    let st = state(tweets_api::config::Config {
        forward_timeout: std::time::Duration::from_millis(150),
        ..grpc_config(&fake.url())
    });
    assert_eq!(post_tweet(&st, VALID).await.status, 504);
}

#[tokio::test]
async fn connection_refused_is_503() {
    let addr = refused_addr().await;
    let st = state(grpc_config(&format!("http://{addr}")));
    assert_eq!(post_tweet(&st, VALID).await.status, 503);
}
