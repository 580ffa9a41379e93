package ingest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/ingest"
)

// newMeteredIngest is newIngest with its metrics in a registry the test
// reads.
func newMeteredIngest(t *testing.T, mutate func(*ingest.Config)) (*ingest.Service, *prometheus.Registry) {
	t.Helper()
	cfg := ingest.Config{Addr: "127.0.0.1:0", MaxRecords: 100, NATS: testenv.NATSConfig(testenv.NATS(t)), Streams: testenv.Streams()}
	cfg.EventsOnly, cfg.BatchRecords, cfg.BatchBytes = true, 4, 32<<10
	mutate(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := ingest.New(cfg, testenv.DepsOn(t, reg))
	testenv.Run(t, s)
	return s, reg
}

// stall starts a request that claims contentLength bytes, sends the first
// part of a body, and keeps the connection open without sending more until
// the test ends.
func stall(t *testing.T, s *ingest.Service, contentLength int, part string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/records HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n%s", contentLength, part)
	return conn
}

// inflight is the ingest's flowline_ingest_inflight_bytes gauge.
func inflight(t *testing.T, reg *prometheus.Registry) float64 {
	return testenv.Metric(t, reg, "flowline_ingest_inflight_bytes", nil)
}

// The bytes held by requests in flight are bounded: once slow requests
// hold the budget, further requests get 429 with Retry-After at once
// instead of more memory; when the slow ones end, requests pass again.
func TestInflightBytesAreBoundedWith429AndRetryAfter(t *testing.T) {
	s, reg := newMeteredIngest(t, func(c *ingest.Config) { c.MaxBodyBytes, c.MaxInflightBytes = 1<<20, 2<<20 })
	slow1 := stall(t, s, 1<<20-1, line(1, 1)+"\n")
	slow2 := stall(t, s, 1<<20-1, line(2, 1)+"\n")
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := inflight(t, reg); got < 2<<20 {
			return fmt.Errorf("%v bytes in flight, waiting for both slow requests to hold 1 MiB each", got)
		}
		return nil
	})
	a := send(t, s, ingest.ContentTypeNDJSON, []byte(line(3, 1)), nil)
	requireMentions(t, a, 429, "FLOWLINE_INGEST_MAX_INFLIGHT_BYTES", "retry")
	if a.hdr.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", a.hdr)
	}
	slow1.Close()
	slow2.Close()
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := inflight(t, reg); got != 0 {
			return fmt.Errorf("%v bytes still in flight after the slow requests went away", got)
		}
		return nil
	})
	if a := send(t, s, ingest.ContentTypeNDJSON, []byte(line(3, 1)), nil); a.code != 202 {
		t.Fatalf("request after the budget was freed: %d %s", a.code, a.raw)
	}
}

// A Content-Length is a claim: ingest takes memory as the bytes arrive, so
// a request claiming a 48 MiB body and sending a line holds at most the
// first buffer (1 MiB), by its own count and by the process's allocations.
func TestClaimedContentLengthIsNotAllocatedBeforeTheBytesArrive(t *testing.T) {
	const claimed = 48 << 20
	s, reg := newMeteredIngest(t, func(c *ingest.Config) { c.MaxBodyBytes = 64 << 20 })
	allocated := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.TotalAlloc
	}
	before := allocated()
	stall(t, s, claimed, line(1, 1)+"\n")
	testenv.Eventually(t, 10*time.Second, func() error {
		if inflight(t, reg) == 0 && allocated()-before < claimed {
			return fmt.Errorf("the request holds nothing yet")
		}
		return nil
	})
	if got := allocated() - before; got > 16<<20 {
		t.Fatalf("%d bytes allocated for a request that claimed %d and sent one line", got, claimed)
	}
	if got := inflight(t, reg); got > 1<<20 {
		t.Fatalf("a request that sent one line holds %v bytes; it claimed %d, at most 1 MiB should be taken", got, claimed)
	}
}

// A client that stops sending in the middle of its body gets 408 once
// FLOWLINE_INGEST_READ_TIMEOUT has passed, and its connection is closed:
// it cannot hold a goroutine and its buffer for ever.
func TestSlowBodyGets408AfterTheReadTimeout(t *testing.T) {
	s, reg := newMeteredIngest(t, func(c *ingest.Config) {
		c.MaxBodyBytes, c.ReadTimeout, c.WriteTimeout = 1<<20, config.Duration(500*time.Millisecond), config.Duration(30*time.Second)
	})
	conn := stall(t, s, 4096, line(1, 1)+"\n")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // the test's own bound, far above the server's
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "FLOWLINE_INGEST_READ_TIMEOUT") {
		t.Fatalf("stalled body: %d %s", res.StatusCode, body)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := inflight(t, reg); got != 0 {
			return fmt.Errorf("%v bytes still held by the timed-out request", got)
		}
		return nil
	})
}

// Without a token, ingest listening beyond loopback accepts records from
// anyone: it says so at WARN when it starts, and only then.
func TestOpenPushAPIBeyondLoopbackIsWarnedAtStart(t *testing.T) {
	tests := []struct {
		name, addr, token string
		warn              bool
	}{
		{"all interfaces, no token", "0.0.0.0:0", "", true},
		{"all interfaces, token", "0.0.0.0:0", "s3cret", false},
		{"loopback, no token", "127.0.0.1:0", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.Buffer
			cfg := ingest.Config{Addr: tt.addr, MaxBodyBytes: 1 << 20, MaxRecords: 100, NATS: testenv.NATSConfig(testenv.NATS(t)), Streams: testenv.Streams()}
			cfg.Token, cfg.BatchRecords, cfg.BatchBytes = tt.token, 4, 32<<10
			deps := testenv.Deps(t)
			deps.Log = slog.New(slog.NewTextHandler(&logs, nil))
			testenv.Run(t, ingest.New(cfg, deps))
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "no bearer token")
			if warned != tt.warn {
				t.Fatalf("warned %v, want %v; log:\n%s", warned, tt.warn, logs.String())
			}
		})
	}
}

// The token can come from a file (a mounted secret) instead of the
// environment; an unreadable or empty file stops ingest at start with the
// variable named.
func TestIngestTokenFromAFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newIngest(t, testenv.NATS(t), func(c *ingest.Config) { c.TokenFile = file })
	if a := send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 1)), nil); a.code != 401 {
		t.Fatalf("no token: %d %s", a.code, a.raw)
	}
	if a := send(t, s, ingest.ContentTypeNDJSON, []byte(line(1, 1)), map[string]string{"Authorization": "Bearer from-file"}); a.code != 202 {
		t.Fatalf("the file's token: %d %s", a.code, a.raw)
	}

	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte(" \n"), 0o600)
	for _, f := range []string{filepath.Join(dir, "missing"), empty} {
		cfg := ingest.Config{Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, MaxRecords: 100, NATS: testenv.NATSConfig(testenv.NATS(t)), Streams: testenv.Streams()}
		cfg.TokenFile, cfg.BatchRecords, cfg.BatchBytes = f, 4, 32<<10
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := ingest.New(cfg, testenv.Deps(t)).Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "FLOWLINE_INGEST_TOKEN_FILE") {
			t.Errorf("token file %s: Run returned %v, want an error naming FLOWLINE_INGEST_TOKEN_FILE", f, err)
		}
	}
	both := ingest.Config{MaxBodyBytes: 1 << 20, MaxRecords: 1, NATS: testenv.NATSConfig(testenv.NATS(t)), Streams: testenv.Streams()}
	both.Token, both.TokenFile, both.BatchRecords, both.BatchBytes = "x", file, 1, 2048
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("token and token file: %v", err)
	}
}

// TestALargestBodyFitsTheSmallestBudget: with the in-flight budget at its
// lowest allowed value (twice FLOWLINE_INGEST_MAX_BODY_BYTES), a body of
// exactly the limit is stored and one byte more gets 413, never a 429 that
// no retry could ever pass.
func TestALargestBodyFitsTheSmallestBudget(t *testing.T) {
	const limit = 1 << 20
	s, _ := newMeteredIngest(t, func(c *ingest.Config) { c.MaxBodyBytes, c.MaxInflightBytes = limit, 2*limit })
	body := func(size int) []byte {
		l := line(1, 1)
		return []byte(l + strings.Repeat(" ", size-len(l)-1) + "\n") // trailing blanks are JSON whitespace
	}
	gzipped := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return buf.Bytes()
	}
	gz := map[string]string{"Content-Encoding": "gzip"} // the decompressor says where the body ends only when asked again
	for i, tc := range []struct {
		body []byte
		hdr  map[string]string
	}{{body(limit), nil}, {gzipped(body(limit)), gz}} {
		if a := send(t, s, ingest.ContentTypeNDJSON, tc.body, tc.hdr); a.code != 202 && !strings.Contains(a.raw, "duplicate") {
			t.Fatalf("body %d of exactly the limit: %d %s", i, a.code, a.raw)
		}
	}
	requireMentions(t, send(t, s, ingest.ContentTypeNDJSON, body(limit+1), nil), 413, "FLOWLINE_INGEST_MAX_BODY_BYTES")
	requireMentions(t, send(t, s, ingest.ContentTypeNDJSON, gzipped(body(limit+1)), gz), 413, "FLOWLINE_INGEST_MAX_BODY_BYTES")
}
