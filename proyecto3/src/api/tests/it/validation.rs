//! The table of valid and invalid bodies: status, and the field the error names.
use axum::{body::Body, http::Request};

use crate::common::*;

#[tokio::test]
async fn valid_bodies_are_accepted_and_forwarded_canonically() {
    let fake = fake_rest(&[reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let cases = [
        (VALID, r#"{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}"#),
        (
            r#"{"municipality":"guatemala","temperature":-50,"humidity":0,"weather":"cloudy"}"#,
            r#"{"municipality":"guatemala","temperature":-50,"humidity":0,"weather":"cloudy"}"#,
        ),
        (
            r#"{"municipality":"amatitlan","temperature":60,"humidity":100,"weather":"rainy"}"#,
            r#"{"municipality":"amatitlan","temperature":60,"humidity":100,"weather":"rainy"}"#,
        ),
        (
            " {\n \"weather\" : \"foggy\", \"humidity\":7,\"temperature\":0,\"municipality\":\"chinautla\"}\n",
            r#"{"municipality":"chinautla","temperature":0,"humidity":7,"weather":"foggy"}"#,
        ),
        (
            r#"{"municipality":"mi\u0078co","temperature":1,"humidity":1,"weather":"sunny"}"#,
            r#"{"municipality":"mixco","temperature":1,"humidity":1,"weather":"sunny"}"#,
        ),
    ];
    for (i, (body, forwarded)) in cases.iter().enumerate() {
        let a = post_tweet(&st, body).await;
        assert_eq!(a.status, 202, "case {i}: {body} → {:?}", String::from_utf8_lossy(&a.raw));
        assert_eq!(a.json["status"], "accepted");
        let id = a.json["id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
        let seen = fake.seen();
        let last = seen.last().unwrap();
        assert_eq!(last.tweet_id.as_deref(), Some(id));
        assert_eq!(std::str::from_utf8(&last.body).unwrap(), *forwarded, "case {i}");
        assert_eq!(last.content_type.as_deref(), Some("application/json"));
    }
    assert_eq!(fake.seen().len(), cases.len());

    for ct in ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=\"UTF-8\""] {
        let req = Request::post("/tweets").header("content-type", ct).body(Body::from(VALID)).unwrap();
        assert_eq!(call(&st, req).await.status, 202, "{ct}");
    }
}

#[tokio::test]
async fn invalid_bodies_are_rejected_naming_the_field_and_never_forwarded() {
    let fake = fake_rest(&[reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let t = |m: &str, t: &str, h: &str, w: &str| {
        format!(r#"{{"municipality":{m},"temperature":{t},"humidity":{h},"weather":{w}}}"#)
    };
    let ok = (r#""mixco""#, "25", "60", r#""sunny""#);
    // (body, field named in the error)
    let cases: Vec<(String, &str)> = vec![
        (r#"{"temperature":25,"humidity":60,"weather":"sunny"}"#.into(), "municipality"),
        (r#"{"municipality":"mixco","humidity":60,"weather":"sunny"}"#.into(), "temperature"),
        (r#"{"municipality":"mixco","temperature":25,"weather":"sunny"}"#.into(), "humidity"),
        (r#"{"municipality":"mixco","temperature":25,"humidity":60}"#.into(), "weather"),
        ("{}".into(), "municipality"),
        (t(r#""Mixco""#, ok.1, ok.2, ok.3), "municipality"),
        (t(r#""villa nueva""#, ok.1, ok.2, ok.3), "municipality"),
        (t(r#""""#, ok.1, ok.2, ok.3), "municipality"),
        (t("1", ok.1, ok.2, ok.3), "municipality"),
        (t("null", ok.1, ok.2, ok.3), "municipality"),
        (t(r#"["mixco"]"#, ok.1, ok.2, ok.3), "municipality"),
        (t(r#""municipalities_unknown""#, ok.1, ok.2, ok.3), "municipality"),
        (t(ok.0, "25.5", ok.2, ok.3), "temperature"),
        (t(ok.0, "25.0", ok.2, ok.3), "temperature"),
        (t(ok.0, "2.5e1", ok.2, ok.3), "temperature"),
        (t(ok.0, "1e1", ok.2, ok.3), "temperature"),
        (t(ok.0, "-0", ok.2, ok.3), "temperature"), // serde_json reads -0 as the float -0.0
        (t(ok.0, r#""25""#, ok.2, ok.3), "temperature"),
        (t(ok.0, "-51", ok.2, ok.3), "temperature"),
        (t(ok.0, "61", ok.2, ok.3), "temperature"),
        (t(ok.0, "99999999999999999999999", ok.2, ok.3), "temperature"),
        (t(ok.0, "18446744073709551615", ok.2, ok.3), "temperature"),
        (t(ok.0, "-9223372036854775808", ok.2, ok.3), "temperature"),
        (t(ok.0, "null", ok.2, ok.3), "temperature"),
        (t(ok.0, "true", ok.2, ok.3), "temperature"),
        (t(ok.0, "{}", ok.2, ok.3), "temperature"),
        (t(ok.0, ok.1, "-1", ok.3), "humidity"),
        (t(ok.0, ok.1, "101", ok.3), "humidity"),
        (t(ok.0, ok.1, "50.5", ok.3), "humidity"),
        (t(ok.0, ok.1, r#""60""#, ok.3), "humidity"),
        (t(ok.0, ok.1, ok.2, r#""snowy""#), "weather"),
        (t(ok.0, ok.1, ok.2, r#""SUNNY""#), "weather"),
        (t(ok.0, ok.1, ok.2, r#""weathers_unknown""#), "weather"),
        (t(ok.0, ok.1, ok.2, "1"), "weather"),
        (t(ok.0, ok.1, ok.2, "false"), "weather"),
        // Unknown extra fields and duplicate keys are rejected too.
        (r#"{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","city":"x"}"#.into(), "city"),
        (r#"{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","id":"abc"}"#.into(), "id"),
        (
            r#"{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","temperature":99}"#.into(),
            "temperature",
        ),
        (r#"{"municipality":"mixco","temperature":25,"humidity":60,"wether":"sunny"}"#.into(), "weather"),
    ];
    for (body, field) in &cases {
        let a = post_tweet(&st, body).await;
        assert_eq!(a.status, 400, "{body} → {}", String::from_utf8_lossy(&a.raw));
        assert_eq!(a.json["error"], "invalid field", "{body}");
        assert_eq!(a.json["field"], *field, "{body} → {}", a.json);
        assert!(a.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        assert_eq!(a.headers["content-type"], "application/json");
    }

    // Not JSON, or JSON but not an object: 400 without a field.
    let not_tweets = [
        ("", "malformed json"),
        ("{", "malformed json"),
        (r#"{"municipality":"#, "malformed json"),
        (r#"{"municipality":"mixco",}"#, "malformed json"),
        (&format!("{VALID}x"), "malformed json"),
        (&format!("{VALID}{VALID}"), "malformed json"),
        ("\u{feff}{}", "malformed json"),
        ("[]", "invalid body"),
        (r#""mixco""#, "invalid body"),
        ("42", "invalid body"),
        ("null", "invalid body"),
        (&"[".repeat(2000), "invalid body"),
    ];
    for (body, error) in not_tweets {
        let a = post_tweet(&st, body).await;
        assert_eq!(a.status, 400, "{body:?}");
        assert_eq!(a.json["error"], error, "{body:?} → {}", a.json);
    }

    // 413 over 4 KiB: declared by Content-Length, and streamed without one.
    let big = format!("{}{}", VALID, " ".repeat(4097 - VALID.len()));
    assert_eq!(post_tweet(&st, &big).await.status, 413);
    let just_fits = format!("{}{}", VALID, " ".repeat(4096 - VALID.len()));
    assert_eq!(post_tweet(&st, &just_fits).await.status, 202);
    let chunks: Vec<Result<String, std::io::Error>> = (0..10).map(|_| Ok(" ".repeat(500))).collect();
    let streamed = Body::from_stream(tokio_stream::iter(chunks));
    let a = call(&st, post_json(streamed)).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.json["error"], "payload too large");

    // 415 for anything but application/json (UTF-8).
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        Some("application/jsonx"),
    ] {
        let mut b = Request::post("/tweets");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let a = call(&st, b.body(Body::from(VALID)).unwrap()).await;
        assert_eq!(a.status, 415, "{ct:?}");
        assert_eq!(a.json["error"], "unsupported media type");
    }

    // Other routes and methods.
    assert_eq!(call(&st, get("/tweets")).await.status, 405);
    assert_eq!(call(&st, get("/nope")).await.status, 404);

    // One valid body was sent on purpose (just_fits); nothing invalid reached the gateway.
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn errors_list_every_problem() {
    let fake = fake_rest(&[reply(202)]).await;
    let st = state(rest_config(&fake.url()));
    let a = post_tweet(&st, r#"{"municipality":"x","temperature":100,"extra":1}"#).await;
    assert_eq!(a.status, 400);
    let fields: Vec<&str> = a.json["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["municipality", "temperature", "humidity", "weather", "extra"]);
    assert!(fake.seen().is_empty());
}
