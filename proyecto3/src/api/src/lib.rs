//! Tweets del Clima — the ingress api. See docs/api.md.
pub mod app;
pub mod config;
pub mod forward;
pub mod metrics;
pub mod validate;

/// Code generated from the statement's proto (package `wetherweet`).
pub mod pb {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("wetherweet");
}
