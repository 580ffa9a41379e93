package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
)

// indexStats is what the search engine itself counts for an index set's
// primary shards (the bench's indices have no replicas): the work behind
// its CPU. Counters are totals since the indices were created; segments
// is the count at the time of reading.
type indexStats struct {
	Indexed           int64 // indexing.index_total: documents indexed (not the 409s)
	IndexMS           int64 // indexing.index_time_in_millis
	Refreshes         int64 // refresh.total: every refresh, internal ones included
	ExternalRefreshes int64 // refresh.external_total: those that make documents searchable
	RefreshMS         int64 // refresh.total_time_in_millis
	Merges            int64 // merges.total
	MergeMS           int64 // merges.total_time_in_millis
	Flushes           int64 // flush.total
	Segments          int64 // segments.count
	ShardBulks        int64 // bulk.total_operations: bulk requests as the shards received them (Elasticsearch only)
	// RefreshesByIndex is ExternalRefreshes per index (the concrete
	// name), to tell which family's interval the refreshes come from.
	RefreshesByIndex map[string]int64
}

// minus is s's counters since before; segments stay s's.
func (s indexStats) minus(before indexStats) indexStats {
	return indexStats{
		Indexed: s.Indexed - before.Indexed, IndexMS: s.IndexMS - before.IndexMS,
		Refreshes: s.Refreshes - before.Refreshes, ExternalRefreshes: s.ExternalRefreshes - before.ExternalRefreshes,
		RefreshMS: s.RefreshMS - before.RefreshMS,
		Merges:    s.Merges - before.Merges, MergeMS: s.MergeMS - before.MergeMS,
		Flushes: s.Flushes - before.Flushes, Segments: s.Segments,
		ShardBulks:       s.ShardBulks - before.ShardBulks,
		RefreshesByIndex: minusEach(s.RefreshesByIndex, before.RefreshesByIndex),
	}
}

// minusEach is after's counters less before's, leaving out those that did
// not change.
func minusEach(after, before map[string]int64) map[string]int64 {
	var d map[string]int64
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			if d == nil {
				d = map[string]int64{}
			}
			d[k] = n
		}
	}
	return d
}

// indexSet names every index a bench prefix can hold, in either schema.
func indexSet(prefix string) []string {
	var names []string
	for _, f := range schema.Families {
		names = append(names, schema.RuntimeIndex(prefix, f))
	}
	for _, ix := range operate.Indices {
		names = append(names, ix.FQN(prefix))
	}
	return names
}

// readIndexStats reads the index statistics of prefix's index set, summed
// over its primaries. OpenSearch has no bulk statistics per index: there
// the bulk fields stay 0.
func readIndexStats(ctx context.Context, es *search.Client, engine config.Engine, prefix string) (indexStats, error) {
	metrics := "indexing,refresh,merge,flush,segments"
	if engine != config.EngineOpenSearch {
		metrics += ",bulk"
	}
	b, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + strings.Join(indexSet(prefix), ",") + "/_stats/" + metrics,
		Query: url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}, What: "index statistics of " + prefix})
	if err != nil {
		return indexStats{}, err
	}
	s, err := parseIndexStats(b)
	if err != nil {
		return indexStats{}, fmt.Errorf("index statistics of %s: %w", prefix, err)
	}
	return s, nil
}

// parseIndexStats reads the primaries' totals of an index stats answer.
func parseIndexStats(b []byte) (indexStats, error) {
	type refreshOnly struct {
		Primaries struct {
			Refresh struct {
				ExternalTotal int64 `json:"external_total"`
			} `json:"refresh"`
		} `json:"primaries"`
	}
	var res struct {
		Indices map[string]refreshOnly `json:"indices"`
		All     *struct {
			Primaries struct {
				Indexing struct {
					IndexTotal  int64 `json:"index_total"`
					IndexTimeMS int64 `json:"index_time_in_millis"`
				} `json:"indexing"`
				Refresh struct {
					Total         int64 `json:"total"`
					TimeMS        int64 `json:"total_time_in_millis"`
					ExternalTotal int64 `json:"external_total"`
				} `json:"refresh"`
				Merges struct {
					Total  int64 `json:"total"`
					TimeMS int64 `json:"total_time_in_millis"`
				} `json:"merges"`
				Flush struct {
					Total int64 `json:"total"`
				} `json:"flush"`
				Segments struct {
					Count int64 `json:"count"`
				} `json:"segments"`
				Bulk struct {
					Operations int64 `json:"total_operations"`
				} `json:"bulk"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return indexStats{}, fmt.Errorf("unreadable answer: %w", err)
	}
	if res.All == nil {
		return indexStats{}, fmt.Errorf("no _all in the answer: %.200s", b)
	}
	p := res.All.Primaries
	var byIndex map[string]int64
	for name, ix := range res.Indices {
		if byIndex == nil {
			byIndex = map[string]int64{}
		}
		byIndex[name] = ix.Primaries.Refresh.ExternalTotal
	}
	return indexStats{
		Indexed: p.Indexing.IndexTotal, IndexMS: p.Indexing.IndexTimeMS,
		Refreshes: p.Refresh.Total, ExternalRefreshes: p.Refresh.ExternalTotal, RefreshMS: p.Refresh.TimeMS,
		Merges: p.Merges.Total, MergeMS: p.Merges.TimeMS,
		Flushes: p.Flush.Total, Segments: p.Segments.Count,
		ShardBulks: p.Bulk.Operations, RefreshesByIndex: byIndex,
	}, nil
}

// EngineWork is what the search engine did during one measured load (the
// end-to-end run's, or the ceiling's): its CPU against the index
// operations it was sent, and its own statistics of the load's indices.
type EngineWork struct {
	// CPUSeconds is the engine's CPU during the load; -1 when it was not
	// read (a node the harness did not start).
	CPUSeconds float64 `json:"cpu_seconds"`
	// IndexOps is the bulk items sent and answered (indexed, or refused
	// as stale with 409).
	IndexOps int64 `json:"index_operations"`
	// CPUMicrosPerOp is CPUSeconds per index operation, and
	// CPUMicrosPerIndexed per document the engine indexed (409s are
	// cheap: they lower the first), in µs; 0 when the CPU was not read.
	CPUMicrosPerOp      float64 `json:"cpu_us_per_index_operation,omitempty"`
	CPUMicrosPerIndexed float64 `json:"cpu_us_per_indexed_document,omitempty"`
	// BulkRequests is the bulk requests sent; the means are per request.
	BulkRequests  int64   `json:"bulk_requests"`
	MeanBulkDocs  float64 `json:"mean_bulk_documents"`
	MeanBulkBytes float64 `json:"mean_bulk_bytes"`
	// The engine's own statistics of the load's indices (primaries). The
	// times are wall time summed over the engine's threads, not CPU.
	Indexed           int64   `json:"indexed"`
	IndexSeconds      float64 `json:"index_seconds"`
	Refreshes         int64   `json:"refreshes"`
	ExternalRefreshes int64   `json:"external_refreshes"`
	RefreshSeconds    float64 `json:"refresh_seconds"`
	Merges            int64   `json:"merges"`
	MergeSeconds      float64 `json:"merge_seconds"`
	Flushes           int64   `json:"flushes"`
	// Segments is the segment count at the end of the load, once a
	// refresh made every document searchable.
	Segments int64 `json:"segments_at_end"`
	// ShardBulks is the bulk requests as the shards received them (a
	// request spans several indices); 0 on OpenSearch, which does not
	// count them.
	ShardBulks int64 `json:"shard_bulks,omitempty"`
	// RefreshesByIndex is ExternalRefreshes per index.
	RefreshesByIndex map[string]int64 `json:"external_refreshes_by_index,omitempty"`
}

// cpuRead reports whether the engine's CPU was read.
func (w EngineWork) cpuRead() bool { return w.CPUSeconds >= 0 }

// engineWork puts a load's figures together: the engine's CPU, the index
// operations and bulk requests and bytes the client sent, and the
// statistics' change over the load.
func engineWork(cpuSeconds float64, ops, requests, bytes int64, stats indexStats) EngineWork {
	w := EngineWork{
		CPUSeconds: cpuSeconds, IndexOps: ops, BulkRequests: requests,
		Indexed: stats.Indexed, IndexSeconds: float64(stats.IndexMS) / 1000,
		Refreshes: stats.Refreshes, ExternalRefreshes: stats.ExternalRefreshes, RefreshSeconds: float64(stats.RefreshMS) / 1000,
		Merges: stats.Merges, MergeSeconds: float64(stats.MergeMS) / 1000,
		Flushes: stats.Flushes, Segments: stats.Segments, ShardBulks: stats.ShardBulks,
		RefreshesByIndex: stats.RefreshesByIndex,
	}
	if w.cpuRead() {
		w.CPUMicrosPerOp = ratio(cpuSeconds*1e6, float64(ops))
		w.CPUMicrosPerIndexed = ratio(cpuSeconds*1e6, float64(stats.Indexed))
	}
	w.MeanBulkDocs = ratio(float64(ops), float64(requests))
	w.MeanBulkBytes = ratio(float64(bytes), float64(requests))
	return w
}
