package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// retentionEvery is how often expired dated indices are looked for.
const retentionEvery = 10 * time.Minute

// setUpRetention decides how dated indices expire. With
// FLOWLINE_RETENTION_ILM_POLICY and a cluster that has ILM, it creates or
// updates that policy (a delete phase at the retention age, counted from
// the end of an index's period) and new dated indices carry it; otherwise,
// with FLOWLINE_RETENTION, the archiver deletes expired dated indices
// itself.
func (s *Service) setUpRetention(ctx context.Context) error {
	if s.cfg.Retention == 0 || s.cfg.RetentionILM == "" {
		return nil
	}
	resp, err := s.es.ILM.GetStatus(s.es.ILM.GetStatus.WithContext(ctx))
	b, err := search.ReadResponse("ILM status", resp, err)
	var st struct {
		Mode string `json:"operation_mode"`
	}
	if err != nil || json.Unmarshal(b, &st) != nil || st.Mode == "" {
		s.log.Warn("the cluster has no index lifecycle management; the archiver deletes expired dated indices itself",
			"policy", s.cfg.RetentionILM, "retention", s.cfg.Retention.String(), "error", err)
		return nil
	}
	hours := int64(time.Duration(s.cfg.Retention) / time.Hour)
	policy := map[string]any{"policy": map[string]any{
		"_meta":  map[string]any{"managed_by": "flowline-archiver"},
		"phases": map[string]any{"delete": map[string]any{"min_age": fmt.Sprintf("%dh", max(hours, 1)), "actions": map[string]any{"delete": map[string]any{}}}},
	}}
	body, _ := json.Marshal(policy)
	resp, err = s.es.ILM.PutLifecycle(s.cfg.RetentionILM, s.es.ILM.PutLifecycle.WithBody(bytes.NewReader(body)), s.es.ILM.PutLifecycle.WithContext(ctx))
	if _, err := search.ReadResponse("put ILM policy "+s.cfg.RetentionILM, resp, err); err != nil {
		return err
	}
	s.ilm = true
	return nil
}

// retentionLoop deletes expired dated indices at start and every
// retentionEvery until ctx ends. Every replica runs it; deleting is
// idempotent.
func (s *Service) retentionLoop(ctx context.Context) {
	for {
		if err := s.deleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.metrics.errors.Inc()
			s.log.Warn("deleting expired dated indices failed; retried later", "error", err)
		}
		if !backoff.Sleep(ctx, retentionEvery) {
			return
		}
	}
}

// deleteExpired deletes the dated indices whose period ended more than
// Retention ago. The period is the longest one the index's name may stand
// for (latestEnd), not the current rollover's: an index made before the
// rollover changed keeps its own period.
func (s *Service) deleteExpired(ctx context.Context) error {
	limit := time.Now().Add(-time.Duration(s.cfg.Retention))
	for _, f := range append([]schema.Family{schema.ListView}, dependents...) {
		runtime := schema.RuntimeIndex(s.cfg.Index.Prefix, f)
		names, err := s.indicesLike(ctx, runtime+"*")
		if err != nil {
			return err
		}
		var expired []string
		for _, name := range names {
			end, ok := latestEnd(strings.TrimPrefix(name, runtime))
			if !ok || !strings.HasPrefix(name, runtime) {
				continue // not a dated index of ours
			}
			if end.Before(limit) {
				expired = append(expired, name)
			}
		}
		for _, name := range expired {
			resp, err := s.es.Indices.Delete([]string{name}, s.es.Indices.Delete.WithContext(ctx))
			if _, err := search.ReadResponse("delete expired index "+name, resp, err); err != nil {
				if se := (*search.StatusError)(nil); errors.As(err, &se) && se.Status == http.StatusNotFound {
					continue
				}
				return err
			}
			s.made.Delete(name)
			s.metrics.indicesDeleted.Inc()
			s.log.Info("expired dated index deleted", "index", name, "retention", s.cfg.Retention.String())
		}
	}
	return nil
}

// indicesLike lists the indices matching pattern.
func (s *Service) indicesLike(ctx context.Context, pattern string) ([]string, error) {
	resp, err := s.es.Indices.Get([]string{pattern}, s.es.Indices.Get.WithContext(ctx),
		s.es.Indices.Get.WithFilterPath("*.settings.index.provided_name"), s.es.Indices.Get.WithAllowNoIndices(true))
	b, err := search.ReadResponse("list indices "+pattern, resp, err)
	if err != nil {
		return nil, err
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: list indices: unreadable response: %v", search.ErrUnavailable, err)
	}
	out := make([]string, 0, len(res))
	for name := range res {
		out = append(out, name)
	}
	return out, nil
}

// indexedPartitions lists the partitions with instances in the runtime
// list-view index.
func (s *Service) indexedPartitions(ctx context.Context) ([]int32, error) {
	keys, err := search.Terms(ctx, s.es, schema.RuntimeIndex(s.cfg.Index.Prefix, schema.ListView), schema.FieldPartitionID, nil, 10000)
	if err != nil {
		return nil, err
	}
	out := make([]int32, 0, len(keys))
	for _, k := range keys {
		if k >= 0 && k <= math.MaxInt32 {
			out = append(out, int32(k))
		}
	}
	return out, nil
}
