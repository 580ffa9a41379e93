#!/usr/bin/env bash
# test.sh: Flowline's whole test suite, as CI runs it (.ci/run calls this).
#   - checks formatting, go vet, and that generated protobuf code is fresh;
#   - starts one local Elasticsearch for the whole run (fetched from Maven
#     Central on first use, cached under ~/.cache/flowline), unless
#     FLOWLINE_ES_URL already points at one;
#   - runs every test, integration tests included, against real NATS
#     JetStream (embedded nats-server) and that Elasticsearch.
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

bin=$(mktemp -d)
cleanup() {
  if [[ -n "${es_pid:-}" ]]; then kill "$es_pid" 2>/dev/null || true; wait "$es_pid" 2>/dev/null || true; fi
  rm -rf "$bin"
}
trap cleanup EXIT

if [[ -z "${FLOWLINE_ES_URL:-}" ]]; then
  echo "== starting a local Elasticsearch"
  go build -o "$bin/flowline" ./cmd/flowline
  "$bin/flowline" elasticsearch --url-file "$bin/es-url" > "$bin/es.log" 2>&1 &
  es_pid=$!
  for _ in $(seq 1 300); do
    [[ -s "$bin/es-url" ]] && break
    if ! kill -0 "$es_pid" 2>/dev/null; then cat "$bin/es.log"; echo "Elasticsearch did not start"; exit 1; fi
    sleep 1
  done
  [[ -s "$bin/es-url" ]] || { cat "$bin/es.log"; echo "Elasticsearch not healthy in time"; exit 1; }
  export FLOWLINE_ES_URL=$(cat "$bin/es-url")
fi
echo "== tests (Elasticsearch at $FLOWLINE_ES_URL)"
go test -race -count=1 -timeout 30m ./...
echo "== allocation budgets (not under -race, which changes allocations)"
go test -count=1 -run 'TestAllocations' ./...
