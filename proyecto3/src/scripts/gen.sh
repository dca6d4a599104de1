#!/usr/bin/env bash
# Regenerates every generated file of the Go module from its source:
#   - gen/wetherweetpb from ../proto/weathertweet.proto (buf, local plugins, pinned versions).
# Tools are installed into the Go bin dir on first use, at the versions pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

gobin="$(go env GOBIN)"; [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"

need() { # need <binary> <module@version> <version-probe-substring>
  if ! command -v "$1" >/dev/null 2>&1 || ! "$1" --version 2>&1 | grep -q -- "$3"; then
    echo "gen: installing $2"
    GOFLAGS=-mod=mod go install "$2"
  fi
}
need buf "github.com/bufbuild/buf/cmd/buf@${BUF_VERSION}" "${BUF_VERSION#v}"
need protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}" "${PROTOC_GEN_GO_VERSION}"
need protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}" "${PROTOC_GEN_GO_GRPC_VERSION#v}"

rm -rf gen/wetherweetpb
buf generate
echo "gen: wrote $(find gen -name '*.go' | wc -l) files under gen/"
