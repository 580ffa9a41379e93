package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// instance is a process instance chosen for archiving: its list-view
// document's id (the key) and version, and the period its end date falls in.
type instance struct {
	key     int64
	id      string
	version int64
	suffix  string
}

// eligibleQuery matches partition p's process instances that ended before
// cutoff and whose list-view document is at or below position maxPosition
// (math.MaxInt64: any).
func (l layout) eligibleQuery(p int32, cutoff time.Time, maxPosition int64) map[string]any {
	filter := []any{
		map[string]any{"term": map[string]any{schema.FieldPartitionID: p}},
		map[string]any{"range": map[string]any{schema.FieldEndDate: map[string]any{"lt": cutoff.UnixMilli(), "format": "epoch_millis"}}},
	}
	if l.instances != nil {
		filter = append(filter, l.instances)
	}
	if maxPosition != math.MaxInt64 {
		filter = append(filter, map[string]any{"range": map[string]any{schema.FieldPosition: map[string]any{"lte": maxPosition}}})
	}
	return map[string]any{"bool": map[string]any{"filter": filter}}
}

// selectBatch returns up to BatchSize of partition p's instances that ended
// before cutoff with every document at or below safe, oldest end date
// first (then by key), after the sort values after (nil: from the start),
// and the sort values of the last one. Within a round the archiver pages
// on with after instead of refreshing the list-view index to hide what it
// just moved.
func (s *Service) selectBatch(ctx context.Context, p int32, cutoff time.Time, safe int64, after []json.Number) ([]instance, []json.Number, error) {
	index := s.layout.listView.runtime
	req := map[string]any{
		"size":             s.cfg.BatchSize,
		"query":            s.layout.eligibleQuery(p, cutoff, safe),
		"sort":             []any{map[string]string{schema.FieldEndDate: "asc"}, map[string]string{schema.FieldKey: "asc"}},
		"_source":          false,
		"version":          true,
		"track_total_hits": false,
	}
	if after != nil {
		req["search_after"] = after
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_search", Body: body, What: "select instances to archive in " + index})
	if err != nil {
		return nil, nil, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID      string        `json:"_id"`
				Version int64         `json:"_version"`
				Sort    []json.Number `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, nil, fmt.Errorf("%w: select instances: unreadable response: %v", search.ErrUnavailable, err)
	}
	out := make([]instance, 0, len(res.Hits.Hits))
	var last []json.Number
	for _, h := range res.Hits.Hits {
		key, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil || len(h.Sort) != 2 {
			return nil, nil, fmt.Errorf("list-view document %q in %s: its id is not a process instance key", h.ID, index)
		}
		end, err := h.Sort[0].Int64()
		if err != nil {
			return nil, nil, fmt.Errorf("list-view document %q in %s: endDate sort value %q: %w", h.ID, index, h.Sort[0], err)
		}
		out = append(out, instance{key: key, id: h.ID, version: h.Version, suffix: s.cfg.Rollover.Suffix(time.UnixMilli(end))})
		last = h.Sort
	}
	return out, last, nil
}

// backlog counts partition p's instances that ended before cutoff and are
// still in the runtime index.
func (s *Service) backlog(ctx context.Context, p int32, cutoff time.Time) (int64, error) {
	return search.Count(ctx, s.es, s.layout.listView.runtime, s.layout.eligibleQuery(p, cutoff, math.MaxInt64))
}

// groups splits a batch by destination period, keeping the order.
func groups(batch []instance) [][]instance {
	var out [][]instance
	at := map[string]int{}
	for _, in := range batch {
		i, ok := at[in.suffix]
		if !ok {
			i = len(out)
			at[in.suffix] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], in)
	}
	return out
}
