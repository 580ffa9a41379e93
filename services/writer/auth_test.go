package writer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/writer"
)

const (
	authTestUser     = "flowline-writer"
	authTestPassword = "pw-Writer-Auth-5d20c7"
)

// authWriterConfig is a small writer config for the auth tests.
func authWriterConfig(ns *natsserver.Server, es config.Elasticsearch, prefix string) writer.Config {
	return writer.Config{
		Consumer: "writer", Workers: 1, FetchMessages: 16, BulkMaxDocs: 100, BulkMaxBytes: 1 << 20,
		FlushInterval: 100 * time.Millisecond, AckWait: 30 * time.Second,
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(), ES: es,
		Index: config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"},
	}
}

// authLogBuffer collects a writer's log output (all levels).
type authLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *authLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *authLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAuth runs writers against one secured Elasticsearch node (file-realm
// user, HTTPS with esnode's CA): with user, password and CA a writer indexes
// the documents it consumes; with a wrong password or an API key the node
// does not know it WARNs about the authentication failure and never logs
// the secret.
func TestAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	version := os.Getenv("FLOWLINE_ES_VERSION")
	if version == "" {
		version = esnode.DefaultVersion
	}
	t0 := time.Now()
	node, err := esnode.Start(ctx, esnode.Options{
		Version:  version,
		HeapMB:   512,
		Security: &esnode.Security{Users: map[string]string{authTestUser: authTestPassword}, TLS: true},
	})
	if err != nil {
		t.Fatalf("secured node: %v", err)
	}
	defer node.Stop()
	t.Logf("secured node %s healthy in %v", node.URL(), time.Since(t0).Round(time.Millisecond))
	caFile := filepath.Join(t.TempDir(), "es-ca.pem")
	if err := os.WriteFile(caFile, node.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	good := config.Elasticsearch{URL: node.URL(), Username: authTestUser, Password: authTestPassword, CACert: caFile}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}

	t.Run("IndexesWithPasswordAndCA", func(t *testing.T) {
		ns := testenv.NATS(t)
		js := testenv.Connect(t, ns).JS
		prefix := testenv.IndexPrefix(t)
		if err := stream.EnsureStreams(ctx, js, testenv.Streams()); err != nil {
			t.Fatal(err)
		}
		const key = 4711
		src := fmt.Sprintf(`{"key":%d,"processInstanceKey":1,"flowNodeId":"task","type":"SERVICE_TASK","state":"ACTIVE","startDate":"2026-11-23T06:00:00.000Z","endDate":null,"position":%d}`, key, key)
		data, _ := proto.Marshal(&recordv1.DocumentBatch{PartitionId: 1, Documents: []*recordv1.Document{
			{Family: "flownode-instance", Id: fmt.Sprint(key), Version: key, Source: []byte(src)},
		}})
		if _, err := js.Publish(ctx, stream.DocsSubject(1), data); err != nil {
			t.Fatal(err)
		}
		w := writer.New(authWriterConfig(ns, good, prefix),
			writer.Deps{Log: testenv.Logger(t), Tracer: noop.NewTracerProvider(), Registry: prometheus.NewRegistry()})
		testenv.Run(t, w)

		es, err := search.NewClient(good)
		if err != nil {
			t.Fatal(err)
		}
		index := schema.RuntimeIndex(prefix, schema.FlowNodeInstance)
		testenv.Eventually(t, 20*time.Second, func() error {
			if err := search.Refresh(ctx, es, index); err != nil {
				return err
			}
			res, err := es.Get(index, fmt.Sprint(key), es.Get.WithContext(ctx))
			if err != nil {
				return err
			}
			defer res.Body.Close()
			var got struct {
				Found   bool            `json:"found"`
				Version int64           `json:"_version"`
				Source  json.RawMessage `json:"_source"`
			}
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				return fmt.Errorf("%s: %w", res.Status(), err)
			}
			if !got.Found || got.Version != key || !strings.Contains(string(got.Source), `"state":"ACTIVE"`) {
				return fmt.Errorf("document %d: %s found=%v version %d source %s", key, res.Status(), got.Found, got.Version, got.Source)
			}
			return nil
		})
	})

	wrongPassword := "pw-Wrong-Writer-e41f09"
	apiKeySecret := "apiKeySecret-Writer-93ab"
	apiKey := base64.StdEncoding.EncodeToString([]byte("flowline-unknown-key-id:" + apiKeySecret))
	for _, tc := range []struct {
		name    string
		es      config.Elasticsearch
		secrets []string
	}{
		{
			name: "WrongPasswordNeverLogged",
			es:   config.Elasticsearch{URL: node.URL(), Username: authTestUser, Password: wrongPassword, CACert: caFile},
			secrets: []string{wrongPassword, authTestPassword,
				base64.StdEncoding.EncodeToString([]byte(authTestUser + ":" + wrongPassword))},
		},
		{
			name:    "UnknownAPIKeyNeverLogged",
			es:      config.Elasticsearch{URL: node.URL(), APIKey: apiKey, CACert: caFile},
			secrets: []string{apiKey, apiKeySecret, authTestPassword},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.es.Validate(); err != nil {
				t.Fatal(err)
			}
			ns := testenv.NATS(t)
			logs := &authLogBuffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			w := writer.New(authWriterConfig(ns, tc.es, testenv.IndexPrefix(t)),
				writer.Deps{Log: log, Tracer: noop.NewTracerProvider(), Registry: prometheus.NewRegistry()})
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			go func() { done <- w.Run(runCtx) }()

			// The writer keeps retrying at WARN; give it a few attempts.
			var runErr error
			returned := false
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) && strings.Count(logs.String(), "HTTP 401") < 3 && !returned {
				select {
				case runErr = <-done:
					returned = true
				case <-time.After(200 * time.Millisecond):
				}
			}
			stop()
			if !returned {
				select {
				case runErr = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("writer did not stop")
				}
			}
			out := logs.String()
			if runErr != nil {
				out += "\nRun returned: " + runErr.Error()
			}
			t.Logf("writer logs:\n%s", out)

			warned := false
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, "HTTP 401") && strings.Contains(line, "security_exception") {
					warned = true
				}
			}
			if !warned {
				t.Error("no WARN about the authentication failure (HTTP 401 security_exception)")
			}
			if w.Ready() == nil {
				t.Error("writer ready without valid credentials")
			}
			for _, s := range tc.secrets {
				if strings.Contains(out, s) {
					t.Errorf("the logs contain the secret %q", s)
				}
			}
		})
	}
}
