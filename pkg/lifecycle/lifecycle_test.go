package lifecycle

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeService records when it starts and stops.
type fakeService struct {
	name  string
	log   *eventLog
	ready *Readiness
	fail  error
}

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) { l.mu.Lock(); l.events = append(l.events, e); l.mu.Unlock() }

func (f *fakeService) Name() string { return f.name }
func (f *fakeService) Ready() error { return f.ready.Err() }
func (f *fakeService) Run(ctx context.Context) error {
	f.log.add("start " + f.name)
	if f.fail != nil {
		return f.fail
	}
	f.ready.Met("up")
	<-ctx.Done()
	f.log.add("stop " + f.name)
	return nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRunAllStopsUpstreamFirst(t *testing.T) {
	log := &eventLog{}
	down := &fakeService{name: "writer", log: log, ready: NewReadiness("up")}
	up := &fakeService{name: "ingest", log: log, ready: NewReadiness("up")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- RunAll(ctx, quiet(), time.Second, down, up) }()
	for down.Ready() != nil || up.Ready() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := strings.Join(log.events[2:], ",")
	if got != "stop ingest,stop writer" {
		t.Errorf("stop order %q, want ingest before writer", got)
	}
}

func TestRunAllReturnsAFailure(t *testing.T) {
	boom := errors.New("boom")
	log := &eventLog{}
	ok := &fakeService{name: "writer", log: log, ready: NewReadiness("up")}
	bad := &fakeService{name: "aggregator", log: log, ready: NewReadiness("up"), fail: boom}
	err := RunAll(context.Background(), quiet(), time.Second, ok, bad)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "aggregator") {
		t.Fatalf("err = %v", err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	svc := &fakeService{name: "writer", log: &eventLog{}, ready: NewReadiness("connected", "caught up")}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Inc()
	a, err := NewAdmin("127.0.0.1:0", reg, svc)
	if err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	defer a.Shutdown(context.Background())
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + a.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "writer: not yet connected") || !strings.Contains(body, "caught up") {
		t.Errorf("readyz before ready: %d %q", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `flowline_ready{service="writer"} 0`) {
		t.Errorf("metrics before ready lack flowline_ready 0: %s", body)
	}
	svc.ready.Met("connected")
	svc.ready.Met("caught up")
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz after ready: %d", code)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "flowline_test_total 1") || !strings.Contains(body, `flowline_ready{service="writer"} 1`) {
		t.Errorf("metrics lack the counter: %s", body)
	}
}

func TestAdminPprofIsOptIn(t *testing.T) {
	for _, enable := range []bool{false, true} {
		a, err := NewAdmin("127.0.0.1:0", prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		if enable {
			a.EnablePprof()
		}
		go a.Serve()
		res, err := http.Get("http://" + a.Addr() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		_ = a.Shutdown(context.Background())
		served := res.StatusCode == 200 && strings.Contains(string(body), "heap profile")
		if served != enable {
			t.Errorf("pprof enabled=%v: status %d, heap profile served=%v", enable, res.StatusCode, served)
		}
	}
}

func TestReadinessReporterSaysWhyAConditionIsUnmet(t *testing.T) {
	r := NewReadiness("connected to NATS", "caught up")
	r.Reporter("connected to NATS")(errors.New("NATS rejected the credentials (check FLOWLINE_NATS_TOKEN)"))
	err := r.Err()
	if err == nil || !strings.Contains(err.Error(), "not yet connected to NATS: NATS rejected the credentials (check FLOWLINE_NATS_TOKEN)") || !strings.Contains(err.Error(), "not yet caught up") {
		t.Fatalf("readiness %v", err)
	}
	r.Met("connected to NATS")
	r.Met("caught up")
	if err := r.Err(); err != nil {
		t.Fatalf("readiness after both met: %v", err)
	}
}
