// Package esnodetest starts Elasticsearch nodes of a test's own
// (internal/dev/esnode), for the tests the shared node of testenv cannot
// serve: secured nodes, nodes the test stops or starves. It imports neither
// testenv nor pkg/search, so that pkg/search's own tests can use it too.
package esnodetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
)

// Start starts a node of opts, within ctx, and stops it at cleanup. An
// empty opts.Version is the tests' (FLOWLINE_ES_VERSION, esnode's default
// when unset).
func Start(ctx context.Context, t testing.TB, opts esnode.Options) *esnode.Node {
	t.Helper()
	if opts.Version == "" {
		cfg, err := esnode.LoadConfig()
		if err != nil {
			t.Fatal(err)
		}
		opts.Version = cfg.Version
	}
	t0 := time.Now()
	n, err := esnode.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start Elasticsearch: %v", err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	t.Logf("Elasticsearch %s healthy after %v", n.URL(), time.Since(t0).Round(time.Millisecond))
	return n
}

// StartSecured starts a secured node (512 MB heap), within ctx, stopped at
// cleanup: user with password in the file realm, HTTPS with esnode's CA,
// whose certificate it writes to caFile (for config.Elasticsearch.CACert).
func StartSecured(ctx context.Context, t testing.TB, user, password string) (n *esnode.Node, caFile string) {
	t.Helper()
	n = Start(ctx, t, esnode.Options{
		HeapMB:   512,
		Security: &esnode.Security{Users: map[string]string{user: password}, TLS: true},
	})
	caFile = filepath.Join(t.TempDir(), "es-ca.pem")
	if err := os.WriteFile(caFile, n.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	return n, caFile
}
