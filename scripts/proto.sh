#!/usr/bin/env bash
# proto.sh: lint the protobuf schema and (re)generate its Go code with buf.
#   scripts/proto.sh          lint and regenerate pkg/pb
#   scripts/proto.sh --check  lint, regenerate into a temp dir, fail if pkg/pb is stale
# buf comes from the Go module proxy via tools/go.mod; protoc-gen-go and
# protoc-gen-go-vtproto are built from the main module so generated code
# matches the protobuf and vtprotobuf runtimes we link.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="${FLOWLINE_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/flowline/bin}"
mkdir -p "$bin"
(cd tools && go build -o "$bin/" github.com/bufbuild/buf/cmd/buf)
go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$bin/" github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto
export PATH="$bin:$PATH"

cd proto
buf lint
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  cp -r "$root/proto" "$tmp/proto"
  (cd "$tmp/proto" && buf generate)
  if ! diff -r "$root/pkg/pb" "$tmp/pkg/pb"; then
    echo "proto: generated code in pkg/pb is stale; run scripts/proto.sh and commit" >&2
    exit 1
  fi
  echo "proto: generated code is up to date"
else
  rm -rf "$root/pkg/pb"
  buf generate
fi
