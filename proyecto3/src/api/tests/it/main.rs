//! Integration tests, one binary (one link) for all of them.
mod common;
mod forward_grpc;
mod forward_rest;
mod props;
mod shutdown;
mod validation;
