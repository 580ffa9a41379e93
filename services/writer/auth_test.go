package writer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/esnodetest"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/writer"
)

const (
	authTestUser     = "flowline-writer"
	authTestPassword = "pw-Writer-Auth-5d20c7"
)

// smallWriterConfig is a writer config of one worker and small bulks, on
// ns, writing indices of prefix into es.
func smallWriterConfig(ns *natsserver.Server, es config.Search, prefix string) writer.Config {
	return writer.Config{
		Consumer: "writer", Workers: 1, FetchMessages: 16, BulkMaxDocs: 100, BulkMaxBytes: 1 << 20,
		FlushInterval: config.Duration(100 * time.Millisecond), AckWait: config.Duration(30 * time.Second),
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(), Search: es,
		Index: config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"},
	}
}

// TestAuth runs writers against one secured Elasticsearch node (file-realm
// user, HTTPS with esnode's CA): with user, password and CA a writer indexes
// the documents it consumes; with a wrong password (as a variable or in the
// URL) or an API key the node does not know it says at ERROR that the
// credentials are refused and which variables to fix, names the URL
// without its password, is not ready (saying why), keeps retrying, and
// never logs the secret.
func TestAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	node, caFile := esnodetest.StartSecured(ctx, t, authTestUser, authTestPassword)
	good := config.Elasticsearch{URL: node.URL(), Username: authTestUser, Password: authTestPassword, CACert: caFile}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}

	t.Run("IndexesWithPasswordAndCA", func(t *testing.T) {
		ns := testenv.NATS(t)
		js := testenv.ConnectStreams(t, ns).JS
		prefix := testenv.IndexPrefix(t)
		const key = 4711
		testenv.PublishDocuments(t, js, 1,
			&recordv1.Document{Family: "flownode-instance", Id: fmt.Sprint(key), Version: key, Source: flowNode(key, "ACTIVE", "")})
		w := writer.New(smallWriterConfig(ns, config.Search{ES: good}, prefix), testenv.Deps(t))
		testenv.Run(t, w)

		es, err := search.NewClient(config.Search{ES: good})
		if err != nil {
			t.Fatal(err)
		}
		defer es.Close()
		index := schema.RuntimeIndex(prefix, schema.FlowNodeInstance)
		testenv.Eventually(t, 20*time.Second, func() error {
			if err := search.Refresh(ctx, es, index); err != nil {
				return err
			}
			b, err := esGet(ctx, es, index, fmt.Sprint(key))
			if err != nil {
				return err
			}
			var got struct {
				Found   bool            `json:"found"`
				Version int64           `json:"_version"`
				Source  json.RawMessage `json:"_source"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				return fmt.Errorf("%w: %.200s", err, b)
			}
			if !got.Found || got.Version != key || !strings.Contains(string(got.Source), `"state":"ACTIVE"`) {
				return fmt.Errorf("document %d: found=%v version %d source %s", key, got.Found, got.Version, got.Source)
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
		{
			name: "WrongPasswordInURLNeverLogged",
			es:   config.Elasticsearch{URL: strings.Replace(node.URL(), "https://", "https://"+authTestUser+":"+wrongPassword+"@", 1), CACert: caFile},
			secrets: []string{wrongPassword, authTestPassword,
				base64.StdEncoding.EncodeToString([]byte(authTestUser + ":" + wrongPassword))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.es.Validate(); err != nil {
				t.Fatal(err)
			}
			ns := testenv.NATS(t)
			logs := &testenv.Buffer{} // the writer's log output (all levels)
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			w := writer.New(smallWriterConfig(ns, config.Search{ES: tc.es}, testenv.IndexPrefix(t)),
				writer.Deps{Log: log, Tracer: noop.NewTracerProvider(), Registry: prometheus.NewRegistry()})
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan error, 1)
			go func() { done <- w.Run(runCtx) }()

			// The writer keeps retrying; wait until it has said why, and
			// has tried a few times.
			var runErr error
			returned := false
			said := func() bool {
				return strings.Contains(logs.String(), "level=ERROR") && strings.Count(logs.String(), "HTTP 401") >= 3
			}
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && !said() && !returned {
				select {
				case runErr = <-done:
					returned = true
				case <-time.After(200 * time.Millisecond):
				}
			}
			notReady := w.Ready()
			stop()
			if !returned {
				select {
				case runErr = <-done:
				case <-time.After(30 * time.Second):
					t.Fatal("writer did not stop")
				}
			}
			out := logs.String()
			if returned {
				t.Errorf("the writer gave up instead of retrying: Run returned %v", runErr)
			}
			t.Logf("writer logs:\n%s", out)

			errors := 0
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "level=ERROR") {
					errors++
					for _, want := range []string{"refuses the credentials", "FLOWLINE_ES_USERNAME", "FLOWLINE_ES_API_KEY", "HTTP 401", "security_exception", "url="} {
						if !strings.Contains(line, want) {
							t.Errorf("the ERROR line lacks %q: %s", want, line)
						}
					}
				}
			}
			if errors != 1 {
				t.Errorf("%d ERROR lines, want exactly one (said once, not once per retry)", errors)
			}
			if tc.name == "WrongPasswordInURLNeverLogged" && !strings.Contains(out, authTestUser+":xxxxx@") {
				t.Errorf("the URL is not logged with its password redacted")
			}
			if notReady == nil || !strings.Contains(notReady.Error(), "refuses the credentials") || !strings.Contains(notReady.Error(), "HTTP 401") {
				t.Errorf("readiness = %v, want it to say that the credentials are refused", notReady)
			} else {
				for _, s := range tc.secrets {
					if strings.Contains(notReady.Error(), s) {
						t.Errorf("readiness reveals the secret %q", s)
					}
				}
			}
			for _, s := range tc.secrets {
				if strings.Contains(out, s) {
					t.Errorf("the logs contain the secret %q", s)
				}
			}
		})
	}
}
