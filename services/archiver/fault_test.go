package archiver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/archiver"
)

// faultProxy stands between the archiver and the real Elasticsearch and
// injects one fault at the nth request of one step of a batch:
//
//   - fail: that request gets a 503 and nothing is done; the archiver must
//     recover by itself;
//   - killBefore / killAfter: the archiver "dies" just before or just after
//     the request reached Elasticsearch: from then on no request of it gets
//     through (connections are dropped), like a killed process; the test
//     then restarts a fresh archiver.
type faultProxy struct {
	es    *url.URL
	step  string
	nth   int
	mode  string
	fired chan struct{}

	mu     sync.Mutex
	counts map[string]int
	dead   bool
}

func newFaultProxy(t *testing.T, esURL, step string, nth int, mode string) *httptest.Server {
	u, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{es: u, step: step, nth: nth, mode: mode, fired: make(chan struct{}), counts: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-p.fired:
		default:
			t.Errorf("the fault (%s #%d, %s) never fired; steps seen: %v", step, nth, mode, p.counts)
		}
	})
	faultProxies.Store(srv, p)
	return srv
}

var faultProxies sync.Map // *httptest.Server -> *faultProxy

// stepOf names the step of a batch a request belongs to.
func stepOf(r *http.Request, body []byte) string {
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/_refresh"):
		return "refresh"
	case strings.HasSuffix(path, "/_count"):
		return "count"
	case strings.HasSuffix(path, "/_pit") && r.Method == http.MethodPost:
		return "pit"
	case strings.HasSuffix(path, "/_search") && bytes.Contains(body, []byte(`"pit"`)):
		return "scan"
	case strings.HasSuffix(path, "/_search") && bytes.Contains(body, []byte(`"endDate"`)):
		return "select"
	case strings.HasSuffix(path, "/_mget"):
		return "verify"
	case strings.HasSuffix(path, "/_bulk") && bytes.HasPrefix(body, []byte(`{"index"`)):
		if bytes.Contains(body, []byte(`-list-view-1_2`)) {
			return "copy-list-view"
		}
		return "copy"
	case strings.HasSuffix(path, "/_bulk") && bytes.HasPrefix(body, []byte(`{"delete"`)):
		if bytes.Contains(body, []byte(`-list-view-1_"`)) {
			return "delete-list-view"
		}
		return "delete"
	}
	return "other"
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	step := stepOf(r, body)
	p.mu.Lock()
	dead := p.dead
	p.counts[step]++
	hit := !dead && step == p.step && p.counts[step] == p.nth
	if hit && p.mode != "fail" {
		p.dead = true
	}
	p.mu.Unlock()
	if hit {
		defer close(p.fired)
	}
	switch {
	case dead, hit && p.mode == "killBefore":
		drop(w)
		return
	case hit && p.mode == "fail":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"type":"injected_failure","reason":"injected by the test"},"status":503}`)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.es.ResolveReference(&url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}).String(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		drop(w)
		return
	}
	defer res.Body.Close()
	if hit { // killAfter: Elasticsearch did it, the archiver never learns
		_, _ = io.Copy(io.Discard, res.Body)
		drop(w)
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// drop closes the client's connection without a response.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Every step of a batch, failing once or with the archiver killed just
// before or after it: the end state is exactly as without faults.
func TestFaultAtEveryStepOfABatch(t *testing.T) {
	steps := []struct {
		step string
		nth  int
	}{
		{"select", 2}, {"pit", 3}, {"scan", 4}, {"copy", 3}, {"verify", 3},
		{"delete", 3}, {"copy-list-view", 2}, {"delete-list-view", 2},
	}
	ns := testenv.NATS(t)
	es, esCfg := testenv.Elasticsearch(t)
	for _, mode := range []string{"fail", "killBefore", "killAfter"} {
		for _, st := range steps {
			t.Run(fmt.Sprintf("%s/%s#%d", mode, st.step, st.nth), func(t *testing.T) {
				t.Parallel()
				prefix := testenv.IndexPrefix(t)
				testenv.DropIndices(t, es, prefix)
				// Small batches and pages: a batch takes many requests.
				tune := func(c *archiver.Config) { c.BatchSize, c.PageSize = 25, 20 }
				if err := search.EnsureSchema(context.Background(), es, config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"}); err != nil {
					t.Fatal(err)
				}
				fx := archivertest.NewFixture(prefix, 2, 60, 15, time.Now(), time.Hour) // one or two dated periods
				fx.Index(t, es)

				proxy := newFaultProxy(t, esCfg.ES.URL, st.step, st.nth, mode)
				faulty := esCfg
				faulty.ES.URL = proxy.URL
				a, _ := archivertest.NewArchiver(t, ns, faulty, prefix, tune)
				stop := testenv.Run(t, a)
				p, _ := faultProxies.Load(proxy)
				select {
				case <-p.(*faultProxy).fired:
				case <-time.After(30 * time.Second):
					t.Fatalf("fault never fired; steps seen: %v", p.(*faultProxy).counts)
				}
				if mode != "fail" {
					stop() // the killed archiver is gone; a new one takes over
					a2, _ := archivertest.NewArchiver(t, ns, esCfg, prefix, tune)
					stop = testenv.Run(t, a2)
				}
				testenv.Eventually(t, 60*time.Second, func() error { return fx.Check(t, es, archiver.Day, nil) })
				stop()
			})
		}
	}
}
