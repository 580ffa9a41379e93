package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(level, containing string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, "level="+level) && strings.Contains(line, containing) {
			n++
		}
	}
	return n
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeClock is a Refusals clock the test moves.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock() *fakeClock           { c := &fakeClock{}; c.ns.Store(time.Now().UnixNano()); return c }
func testRefusals(cfg config.Elasticsearch) (*Refusals, *lockedBuffer, *fakeClock) {
	return testRefusalsReady(cfg, nil)
}

func testRefusalsReady(cfg config.Elasticsearch, ready *lifecycle.Readiness) (*Refusals, *lockedBuffer, *fakeClock) {
	logs := &lockedBuffer{}
	r := NewRefusals(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "FLOWLINE_ES_", cfg, ready)
	clock := newFakeClock()
	r.now = clock.now
	return r, logs, clock
}

// Wrong credentials (401, on any request of a client made with ReportTo)
// are said at ERROR with the URL but without its password, once and then at
// most once a minute however often the request is retried; readiness (Err)
// fails with Elasticsearch's reason while they are refused, and recovers
// with an INFO line at the first success.
func TestWrongCredentialsAreSaidAtErrorAndFailReadinessUntilAccepted(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if refuse.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user [someone] for REST request [/_cluster/health]"},"status":401}`)
			return
		}
		io.WriteString(w, `{"cluster_name":"stand-in","status":"green"}`)
	}))
	defer srv.Close()
	const secret = "pw-In-The-URL-a81f"
	cfg := config.Elasticsearch{URL: strings.Replace(srv.URL, "http://", "http://someone:"+secret+"@", 1)}
	ready := lifecycle.NewReadiness()
	r, logs, clock := testRefusalsReady(cfg, ready)
	// The engine detected, as by default: GET / answered 401 as well.
	c, err := NewClient(config.Search{ES: cfg}, ReportTo(r))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := ready.Err(); err != nil {
		t.Fatalf("ready before any request: %v", err)
	}

	for range 5 {
		err := Ping(ctx, c)
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "unable to authenticate user") {
			t.Fatalf("Ping = %v, want the 401 with its reason (the caller still gets the body)", err)
		}
	}
	if n := logs.lines("ERROR", "refuses the credentials"); n != 1 {
		t.Errorf("%d ERROR lines about the credentials after 5 refusals, want 1:\n%s", n, logs)
	}
	out := logs.String()
	if !strings.Contains(out, "FLOWLINE_ES_USERNAME") || !strings.Contains(out, "someone:xxxxx@") || !strings.Contains(out, "security_exception") {
		t.Errorf("the ERROR does not say what is wrong (variables, redacted URL, Elasticsearch's reason):\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("the log reveals the password in the URL:\n%s", out)
	}
	for what, err := range map[string]error{"Err()": r.Err(), "readiness": ready.Err()} {
		if err == nil || !strings.Contains(err.Error(), "refuses the credentials") || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), secret) {
			t.Errorf("%s = %v, want the refused credentials (without the password)", what, err)
		}
	}

	// Still refused a minute later: said again, with the count.
	clock.add(refusalEvery + time.Second)
	_ = Ping(ctx, c)
	if n := logs.lines("ERROR", "refuses the credentials"); n != 2 {
		t.Errorf("%d ERROR lines after a minute more of refusals, want 2", n)
	}

	refuse.Store(false)
	if err := Ping(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v after the credentials were accepted", err)
	}
	if err := ready.Err(); err != nil {
		t.Errorf("readiness = %v after the credentials were accepted", err)
	}
	if logs.lines("INFO", "accepts the credentials again") != 1 {
		t.Errorf("no INFO line says the credentials are accepted again:\n%s", logs)
	}
}

// A bulk executor reports items refused for a condition of the cluster to
// its Refusals: one WARN for many rounds, readiness failing meanwhile with
// the reason, cleared once the items are written; pushback (429) is retried
// without failing readiness.
func TestBulkExecutorReportsClusterConditionsOnce(t *testing.T) {
	var blocked atomic.Int32
	blocked.Store(4) // rounds refused
	srv := httptest.NewServer(&fakeBulk{answer: func(call int, ids []string) (int, []int) {
		status := http.StatusCreated
		if blocked.Add(-1) >= 0 {
			status = http.StatusForbidden
		}
		items := make([]int, len(ids))
		for i := range items {
			items[i] = status
		}
		return http.StatusOK, items
	}})
	defer srv.Close()
	cfg := config.Elasticsearch{URL: srv.URL}
	r, logs, _ := testRefusals(cfg)
	c := newFakeClient(t, srv.URL, ReportTo(r))
	var during []error
	var retryErrs []error
	e := NewBulkExecutor(c, BulkPolicy{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Refusals: r,
		BeforeRetry: func(err error, _ int, _ time.Duration) {
			retryErrs = append(retryErrs, err)
			during = append(during, r.Err())
		}})
	done := 0
	err := e.Do(context.Background(), 3, func(buf []byte, i int) []byte {
		return AppendOp(buf, Op{Index: "i", ID: fmt.Sprint(i), Version: 1, Source: []byte(`{}`)})
	}, func(i int, res Result) bool {
		if res.Outcome != Done {
			t.Errorf("op %d reported %v", i, res.Outcome)
		}
		done++
		return true
	})
	if err != nil || done != 3 {
		t.Fatalf("Do = %v with %d done, want all 3 written once the condition is lifted", err, done)
	}
	if len(during) != 4 {
		t.Fatalf("%d retry rounds, want 4", len(during))
	}
	for i, err := range during {
		if err == nil || !strings.Contains(err.Error(), "refuses writes") || !strings.Contains(err.Error(), "item_403") {
			t.Errorf("round %d: Err() = %v, want the condition and its reason", i, err)
		}
		if !errors.Is(retryErrs[i], ErrClusterRefused) || !errors.Is(retryErrs[i], ErrPushedBack) {
			t.Errorf("round %d: BeforeRetry got %v, want ErrPushedBack and ErrClusterRefused", i, retryErrs[i])
		}
	}
	if n := logs.lines("WARN", "refuses writes"); n != 1 {
		t.Errorf("%d WARN lines for 4 refused rounds, want 1:\n%s", n, logs)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v once written", err)
	}
	if logs.lines("INFO", "accepts writes again") != 1 {
		t.Errorf("no INFO line says writes are accepted again:\n%s", logs)
	}

	// 429 pushback is no condition.
	busy := httptest.NewServer(&fakeBulk{answer: firstThenCreated(2, http.StatusOK, http.StatusTooManyRequests)})
	defer busy.Close()
	bc := newFakeClient(t, busy.URL, ReportTo(r))
	e = NewBulkExecutor(bc, BulkPolicy{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Refusals: r})
	err = e.Do(context.Background(), 1, func(buf []byte, i int) []byte {
		return AppendOp(buf, Op{Index: "i", ID: "p", Version: 1, Source: []byte(`{}`)})
	}, func(int, Result) bool { return true })
	if err != nil || r.Err() != nil || logs.lines("WARN", "refuses writes") != 1 {
		t.Errorf("after 429s: Do = %v, Err() = %v, WARN lines %d; want written, ready, no new WARN", err, r.Err(), logs.lines("WARN", "refuses writes"))
	}
}

// A refusal that no reporter renews stops counting after a minute (a
// reporter that gave up does not hold readiness for ever), and the next
// refusal is news again.
func TestRefusalsExpire(t *testing.T) {
	r, logs, clock := testRefusals(config.Elasticsearch{URL: "http://es:9200"})
	r.refused("gave up", refusedWrites, errors.New("HTTP 403: cluster_block_exception: blocked"))
	if r.Err() == nil {
		t.Fatal("no readiness error right after a refusal")
	}
	clock.add(refusalEvery + time.Second)
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v a minute after the last refusal", err)
	}
	r.refused("another", refusedWrites, errors.New("HTTP 403: cluster_block_exception: blocked"))
	if n := logs.lines("WARN", "refuses writes"); n != 2 {
		t.Errorf("%d WARN lines, want 2 (the refusal after the expiry is news)", n)
	}
}
