package archiver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// The sweep. The safe position keeps the writer from bringing back part of
// an archived instance as long as documents are published in order by the
// partition's one owner. A batch re-published late by an aggregator that
// lost its lease can still recreate runtime documents of an instance that
// is already archived; its list-view document is in a dated index, so no
// round selects the instance again. Every ARCHIVER_SWEEP_INTERVAL each
// owned partition is swept: the process instance keys of the partition's
// runtime dependent documents (a key carries its partition: key >> 51)
// whose list-view document is not in the runtime index (real-time get) but
// in a dated index are moved there with moveFamily, the archiving path:
// copy with the document's version as external version, verify, delete
// at that version. So a late document newer than the archived copy
// replaces it, and one older than the archived copy (the copy answers
// 409, the archive is verified at a version at least as new) is only
// deleted from the runtime index: the archive keeps the newest state
// either way.

// sweepPage is how many instance keys the sweep looks at a time.
const sweepPage = 1000

// sweepDue reports whether partition p's sweep is due, and if so marks it
// done now. Safe for concurrent use (partitions run concurrently).
func (s *Service) sweepDue(p int32) bool {
	now := time.Now()
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if s.swept == nil {
		s.swept = map[int32]time.Time{}
	}
	if last, ok := s.swept[p]; ok && now.Sub(last) < s.cfg.SweepInterval.D() {
		return false
	}
	s.swept[p] = now
	return true
}

// sweep moves partition p's runtime documents of already archived
// instances to their dated indices and returns how many instances it
// found so.
func (s *Service) sweep(ctx context.Context, p int32) (int, error) {
	// Where documents of instances are found: the families keyed by the
	// numeric processInstanceKey (a partition's keys are a range), the
	// children in a list-view with a join, and (by partition) a family
	// keyed otherwise (tasklist-task's processInstanceId, a keyword).
	var indices []string
	for _, f := range s.layout.all() {
		if f.field == schema.FieldProcessInstanceKey {
			indices = append(indices, f.runtime)
		}
	}
	if err := search.Refresh(ctx, s.es, s.runtimeIndices()...); err != nil {
		return 0, err
	}
	byKey := map[string]any{"range": map[string]any{schema.FieldProcessInstanceKey: map[string]any{
		"gte": int64(p) << 51, "lt": int64(p+1) << 51,
	}}}
	scans := []struct {
		index, field string
		query        any
	}{{strings.Join(indices, ","), schema.FieldProcessInstanceKey, s.notInstances(byKey, s.layout.listView)}}
	for _, f := range s.layout.dependents {
		if f.field != "" && f.field != schema.FieldProcessInstanceKey {
			scans = append(scans, struct {
				index, field string
				query        any
			}{f.runtime, f.field, s.notInstances(map[string]any{"term": map[string]any{schema.FieldPartitionID: p}}, f)})
		}
	}
	total := 0
	for _, sc := range scans {
		var after map[string]any
		for {
			keys, next, err := s.instanceKeys(ctx, sc.index, sc.field, sc.query, after)
			if err != nil {
				return total, err
			}
			n, err := s.sweepKeys(ctx, keys)
			total += n
			if err != nil {
				return total, err
			}
			if next == nil {
				break
			}
			after = next
		}
	}
	return total, nil
}

// notInstances is filter leaving out the documents of f that are an
// instance's own (its join parent), when f has a join: those are what the
// archiver selects and moves last, never left behind alone.
func (s *Service) notInstances(filter map[string]any, f family) map[string]any {
	if f.join == "" {
		return filter
	}
	return map[string]any{"bool": map[string]any{"filter": []any{filter},
		"must_not": []any{map[string]any{"term": map[string]any{f.join: f.root()}}}}}
}

// instanceKeys returns one page of the distinct process instance keys of
// the documents matching query in index (a composite aggregation), and the
// key to continue after (nil: done).
func (s *Service) instanceKeys(ctx context.Context, index, field string, query any, after map[string]any) ([]int64, map[string]any, error) {
	comp := map[string]any{"size": sweepPage, "sources": []any{map[string]any{"k": map[string]any{"terms": map[string]any{"field": field}}}}}
	if after != nil {
		comp["after"] = after
	}
	res, err := search.SearchWhole[struct {
		search.ShardsAnswer
		Aggs struct {
			Keys struct {
				AfterKey map[string]any `json:"after_key"`
				Buckets  []struct {
					Key struct {
						K json.RawMessage `json:"k"` // a number, or a keyword's string
					} `json:"key"`
				} `json:"buckets"`
			} `json:"keys"`
		} `json:"aggregations"`
	}](ctx, s.es, "sweep: instance keys in "+index, index,
		map[string]any{"size": 0, "track_total_hits": false, "query": query, "aggs": map[string]any{"keys": map[string]any{"composite": comp}}})
	if err != nil {
		return nil, nil, err
	}
	keys := make([]int64, 0, len(res.Aggs.Keys.Buckets))
	for _, bk := range res.Aggs.Keys.Buckets {
		k, err := strconv.ParseInt(strings.Trim(string(bk.Key.K), `"`), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: sweep: instance key %q: %v", search.ErrUnavailable, bk.Key.K, err)
		}
		keys = append(keys, k)
	}
	if len(keys) < sweepPage {
		return keys, nil, nil
	}
	return keys, res.Aggs.Keys.AfterKey, nil
}

// sweepKeys moves the runtime documents of those of keys whose instance is
// archived (list-view document in a dated index, none in the runtime one).
func (s *Service) sweepKeys(ctx context.Context, keys []int64) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	runtime := s.layout.listView.runtime
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = strconv.FormatInt(k, 10)
	}
	live, err := search.Versions(ctx, s.es, runtime, ids)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	var orphans []string
	for _, id := range ids {
		if _, ok := live[id]; !ok {
			orphans = append(orphans, id)
		}
	}
	if len(orphans) == 0 {
		return 0, nil
	}
	archived, err := s.archivedSuffixes(ctx, runtime, orphans)
	if err != nil {
		return 0, err
	}
	bySuffix := map[string][]int64{}
	for id, suffix := range archived {
		bySuffix[suffix] = append(bySuffix[suffix], mustKey(id))
	}
	swept := 0
	for suffix, group := range bySuffix {
		kept := &keptSet{m: map[int64]bool{}}
		ids := make([]string, len(group))
		for i, k := range group {
			ids[i] = strconv.FormatInt(k, 10)
		}
		// The list-view's children too (its instances are not in the
		// runtime index any more, so only children can be left).
		for _, f := range append(slices.Clone(s.layout.dependents), s.layout.listView) {
			if err := s.moveInstances(ctx, f, suffix, group, ids, kept, nil); err != nil {
				return swept, fmt.Errorf("sweep: %w", err)
			}
		}
		s.log.Warn("moved late runtime documents of archived process instances to their dated indices",
			"suffix", suffix, "instances", len(group), "kept", kept.len())
		swept += len(group)
		s.metrics.swept.Add(float64(len(group)))
	}
	return swept, nil
}

// archivedSuffixes finds which of ids have a list-view document in a dated
// index (runtime + suffix) and returns each one's suffix.
func (s *Service) archivedSuffixes(ctx context.Context, runtime string, ids []string) (map[string]string, error) {
	hits, err := search.FindIDs(ctx, s.es, runtime+"*", ids)
	if err != nil {
		return nil, fmt.Errorf("sweep: archived instances: %w", err)
	}
	out := map[string]string{}
	for _, h := range hits {
		suffix := strings.TrimPrefix(h.Index, runtime)
		if h.Index == runtime || suffix == h.Index {
			continue // the runtime index (a delete not refreshed yet), or not ours
		}
		if _, _, ok := ParseSuffix(suffix); ok {
			out[h.ID] = suffix
		}
	}
	return out, nil
}
