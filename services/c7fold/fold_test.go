package c7fold_test

// The Camunda 7 fold against a real Camunda 7 engine and an embedded NATS
// server: the import stores the engine's history, the fold turns it into
// documents, and every document is compared, field by field, with what the
// engine's own history API says.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
)

func TestMain(m *testing.M) { c7enginetest.Main(m) }

// pipeline runs the import of engine under source and the fold on srv.
func pipeline(t *testing.T, engine string, srv *natsserver.Server, source string, pageSize int) {
	t.Helper()
	imp := c7import.NewConfig()
	fold := c7fold.NewConfig()
	for _, c := range []any{&imp, &fold} {
		if err := config.Process(c); err != nil {
			t.Fatal(err)
		}
	}
	imp.NATS, imp.Streams = testenv.NATSConfig(srv), testenv.Streams()
	fold.NATS, fold.Streams = testenv.NATSConfig(srv), testenv.Streams()
	imp.Engine.URL, imp.Engine.Source, imp.Engine.PageSize, imp.Engine.Settle = engine, source, pageSize, 0
	imp.Engine.BackoffInterval, imp.Engine.BackoffMax = 50*time.Millisecond, 300*time.Millisecond
	imp.Lease.TTL, fold.Lease.TTL = 2*time.Second, 2*time.Second
	fold.FetchBatch = 4
	for _, c := range []config.Validator{imp, fold} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Run(t, c7fold.New(fold, testenv.Deps(t)), c7import.New(imp, testenv.Deps(t)))
}

// document is a published document: its version and decoded source.
type document struct {
	version int64
	src     map[string]any
}

// published reads every document published for source and keeps the
// highest version of each (family, id), as Elasticsearch would.
func published(t *testing.T, js jetstream.JetStream, payloads *stream.Payloads, source string) map[schema.Family]map[string]document {
	t.Helper()
	out := map[schema.Family]map[string]document{}
	err := stream.EachStored(context.Background(), js, stream.DocsStream, stream.C7DocsSubject(source), func(m *jetstream.RawStreamMsg) error {
		body, err := payloads.Body(context.Background(), m.Header, m.Data)
		if err != nil {
			return err
		}
		var batch recordv1.DocumentBatch
		if err := batch.UnmarshalVT(body); err != nil {
			return err
		}
		for _, d := range batch.Documents {
			f := schema.Family(d.Family)
			if out[f] == nil {
				out[f] = map[string]document{}
			}
			if cur, ok := out[f][d.Id]; ok && cur.version >= d.Version {
				continue
			}
			var src map[string]any
			if err := json.Unmarshal(d.Source, &src); err != nil {
				return fmt.Errorf("%s %s: %w", d.Family, d.Id, err)
			}
			if int64(src["position"].(float64)) != d.Version {
				t.Errorf("%s %s: position %v, version %d", d.Family, d.Id, src["position"], d.Version)
			}
			out[f][d.Id] = document{d.Version, src}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFoldedDocumentsMatchTheEnginesHistory: orders run in a real engine
// (RunOrders: user tasks with assignees and candidate groups, variables of
// several types updated, a business rule task, a call activity, an open and
// a resolved incident, a cancellation, a running instance) are imported
// two entities a page and folded four pages a batch; every document of
// every c7 family then says what the engine's history API says, field by
// field (c7enginetest.Compare).
func TestFoldedDocumentsMatchTheEnginesHistory(t *testing.T) {
	engine := c7enginetest.Shared(t)
	key := "fold" + strings.ReplaceAll(testenv.IndexPrefix(t), "-", "")
	orders := c7enginetest.RunOrders(t, engine, key)
	srv := testenv.NATS(t)
	conn := testenv.ConnectStreams(t, srv)
	source := "fold-" + key
	pipeline(t, engine, srv, source, 2)

	testenv.Eventually(t, 60*time.Second, func() error {
		docs := published(t, conn.JS, conn.Payloads, source)
		diffs := c7enginetest.Compare(t, engine, key, orders, func(f schema.Family, id string) map[string]any {
			if d, ok := docs[f][c7fold.DocID(source, id)]; ok {
				return d.src
			}
			return nil
		})
		if len(diffs) > 0 {
			return fmt.Errorf("%d differences:\n%s", len(diffs), strings.Join(diffs, "\n"))
		}
		return nil
	})
}
