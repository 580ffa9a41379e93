// Package testenv gives integration tests the real dependencies: an embedded
// NATS JetStream server per test, and one Elasticsearch and one OpenSearch
// node per test binary, each on first use (FLOWLINE_ES_URL and
// FLOWLINE_OS_URL when set, as scripts/test.sh does for the whole run;
// otherwise nodes provisioned by internal/dev/esnode and stopped by Main).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// sharedNode is the search node of one engine that a test binary shares.
type sharedNode struct {
	once sync.Once
	url  string
	err  error
	node *esnode.Node
}

var shared = map[config.Engine]*sharedNode{
	config.EngineElasticsearch: {},
	config.EngineOpenSearch:    {},
}

// Engines are the search engines the tests run on where they run on both.
var Engines = []config.Engine{config.EngineElasticsearch, config.EngineOpenSearch}

// Main runs the tests of a package, then stops the search nodes and
// removes the flowline binary it provisioned, if any, and calls after (e.g.
// c7enginetest.StopShared). Use it from TestMain.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	for _, n := range shared {
		if n.node != nil {
			_ = n.node.Stop()
		}
	}
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// settings are what the tests read from the environment besides the local
// node's esnode.Config (FLOWLINE_ES_VERSION, FLOWLINE_OPENSEARCH_VERSION).
type settings struct {
	ESURL string `envconfig:"ES_URL" desc:"Elasticsearch of the tests (unset: a local node provisioned once per test binary)"`
	OSURL string `envconfig:"OS_URL" desc:"OpenSearch of the tests (unset: a local node provisioned once per test binary)"`
}

// Validate implements config.Validator.
func (s settings) Validate() error {
	for _, u := range []string{s.ESURL, s.OSURL} {
		if u != "" {
			if err := (config.Elasticsearch{URL: u}).Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ElasticsearchURL returns the URL of a healthy Elasticsearch, provisioning
// a local node on first use when FLOWLINE_ES_URL is not set. A test that
// cannot get one fails; it is never skipped.
func ElasticsearchURL(t testing.TB) string {
	t.Helper()
	return SearchURL(t, config.EngineElasticsearch)
}

// SearchURL returns the URL of a healthy node of engine: FLOWLINE_ES_URL or
// FLOWLINE_OS_URL when set (as scripts/test.sh does for the whole run),
// else a local node provisioned on first use. A test that cannot get one
// fails; it is never skipped.
func SearchURL(t testing.TB, engine config.Engine) string {
	t.Helper()
	n := shared[engine]
	if n == nil {
		t.Fatalf("testenv: unknown engine %q", engine)
	}
	n.once.Do(func() {
		var s settings
		if n.err = config.Load(&s); n.err != nil {
			return
		}
		if u := map[config.Engine]string{config.EngineElasticsearch: s.ESURL, config.EngineOpenSearch: s.OSURL}[engine]; u != "" {
			n.url = u
			return
		}
		var local esnode.Config
		if local, n.err = esnode.LoadConfig(); n.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		n.node, n.err = esnode.Start(ctx, esnode.Options{Engine: string(engine), Version: local.VersionOf(string(engine))})
		if n.err == nil {
			n.url = n.node.URL()
		}
	})
	if n.err != nil {
		t.Fatalf("testenv: %s: %v", engine, n.err)
	}
	return n.url
}

// Elasticsearch returns a client for ElasticsearchURL, and its config.
func Elasticsearch(t testing.TB) (*search.Client, config.Search) {
	t.Helper()
	return Search(t, config.EngineElasticsearch)
}

// Search returns a client for SearchURL(engine), and its config (naming the
// engine).
func Search(t testing.TB, engine config.Engine) (*search.Client, config.Search) {
	t.Helper()
	cfg := config.Search{Engine: engine, ES: config.Elasticsearch{URL: SearchURL(t, engine)}}
	c, err := search.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, cfg
}

// NATS starts an embedded JetStream server for the test, stopped at cleanup;
// opts adjust it (e.g. natsserver.WithMaxPayload).
func NATS(t testing.TB, opts ...natsserver.Option) *natsserver.Server {
	t.Helper()
	s, err := natsserver.Start(t.TempDir(), "127.0.0.1", 0, opts...)
	if err != nil {
		t.Fatalf("testenv: NATS: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// NATSConfig is a client config for server s.
func NATSConfig(s *natsserver.Server) config.NATS {
	return config.NATS{URL: s.URL(), ConnectTimeout: config.Duration(5 * time.Second)}
}

// Connect connects a client to s, closed at cleanup.
func Connect(t testing.TB, s *natsserver.Server) *stream.Conn {
	t.Helper()
	c, err := stream.Connect(context.Background(), NATSConfig(s), "test", Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Streams is the stream config tests use.
func Streams() config.Streams {
	return config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)}
}

// IndexPrefix returns a fresh index prefix, so tests sharing a node never
// see each other's documents.
func IndexPrefix(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// Logger logs to the test log (at WARN and above unless -v).
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: level}))
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// Eventually polls cond every 100ms until it returns nil or timeout passes,
// then fails with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DropIndices deletes the indices and index templates of prefix at cleanup.
func DropIndices(t testing.TB, es *search.Client, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		_ = search.DeleteIndices(ctx, es, prefix+"-*")
		_ = search.DeleteIndexTemplates(ctx, es, prefix+"-*")
	})
}
