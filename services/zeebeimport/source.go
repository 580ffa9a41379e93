package zeebeimport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// The Zeebe Elasticsearch exporter (zeebe/exporters/elasticsearch-exporter,
// RecordIndexRouter) writes each record into the index
// <prefix>_<value-type>_<brokerVersion>_<yyyy-MM-dd> (value type lower
// case, "_" turned into "-"; the date of the record's timestamp, UTC) with
// _id <partitionId>-<position> and routing <partitionId>; the document is
// the record's JSON plus a "sequence" field. So one value type may span
// several indices (days, broker versions), and one position may appear in
// two of them after an upgrade re-exported it.

// zeebeSource reads the exporter's indices; safe for concurrent use.
type zeebeSource struct {
	es       *search.Client
	prefix   string
	pageSize int

	mu      sync.Mutex
	parts   map[int32]bool // every partition seen so far
	scanned time.Time      // start of the last partition scan; zero: never
}

// sourceDoc is one exporter document read back: where it is, its position
// (the sort value), and the record, or why it does not decode.
type sourceDoc struct {
	valueType string // kebab, from the index pattern searched
	index, id string
	position  int64
	sequence  int64 // the exporter's "sequence"; 0 when the document has none
	source    []byte
	rec       *recordv1.Record // nil when err is set
	err       error
}

// sourcePage is one value type's page of a partition: documents after the
// value type's cursor in position order, full when it holds PageSize.
type sourcePage struct {
	valueType string
	docs      []sourceDoc
	full      bool
}

// pageRequest asks for a value type's documents with a position above
// after and, if before is not 0, below before.
type pageRequest struct {
	valueType     string
	after, before int64
}

// partitionRescan bounds how far back a partition scan after the first one
// looks: a new partition's records are recent, and scanning every document
// of a large installation each time would be costly.
const partitionRescan = time.Hour

// partitions lists the partitions that have exporter documents. The first
// call aggregates over every document; later calls only over documents of
// the last partitionRescan and add to what was seen.
func (z *zeebeSource) partitions(ctx context.Context) ([]int32, error) {
	z.mu.Lock()
	since := z.scanned
	z.mu.Unlock()
	start := time.Now()
	var query any // all documents
	if !since.IsZero() {
		query = map[string]any{"range": map[string]any{"timestamp": map[string]any{"gte": since.Add(-partitionRescan).UnixMilli()}}}
	}
	keys, err := search.Terms(ctx, z.es, z.prefix+"_*", "partitionId", query, 65536)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.parts == nil {
		z.parts = map[int32]bool{}
	}
	for _, k := range keys {
		if k >= 0 && k <= 1<<31-1 {
			z.parts[int32(k)] = true
		}
	}
	z.scanned = start
	out := make([]int32, 0, len(z.parts))
	for p := range z.parts {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// valueTypes lists the value types (as the index names spell them) that
// have an open index, from the cluster state: cheap enough for every round,
// so that a value type's first index is seen before its records settle.
func (z *zeebeSource) valueTypes(ctx context.Context) ([]string, error) {
	pattern := z.prefix + "_*"
	b, err := z.es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/_resolve/index/" + url.PathEscape(pattern),
		Query: url.Values{"expand_wildcards": {"open"}}, What: "resolve " + pattern})
	if err != nil {
		return nil, err
	}
	var res struct {
		Indices []struct {
			Name string `json:"name"`
		} `json:"indices"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: resolve %s: unreadable response: %v", search.ErrUnavailable, pattern, err)
	}
	var out []string
	for _, ix := range res.Indices {
		if vt, ok := valueTypeOfIndex(z.prefix, ix.Name); ok {
			out = append(out, vt)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// valueTypeOfIndex returns the value type segment of an exporter index
// name <prefix>_<value-type>_<version>_<date>.
func valueTypeOfIndex(prefix, index string) (string, bool) {
	rest, ok := strings.CutPrefix(index, prefix+"_")
	if !ok {
		return "", false
	}
	vt, tail, ok := strings.Cut(rest, "_")
	if !ok || vt == "" || tail == "" {
		return "", false
	}
	return vt, true
}

// pages reads, in one multi-search, a page of partition p for every
// request: documents of its value type in its position range, in position
// order, at most pageSize each. Documents are decoded; one that does not
// decode carries its error.
func (z *zeebeSource) pages(ctx context.Context, p int32, reqs []pageRequest) ([]sourcePage, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, rq := range reqs {
		pos := map[string]any{"gt": rq.after}
		if rq.before != 0 {
			pos["lt"] = rq.before
		}
		_ = enc.Encode(map[string]any{"index": z.pattern(rq.valueType), "ignore_unavailable": true, "allow_no_indices": true})
		// A range filter rather than search_after: on the one sort field the
		// two select the same documents, and the filter also leaves out
		// documents without a position (they cannot be ordered).
		_ = enc.Encode(map[string]any{
			"size": z.pageSize, "track_total_hits": false,
			"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"term": map[string]any{"partitionId": p}},
				map[string]any{"range": map[string]any{"position": pos}},
			}}},
			"sort":   []any{map[string]any{"position": "asc"}},
			"fields": []string{"sequence"},
		})
	}
	what := fmt.Sprintf("read partition %d from %s_*", p, z.prefix)
	b, err := z.es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/_msearch", Body: body.Bytes(), NDJSON: true, What: what})
	if err != nil {
		return nil, err
	}
	var res struct {
		Responses []struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
			Shards struct {
				Failed int `json:"failed"`
			} `json:"_shards"`
			Hits struct {
				Hits []sourceHit `json:"hits"`
			} `json:"hits"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: %s: unreadable response: %v", search.ErrUnavailable, what, err)
	}
	if len(res.Responses) != len(reqs) {
		return nil, fmt.Errorf("%w: %s: %d answers to %d searches", search.ErrUnavailable, what, len(res.Responses), len(reqs))
	}
	out := make([]sourcePage, 0, len(reqs))
	for i, r := range res.Responses {
		vt := reqs[i].valueType
		if len(r.Error) > 0 && string(r.Error) != "null" {
			return nil, fmt.Errorf("%w: %s: %s: HTTP %d: %.300s", search.ErrUnavailable, what, vt, r.Status, r.Error)
		}
		if r.Shards.Failed > 0 {
			return nil, fmt.Errorf("%w: %s: %s: %d shards failed", search.ErrPartial, what, vt, r.Shards.Failed)
		}
		pg := sourcePage{valueType: vt, full: len(r.Hits.Hits) >= z.pageSize, docs: make([]sourceDoc, 0, len(r.Hits.Hits))}
		for _, h := range r.Hits.Hits {
			d, err := decodeSourceDoc(vt, h)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", search.ErrUnavailable, what, err)
			}
			pg.docs = append(pg.docs, d)
		}
		out = append(out, pg)
	}
	return out, nil
}

// sourceHit is one search hit.
type sourceHit struct {
	Index  string          `json:"_index"`
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
	Sort   json.RawMessage `json:"sort"`
	Fields struct {
		Sequence []json.Number `json:"sequence"`
	} `json:"fields"`
}

// pattern is the index pattern of one value type's indices.
func (z *zeebeSource) pattern(vt string) string { return z.prefix + "_" + vt + "_*" }

// decodeSourceDoc decodes a hit. It fails only when the hit has no usable
// sort value (the page cannot be trusted); a document that is no valid
// record is returned with its error.
func decodeSourceDoc(vt string, h sourceHit) (sourceDoc, error) {
	var sort []json.Number
	dec := json.NewDecoder(bytes.NewReader(h.Sort))
	dec.UseNumber()
	if err := dec.Decode(&sort); err != nil || len(sort) != 1 {
		return sourceDoc{}, fmt.Errorf("hit %s has no position sort value (%s)", h.ID, h.Sort)
	}
	pos, err := sort[0].Int64()
	if err != nil {
		return sourceDoc{}, fmt.Errorf("hit %s: position sort value %s: %v", h.ID, sort[0], err)
	}
	d := sourceDoc{valueType: vt, index: h.Index, id: h.ID, position: pos, source: h.Source}
	if len(h.Fields.Sequence) == 1 {
		if d.sequence, err = h.Fields.Sequence[0].Int64(); err != nil {
			return sourceDoc{}, fmt.Errorf("hit %s: sequence %s: %v", h.ID, h.Fields.Sequence[0], err)
		}
	}
	d.rec, d.err = zeebejson.DecodeLenient(h.Source)
	if d.err == nil && d.rec.Position != pos {
		d.rec, d.err = nil, fmt.Errorf("document position %d differs from the indexed position %d", d.rec.Position, pos)
	}
	return d, nil
}
