use std::{future::IntoFuture, process::ExitCode};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tweets_api::{
    app::{router, AppState},
    config::Config,
};

fn main() -> ExitCode {
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{{\"level\":\"ERROR\",\"message\":\"bad configuration\",\"error\":{e:?}}}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&cfg.log_level);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(level: &str) {
    let level = level.parse::<tracing::Level>().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(level)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .init();
}

async fn run(cfg: Config) -> Result<(), String> {
    let state = AppState::new(cfg.clone())?;
    let listener = TcpListener::bind(cfg.listen_addr)
        .await
        .map_err(|e| format!("listen on {}: {e}", cfg.listen_addr))?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    tracing::info!(
        listen = %cfg.listen_addr,
        forward = cfg.forward.as_str(),
        gateway_url = %cfg.gateway_url,
        gateway_grpc_addr = %cfg.gateway_grpc_addr,
        timeout_ms = cfg.forward_timeout.as_millis() as u64,
        retries = cfg.forward_retries,
        version = %cfg.version,
        "api listening"
    );

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = {
        let state = state.clone();
        let delay = cfg.shutdown_delay;
        async move {
            wait_for_signal().await;
            state.begin_shutdown();
            tracing::info!(delay_ms = delay.as_millis() as u64, "shutdown: not ready; draining");
            tokio::time::sleep(delay).await;
            tracing::info!("shutdown: closing the listener, finishing in-flight requests");
            let _ = stopped_tx.send(());
        }
    };
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown);
    let server = std::pin::pin!(server.into_future());
    let hard_limit = async {
        let _ = stopped_rx.await;
        tokio::time::sleep(cfg.shutdown_timeout).await;
    };
    tokio::select! {
        r = server => r.map_err(|e| format!("serve: {e}"))?,
        _ = hard_limit => tracing::warn!("shutdown: in-flight requests did not finish in time"),
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutdown requested"),
                _ = int.recv() => tracing::info!(signal = "SIGINT", "shutdown requested"),
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
