//! Property tests: whatever the body, the handler never panics and answers 4xx (or, only for a
//! body that really is a valid tweet, forwards it).
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use tweets_api::validate::parse_tweet;

use crate::common::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        (-100i64..200).prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", Number::from_f64).prop_map(Value::Number),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![Just("mixco"), Just("guatemala"), Just("sunny"), Just("foggy"), Just("Rainy")]
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            Just("municipality".to_string()),
            Just("temperature".to_string()),
            Just("humidity".to_string()),
            Just("weather".to_string()),
            ".{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The api under test forwards to a closed port with no retry: a valid tweet gets 503, fast.
fn expect_status(body: &[u8], status: u16) -> Result<(), TestCaseError> {
    if body.len() > 4096 {
        prop_assert_eq!(status, 413);
    } else if parse_tweet(body).is_ok() {
        prop_assert_eq!(status, 503);
    } else {
        prop_assert_eq!(status, 400, "body {:?}", String::from_utf8_lossy(body));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_get_4xx(body in prop::collection::vec(any::<u8>(), 0..5000)) {
        let rt = runtime();
        let status = rt.block_on(async {
            let addr = refused_addr().await;
            let st = state(tweets_api::config::Config { forward_retries: 0, ..rest_config(&format!("http://{addr}")) });
            post_tweet_bytes(&st, body.clone()).await
        });
        expect_status(&body, status)?;
    }

    #[test]
    fn random_json_never_panics_and_gets_4xx_unless_valid(v in arb_json()) {
        let body = serde_json::to_vec(&v).unwrap();
        let rt = runtime();
        let status = rt.block_on(async {
            let addr = refused_addr().await;
            let st = state(tweets_api::config::Config { forward_retries: 0, ..rest_config(&format!("http://{addr}")) });
            post_tweet_bytes(&st, body.clone()).await
        });
        expect_status(&body, status)?;
    }

    #[test]
    fn a_valid_tweet_with_one_field_replaced_is_valid_only_if_in_range(
        field in 0usize..4, replacement in arb_json(),
    ) {
        let mut v: Value = serde_json::from_str(VALID).unwrap();
        let name = ["municipality", "temperature", "humidity", "weather"][field];
        v[name] = replacement.clone();
        let ok = parse_tweet(&serde_json::to_vec(&v).unwrap()).is_ok();
        let in_contract = match (name, &replacement) {
            ("municipality", Value::String(s)) => ["mixco", "guatemala", "amatitlan", "chinautla"].contains(&s.as_str()),
            ("weather", Value::String(s)) => ["sunny", "cloudy", "rainy", "foggy"].contains(&s.as_str()),
            ("temperature", Value::Number(n)) => n.as_i64().is_some_and(|x| (-50..=60).contains(&x)),
            ("humidity", Value::Number(n)) => n.as_i64().is_some_and(|x| (0..=100).contains(&x)),
            _ => false,
        };
        prop_assert_eq!(ok, in_contract, "{}", v);
        if let Err(tweets_api::validate::Invalid::Fields(errs)) = parse_tweet(&serde_json::to_vec(&v).unwrap()) {
            prop_assert_eq!(errs[0].field.as_str(), name);
        }
    }
}

async fn post_tweet_bytes(st: &tweets_api::app::AppState, body: Vec<u8>) -> u16 {
    call(st, post_json(body)).await.status.as_u16()
}
