package writer_test

// Helpers of the resilience tests (resilience_test.go): a private
// Elasticsearch node, a load of flownode-instance documents with several
// versions per id, a log recorder, metric readers and the end-state checks.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/esnodetest"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// resilNodeOptions returns options for a private node of the test on a
// fixed free port and a persistent data dir, so that it can be stopped and
// started again at the same URL on the same data.
func resilNodeOptions(t *testing.T, settings map[string]string) esnode.Options {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return esnode.Options{
		HeapMB:   512,
		HTTPPort: port,
		DataDir:  filepath.Join(resilSearchableTempDir(t), "es"),
		Settings: settings,
	}
}

// resilStartNode starts a node with opts (within 3 minutes); it is stopped
// at cleanup.
func resilStartNode(t *testing.T, opts esnode.Options) *esnode.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return esnodetest.Start(ctx, t, opts)
}

// resilSearchableTempDir is a t.TempDir that the node (nobody, when the
// test runs as root) can reach.
func resilSearchableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// resilClient is a client of the node at url, and its config (the engine
// left to be detected, as in production by default).
func resilClient(t *testing.T, url string) (*search.Client, config.Search) {
	t.Helper()
	cfg := config.Search{ES: config.Elasticsearch{URL: url}}
	c, err := search.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, cfg
}

// esGet returns the body of the document id of index (GET /<index>/_doc/<id>);
// a missing document is an error (HTTP 404).
func esGet(ctx context.Context, es *search.Client, index, id string) ([]byte, error) {
	return es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + url.PathEscape(index) + "/_doc/" + url.PathEscape(id), What: "get " + index + "/" + id})
}

// The load: ids 0..n-1 (as Zeebe-like keys). Every id is published at
// revision 1; every 4th is updated later at revision 2; every 10th+3 gets a
// stale copy (revision 0, a lower version) after its revision 1. The final
// document of an id is its highest revision.
const resilKeyBase = int64(2251799813685248)

func resilID(i int) string { return strconv.FormatInt(resilKeyBase+int64(i), 10) }

func resilVersion(i, rev int) int64 { return int64(i)*10 + int64(rev)*2 + 1 }

func resilFinalRev(i int) int {
	if i%4 == 0 {
		return 2
	}
	return 1
}

var resilStates = [...]string{"STALE", "ACTIVE", "COMPLETED"}

// resilSource is a realistic flownode-instance document (~400 bytes).
func resilSource(i, rev int) []byte {
	key := resilKeyBase + int64(i)
	pi := resilKeyBase + 1<<20 + int64(i/25)
	end := "null"
	if rev == 2 {
		end = `"2026-11-23T06:00:07.412+0000"`
	}
	return fmt.Appendf(nil, `{"key":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685301,`+
		`"bpmnProcessId":"order-fulfilment-process","flowNodeId":"Activity_ReserveStock_%d","flowNodeName":"Reserve stock in the warehouse",`+
		`"type":"SERVICE_TASK","state":%q,"startDate":"2026-11-23T06:00:00.000+0000","endDate":%s,"scopeKey":%d,`+
		`"treePath":"%d/Activity_ReserveStock_%d","level":1,"incident":false,"tenantId":"<default>","position":%d}`,
		key, pi, i%7, resilStates[rev], end, pi, pi, i%7, resilVersion(i, rev))
}

type resilRef struct{ i, rev int }

// resilPlan is the publication order of the load: n ids, each revision 1
// at its place, updates 2000 places later and stale copies 1000 later.
func resilPlan(n int) []resilRef {
	type placed struct {
		at float64
		r  resilRef
	}
	var ps []placed
	for i := range n {
		ps = append(ps, placed{float64(i), resilRef{i, 1}})
		if i%4 == 0 {
			ps = append(ps, placed{float64(i) + 2000.5, resilRef{i, 2}})
		}
		if i%10 == 3 {
			ps = append(ps, placed{float64(i) + 1000.25, resilRef{i, 0}})
		}
	}
	slices.SortStableFunc(ps, func(a, b placed) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	out := make([]resilRef, len(ps))
	for k, p := range ps {
		out[k] = p.r
	}
	return out
}

// resilMessages groups the plan into DocumentBatch messages of perMsg
// documents over partitions 1..3.
func resilMessages(t *testing.T, plan []resilRef, perMsg int) []resilMsg {
	t.Helper()
	var out []resilMsg
	for k := 0; k < len(plan); k += perMsg {
		part := int32(len(out)%3 + 1)
		b := &recordv1.DocumentBatch{PartitionId: part}
		for _, r := range plan[k:min(k+perMsg, len(plan))] {
			b.Documents = append(b.Documents, &recordv1.Document{
				Family: "flownode-instance", Id: resilID(r.i), Version: resilVersion(r.i, r.rev),
				Source: resilSource(r.i, r.rev), PartitionId: part, RecordTimestamp: time.Now().UnixMilli(),
			})
		}
		b.FirstPosition = b.Documents[0].Version
		b.LastPosition = b.Documents[len(b.Documents)-1].Version
		data, err := proto.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, resilMsg{subject: stream.DocsSubject(part), data: data, docs: len(b.Documents)})
	}
	return out
}

type resilMsg struct {
	subject string
	data    []byte
	docs    int
}

// resilLogs records the writer's WARN and ERROR records and passes every
// record on to the test log.
type resilLogs struct {
	mu     sync.Mutex
	warns  map[string]int // message -> count
	errors []string
}

func newResilLogs() *resilLogs { return &resilLogs{warns: map[string]int{}} }

// logger returns a logger that records into l and writes to next.
func (l *resilLogs) logger(next *slog.Logger) *slog.Logger {
	return slog.New(&resilHandler{rec: l, next: next.Handler()})
}

func (l *resilLogs) snapshot() (warns map[string]int, errors []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	warns = make(map[string]int, len(l.warns))
	for k, v := range l.warns {
		warns[k] = v
	}
	return warns, append([]string(nil), l.errors...)
}

type resilHandler struct {
	rec   *resilLogs
	next  slog.Handler
	attrs []slog.Attr
}

func (h *resilHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn || h.next.Enabled(ctx, level)
}

func (h *resilHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.rec.mu.Lock()
		if r.Level >= slog.LevelError {
			var b strings.Builder
			b.WriteString(r.Message)
			for _, a := range h.attrs {
				fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			}
			r.Attrs(func(a slog.Attr) bool {
				fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
				return true
			})
			h.rec.errors = append(h.rec.errors, b.String())
		} else {
			h.rec.warns[r.Message]++
		}
		h.rec.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *resilHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &resilHandler{rec: h.rec, next: h.next.WithAttrs(attrs), attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *resilHandler) WithGroup(name string) slog.Handler {
	return &resilHandler{rec: h.rec, next: h.next.WithGroup(name), attrs: h.attrs}
}

// resilWaitDrained waits until the writer has acked every document message
// (the work-queue stream is empty).
func resilWaitDrained(t *testing.T, js jetstream.JetStream, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, timeout, func() error {
		n, err := procstack.StreamMsgs(ctx, js, stream.DocsStream)
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%d document messages not yet acked", n)
		}
		return nil
	})
}

// resilCount is the number of documents in index (without a refresh).
func resilCount(ctx context.Context, es *search.Client, index string) (int, error) {
	n, err := search.Count(ctx, es, index, nil)
	return int(n), err
}

// resilVerify checks that index holds exactly the n ids of the load, each
// once, at its highest published version with that version's source.
func resilVerify(t *testing.T, es *search.Client, index string, n int) {
	t.Helper()
	ctx := context.Background()
	if err := search.Refresh(ctx, es, index); err != nil {
		t.Fatal(err)
	}
	count, err := resilCount(ctx, es, index)
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("index %s holds %d documents, want %d (one per unique id)", index, count, n)
	}
	const chunk = 1000
	bad := 0
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		ids := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, resilID(i))
		}
		body, _ := json.Marshal(map[string]any{"ids": ids})
		b, err := es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_mget", Body: body, What: "mget " + index})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Docs []struct {
				ID      string          `json:"_id"`
				Found   bool            `json:"found"`
				Version int64           `json:"_version"`
				Source  json.RawMessage `json:"_source"`
			} `json:"docs"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Docs) != len(ids) {
			t.Fatalf("mget returned %d documents for %d ids", len(got.Docs), len(ids))
		}
		for k, d := range got.Docs {
			i := lo + k
			rev := resilFinalRev(i)
			var problem string
			switch {
			case !d.Found:
				problem = "missing"
			case d.Version != resilVersion(i, rev):
				problem = fmt.Sprintf("version %d, want %d", d.Version, resilVersion(i, rev))
			case !jsonEqual(d.Source, resilSource(i, rev)):
				problem = fmt.Sprintf("source %s, want revision %d", d.Source, rev)
			}
			if problem != "" {
				bad++
				if bad <= 10 {
					t.Errorf("document %s (#%d): %s", d.ID, i, problem)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d documents wrong or missing", bad, n)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// resilThreadPoolRejected is the number of tasks the node's write thread
// pool rejected (each one a 429 to the writer).
func resilThreadPoolRejected(t *testing.T, es *search.Client) int {
	t.Helper()
	type stats struct {
		ThreadPool map[string]struct {
			Rejected int `json:"rejected"`
		} `json:"thread_pool"`
	}
	n := 0
	for _, nd := range nodeStats[stats](t, es, "thread_pool") {
		n += nd.ThreadPool["write"].Rejected
	}
	return n
}

// nodeStats decodes the nodes stats of metric (GET _nodes/stats/<metric>,
// only the fields of filter when given) into one T per node.
func nodeStats[T any](t testing.TB, es *search.Client, metric string, filter ...string) map[string]T {
	t.Helper()
	var q url.Values
	if len(filter) > 0 {
		q = url.Values{"filter_path": {strings.Join(filter, ",")}}
	}
	b, err := es.Do(context.Background(), search.Request{Method: http.MethodGet, Path: "/_nodes/stats/" + url.PathEscape(metric), Query: q, What: "nodes stats " + metric})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Nodes map[string]T `json:"nodes"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Nodes
}

// TestResilienceLogRecorder: the recorder sees WARN and ERROR records of
// derived loggers (the writer logs through Log.With) and passes records on.
func TestResilienceLogRecorder(t *testing.T) {
	var out bytes.Buffer
	l := newResilLogs()
	log := l.logger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))).With("service", "writer").WithGroup("g")
	log.Debug("hidden")
	log.Info("info")
	log.Warn("retrying", "n", 1)
	log.Warn("retrying", "n", 2)
	log.Error("gave up", "id", "7")
	warns, errs := l.snapshot()
	if warns["retrying"] != 2 || len(warns) != 1 {
		t.Errorf("warns = %v", warns)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "gave up") || !strings.Contains(errs[0], "service=writer") || !strings.Contains(errs[0], "id=7") {
		t.Errorf("errors = %q", errs)
	}
	if s := out.String(); strings.Count(s, "\n") != 4 || strings.Contains(s, "hidden") {
		t.Errorf("passed on:\n%s", s)
	}
}
