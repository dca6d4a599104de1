// Compiles the statement's proto (verbatim, ../../proto/weathertweet.proto) with protox, a pure-Rust
// protobuf compiler, so neither a developer nor CI needs `protoc` installed.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    // In the repository the proto lives at proyecto3/proto; inside the Docker build context
    // (this folder) the Dockerfile copies it to ./proto.
    let candidates = [manifest.join("../../proto"), manifest.join("proto")];
    let include = candidates
        .iter()
        .find(|d| d.join("weathertweet.proto").is_file())
        .ok_or("weathertweet.proto not found in ../../proto or ./proto")?
        .clone();
    let proto = include.join("weathertweet.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!("cargo:rerun-if-env-changed=VERSION");

    let fds = protox::compile([&proto], [&include])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let fds_path = out.join("weathertweet.fds.bin");
    std::fs::write(&fds_path, prost::Message::encode_to_vec(&fds))?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .file_descriptor_set_path(&fds_path)
        .skip_protoc_run()
        .compile_protos(&[&proto], &[&include])?;
    Ok(())
}
