package replay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/flowline/flowline/services/ingest/replay"
)

// TestPusherHalvesTooLargeBatchesAndRetries: a body ingest finds too large
// (413) is split at line boundaries until it fits, a 503 is retried, and
// the answers are summed; a single line too large is an error.
func TestPusherHalvesTooLargeBatchesAndRetries(t *testing.T) {
	var requests, unavailable atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Encoding") != "gzip" {
			http.Error(w, "bad request headers", http.StatusUnauthorized)
			return
		}
		if unavailable.Add(-1) >= 0 {
			http.Error(w, "broker down", http.StatusServiceUnavailable)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := io.ReadAll(zr)
		lines := bytes.Count(body, []byte("\n"))
		if lines > 2 || len(body) > 64 {
			http.Error(w, "too many records", http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d,"duplicates":0}`, lines)
	}))
	defer srv.Close()
	p := replay.NewPusher(srv.URL, "tok", nil, nil)

	unavailable.Store(1)
	ans, err := p.Push(context.Background(), []byte("a\nb\nc\nd\ne\n"))
	if err != nil || ans.Accepted != 5 {
		t.Fatalf("answer %+v, error %v; want 5 accepted", ans, err)
	}
	if n := requests.Load(); n < 5 {
		t.Errorf("%d requests: the batch was not retried and halved", n)
	}
	_, err = p.Push(context.Background(), bytes.Repeat([]byte("x"), 100))
	if !errors.Is(err, replay.ErrTooLarge) {
		t.Errorf("a single oversize line: %v, want ErrTooLarge", err)
	}
}

// TestPusherUncompressed: an uncompressed pusher sends the lines as they
// are, with no Content-Encoding, and still splits on 413.
func TestPusherUncompressed(t *testing.T) {
	var got bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if enc := r.Header.Get("Content-Encoding"); enc != "" {
			http.Error(w, "unexpected Content-Encoding "+enc, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if bytes.Count(body, []byte("\n")) > 2 {
			http.Error(w, "too many records", http.StatusRequestEntityTooLarge)
			return
		}
		got.Write(body)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d}`, bytes.Count(body, []byte("\n")))
	}))
	defer srv.Close()
	p := replay.NewPusher(srv.URL, "", nil, nil).Uncompressed()
	ans, err := p.Push(context.Background(), []byte("a\nb\nc\nd\ne\n"))
	if err != nil || ans.Accepted != 5 {
		t.Fatalf("answer %+v, error %v; want 5 accepted", ans, err)
	}
	if got.String() != "a\nb\nc\nd\ne\n" {
		t.Errorf("server received %q", got.String())
	}
}
