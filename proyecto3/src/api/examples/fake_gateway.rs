//! Benchmark helper (not shipped): a gateway that answers at once.
//!
//!   fake_gateway [--http 127.0.0.1:18081] [--grpc 127.0.0.1:18051]...
//!
//! `--http`: `POST /tweets` → 202 `{"status":"accepted"}`. `--grpc` (repeatable):
//! `wetherweet.WeatherTweetService/SendTweet` → OK. Used as the api's gateway (api alone) and as
//! the real gateway's two writers (so the comparison measures the api and the gateway, not brokers).
use axum::{http::StatusCode, routing::post, Router};
use tweets_api::pb::{
    weather_tweet_service_server::{WeatherTweetService, WeatherTweetServiceServer},
    WeatherTweetRequest, WeatherTweetResponse,
};

struct Ok202;

#[tonic::async_trait]
impl WeatherTweetService for Ok202 {
    async fn send_tweet(
        &self,
        _req: tonic::Request<WeatherTweetRequest>,
    ) -> Result<tonic::Response<WeatherTweetResponse>, tonic::Status> {
        Ok(tonic::Response::new(WeatherTweetResponse { status: "ok".into() }))
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut tasks = Vec::new();
    for pair in args.chunks(2) {
        let [flag, addr] = pair else { panic!("usage: fake_gateway [--http ADDR] [--grpc ADDR]...") };
        let listener = tokio::net::TcpListener::bind(addr.as_str()).await.expect("bind");
        match flag.as_str() {
            "--http" => {
                let app = Router::new()
                    .route("/tweets", post(|| async { (StatusCode::ACCEPTED, r#"{"status":"accepted"}"#) }));
                tasks.push(tokio::spawn(async move { axum::serve(listener, app).await.expect("serve http") }));
            }
            "--grpc" => {
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                tasks.push(tokio::spawn(async move {
                    tonic::transport::Server::builder()
                        .add_service(WeatherTweetServiceServer::new(Ok202))
                        .serve_with_incoming(incoming)
                        .await
                        .expect("serve grpc")
                }));
            }
            f => panic!("unknown flag {f}"),
        }
        eprintln!("fake_gateway: {flag} {addr}");
    }
    for t in tasks {
        let _ = t.await;
    }
}
