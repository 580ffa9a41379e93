package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// The ceiling is the fastest way to put a set of final documents into
// Elasticsearch: a minimal bulk loader, with the writer's templates and
// index settings best for loading (0 replicas, no refresh), and no work
// besides the bulk requests. Flowline's document rate is compared with it.

// Ceiling defaults: documents per bulk request and requests in flight.
const (
	CeilingBulk        = 10_000
	CeilingConcurrency = 3
)

// PrepareCeiling creates prefix's index set from the templates, set up for
// the load: no replicas, refresh off.
func PrepareCeiling(ctx context.Context, es *search.Client, prefix string) error {
	if err := search.EnsureSchema(ctx, es, config.Index{Prefix: prefix, Shards: 1, Replicas: 0, RefreshInterval: "1s"}); err != nil {
		return fmt.Errorf("ceiling: index set %s: %w", prefix, err)
	}
	return SetIndexSettings(ctx, es, prefix, `{"index":{"refresh_interval":"-1","number_of_replicas":0}}`)
}

// CeilingLoad is how a ceiling load went: how long it took, and the bulk
// requests and bytes it sent (retries included).
type CeilingLoad struct {
	Took     time.Duration
	Requests int64
	Bytes    int64
}

// LoadCeiling bulk-indexes docs into prefix's runtime indices, size
// documents per request and conc requests in flight, retrying items
// Elasticsearch asks to retry. Each document keeps its version (external
// versioning, as the writer does).
func LoadCeiling(ctx context.Context, es *search.Client, prefix string, docs []*recordv1.Document, size, conc int) (CeilingLoad, error) {
	indexOf := map[string]string{}
	for _, f := range schema.Families {
		indexOf[string(f)] = schema.RuntimeIndex(prefix, f)
	}
	var next, requests, bytes atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			var body []byte
			for {
				from := int(next.Add(int64(size))) - size
				if from >= len(docs) {
					return
				}
				chunk := docs[from:min(from+size, len(docs))]
				for len(chunk) > 0 {
					body = body[:0]
					for _, d := range chunk {
						body = search.AppendOp(body, search.Op{Index: indexOf[d.Family], ID: d.Id, Version: d.Version, Source: d.Source})
					}
					requests.Add(1)
					bytes.Add(int64(len(body)))
					results, err := search.BulkBody(ctx, es, body, len(chunk))
					if err != nil {
						errs <- fmt.Errorf("ceiling: bulk: %w", err)
						return
					}
					var retry []*recordv1.Document
					for i, r := range results {
						switch r.Outcome {
						case search.Done:
						case search.Retry:
							retry = append(retry, chunk[i])
						default:
							errs <- fmt.Errorf("ceiling: document %s/%s: HTTP %d: %s", chunk[i].Family, chunk[i].Id, r.Status, r.Reason)
							return
						}
					}
					chunk = retry
				}
			}
		})
	}
	wg.Wait()
	load := CeilingLoad{Took: time.Since(start), Requests: requests.Load(), Bytes: bytes.Load()}
	close(errs)
	return load, <-errs
}

// FinishCeiling restores the refresh interval and checks that prefix's
// indices hold exactly n documents.
func FinishCeiling(ctx context.Context, es *search.Client, prefix string, n int) error {
	if err := SetIndexSettings(ctx, es, prefix, `{"index":{"refresh_interval":"1s"}}`); err != nil {
		return err
	}
	got, err := count(ctx, es, prefix+"-*", nil)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("ceiling: %s-* holds %d documents, want %d", prefix, got, n)
	}
	return nil
}

// SetIndexSettings applies index settings (a JSON body) to every index of
// prefix.
func SetIndexSettings(ctx context.Context, es *search.Client, prefix, body string) error {
	return search.PutIndexSettings(ctx, es, prefix+"-*", []byte(body))
}

// count refreshes index (a name or pattern) and counts its documents, or
// those matching query when it is not nil.
func count(ctx context.Context, es *search.Client, index string, query any) (int, error) {
	if err := search.Refresh(ctx, es, index); err != nil {
		return 0, err
	}
	n, err := search.Count(ctx, es, index, query)
	return int(n), err
}

// DropIndexSet deletes prefix's runtime indices and templates. The indices
// are named: a node refuses wildcard deletes (action.destructive_requires_name).
func DropIndexSet(ctx context.Context, es *search.Client, prefix string) {
	_ = search.DeleteIndices(ctx, es, indexSet(prefix)...)
	_ = search.DeleteIndexTemplates(ctx, es, prefix+"-*")
}

// ReadDocuments scans every document of prefix's index set (through the
// family aliases) with its version: the final documents of a run.
func ReadDocuments(ctx context.Context, es *search.Client, prefix string) ([]*recordv1.Document, error) {
	var docs []*recordv1.Document
	for _, f := range schema.Families {
		alias := schema.Alias(prefix, f)
		err := search.Scan(ctx, es, alias, map[string]any{"match_all": map[string]any{}}, 5000, func(hits []search.Hit) error {
			for _, h := range hits {
				docs = append(docs, &recordv1.Document{Family: string(f), Id: h.ID, Version: h.Version, Source: h.Source})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read documents of %s: %w", alias, err)
		}
	}
	return docs, nil
}
