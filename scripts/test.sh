#!/usr/bin/env bash
# test.sh: Flowline's whole test suite, as CI runs it (.ci/run calls this).
#   - checks formatting, go vet, and that generated protobuf code is fresh;
#   - starts one local Elasticsearch and one local OpenSearch for the whole
#     run (fetched from Maven Central on first use, cached under
#     ~/.cache/flowline), unless FLOWLINE_ES_URL / FLOWLINE_OS_URL already
#     point at them;
#   - installs Prometheus (Debian's prometheus package: prometheus and
#     promtool) when it is missing, for the observability tests;
#   - runs every test, integration tests included, against real NATS
#     JetStream (embedded nats-server), that Elasticsearch and that OpenSearch.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.flowline/*'))
if [[ -n "$unformatted" ]]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== protobuf: lint and freshness"
scripts/proto.sh --check

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "== installing Prometheus (Debian's prometheus package)"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

bin=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$bin"
}
trap cleanup EXIT

# start_node ENGINE HEAP_MB: starts `flowline ENGINE` in the background, its
# URL landing in $bin/ENGINE-url.
start_node() {
  [[ -x "$bin/flowline" ]] || go build -o "$bin/flowline" ./cmd/flowline
  "$bin/flowline" "$1" --heap-mb "$2" --url-file "$bin/$1-url" > "$bin/$1.log" 2>&1 &
  pids+=($!)
  eval "${1}_pid=$!"
}

# wait_node ENGINE: waits for the node's URL and prints it.
wait_node() {
  local pid_var="${1}_pid"
  for _ in $(seq 1 300); do
    [[ -s "$bin/$1-url" ]] && { cat "$bin/$1-url"; return; }
    if ! kill -0 "${!pid_var}" 2>/dev/null; then cat "$bin/$1.log" >&2; echo "$1 did not start" >&2; exit 1; fi
    sleep 1
  done
  cat "$bin/$1.log" >&2; echo "$1 not healthy in time" >&2; exit 1
}

# One after the other: on a fresh machine each first fetches its
# distribution with Maven, and two Maven runs filling one empty ~/.m2 at
# once can corrupt it.
if [[ -z "${FLOWLINE_ES_URL:-}" ]]; then
  echo "== starting a local Elasticsearch"
  start_node elasticsearch 1024
  FLOWLINE_ES_URL=$(wait_node elasticsearch)
fi
if [[ -z "${FLOWLINE_OS_URL:-}" ]]; then
  echo "== starting a local OpenSearch"
  start_node opensearch 768
  FLOWLINE_OS_URL=$(wait_node opensearch)
fi
export FLOWLINE_ES_URL FLOWLINE_OS_URL
echo "== tests (Elasticsearch at $FLOWLINE_ES_URL, OpenSearch at $FLOWLINE_OS_URL)"
go test -race -count=1 -timeout 30m ./...
echo "== allocation budgets (not under -race, which changes allocations)"
go test -count=1 -run 'TestAllocations' ./...
