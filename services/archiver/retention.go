package archiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// retentionEvery is how often expired dated indices are looked for.
const retentionEvery = 10 * time.Minute

// retentionBy is what deletes expired dated indices.
type retentionBy int

const (
	byArchiver retentionBy = iota // deleteExpired, every retentionEvery
	byILM                         // Elasticsearch's index lifecycle management
	byISM                         // OpenSearch's index state management
)

func (r retentionBy) String() string {
	return [...]string{"archiver", "ilm", "ism"}[r]
}

// setUpRetention decides how dated indices expire. With
// FLOWLINE_ARCHIVER_RETENTION_ILM_POLICY and a cluster that has a lifecycle
// manager, it creates or updates that policy and new dated indices carry
// it: on Elasticsearch an ILM policy with a delete phase at the retention
// age, counted from the end of an index's period; on OpenSearch an ISM
// policy that deletes an index the retention plus one period after its
// creation (ISM counts from creation only, and a dated index is never
// created before its period starts, so it never goes early). Otherwise,
// with FLOWLINE_ARCHIVER_RETENTION, the archiver deletes expired dated indices
// itself.
func (s *Service) setUpRetention(ctx context.Context) error {
	if s.cfg.Retention == 0 || s.cfg.RetentionILM == "" {
		return nil
	}
	engine, err := s.es.Engine(ctx)
	if err != nil {
		return err
	}
	if engine == config.EngineOpenSearch {
		return s.setUpISM(ctx)
	}
	b, err := s.es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/_ilm/status", What: "ILM status"})
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
	if _, err := s.es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/_ilm/policy/" + url.PathEscape(s.cfg.RetentionILM),
		Body: body, What: "put ILM policy " + s.cfg.RetentionILM}); err != nil {
		return err
	}
	s.policy = byILM
	return nil
}

// ismPath is where OpenSearch's index state management plugin answers.
const ismPath = "/_plugins/_ism"

// setUpISM creates or updates the ISM policy FLOWLINE_ARCHIVER_RETENTION_ILM_POLICY
// names, where the cluster has the plugin. The policy's description states
// its deletion age: a policy that says the same is left alone; one that
// says otherwise (the retention or the rollover changed) is updated, and
// the dated indices it manages are moved to the new version (ISM keeps each
// index on the version it was attached with). Replicas starting together
// may race: a write that loses (409) reads the policy again.
func (s *Service) setUpISM(ctx context.Context) error {
	path := ismPath + "/policies/" + url.PathEscape(s.cfg.RetentionILM)
	age := time.Duration(s.cfg.Retention) + s.cfg.Rollover.Longest()
	hours := int64((age + time.Hour - 1) / time.Hour)
	description := fmt.Sprintf("flowline-archiver: delete dated indices %dh after their creation (FLOWLINE_ARCHIVER_RETENTION plus one rollover period)", hours)
	policy := map[string]any{"policy": map[string]any{
		"description":   description,
		"default_state": "keep",
		"states": []any{
			map[string]any{"name": "keep", "actions": []any{},
				"transitions": []any{map[string]any{"state_name": "delete", "conditions": map[string]any{"min_index_age": fmt.Sprintf("%dh", hours)}}}},
			map[string]any{"name": "delete", "actions": []any{map[string]any{"delete": map[string]any{}}}, "transitions": []any{}},
		},
	}}
	body, _ := json.Marshal(policy)
	for attempt := 1; ; attempt++ {
		b, err := s.es.Do(ctx, search.Request{Method: http.MethodGet, Path: path, What: "get ISM policy " + s.cfg.RetentionILM})
		var se *search.StatusError
		exists := err == nil
		switch {
		case err == nil:
		case errors.As(err, &se) && se.Status == http.StatusNotFound && strings.Contains(strings.ToLower(se.Body), "policy not found"):
			// the plugin answers: the policy is not there yet
		case errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed):
			// no handler for the path: the cluster has no ISM plugin
			s.log.Warn("the cluster has no index state management; the archiver deletes expired dated indices itself",
				"policy", s.cfg.RetentionILM, "retention", s.cfg.Retention.String(), "error", err)
			return nil
		default:
			return err
		}
		q := url.Values{}
		if exists {
			var cur struct {
				SeqNo       *int64 `json:"_seq_no"`
				PrimaryTerm *int64 `json:"_primary_term"`
				Policy      struct {
					Description string `json:"description"`
				} `json:"policy"`
			}
			if err := json.Unmarshal(b, &cur); err != nil || cur.SeqNo == nil || cur.PrimaryTerm == nil {
				return fmt.Errorf("%w: get ISM policy %s: unreadable answer %.200s", search.ErrUnavailable, s.cfg.RetentionILM, b)
			}
			if cur.Policy.Description == description {
				s.policy = byISM
				return nil
			}
			q.Set("if_seq_no", strconv.FormatInt(*cur.SeqNo, 10))
			q.Set("if_primary_term", strconv.FormatInt(*cur.PrimaryTerm, 10))
		}
		_, err = s.es.Do(ctx, search.Request{Method: http.MethodPut, Path: path, Query: q, Body: body, What: "put ISM policy " + s.cfg.RetentionILM})
		if errors.As(err, &se) && se.Status == http.StatusConflict && attempt < 5 {
			continue // another replica wrote it meanwhile: read it again
		}
		if err != nil {
			return err
		}
		if exists {
			if err := s.moveToNewISMPolicy(ctx); err != nil {
				return err
			}
		}
		s.policy = byISM
		return nil
	}
}

// moveToNewISMPolicy moves the dated indices the policy manages to its
// latest version; indices it does not manage (the runtime indices) are
// left alone.
func (s *Service) moveToNewISMPolicy(ctx context.Context) error {
	var patterns []string
	for _, f := range s.layout.all() {
		if f.runtime == "" {
			return fmt.Errorf("archiver: no index named for %s", f.name) // never "*": that is every index
		}
		patterns = append(patterns, f.runtime+"*")
	}
	body, _ := json.Marshal(map[string]string{"policy_id": s.cfg.RetentionILM})
	_, err := s.es.Do(ctx, search.Request{Method: http.MethodPost, Path: ismPath + "/change_policy/" + url.PathEscape(strings.Join(patterns, ",")),
		Body: body, What: "move dated indices to the new version of ISM policy " + s.cfg.RetentionILM})
	if err != nil {
		return err
	}
	s.log.Info("ISM policy updated; the dated indices it manages follow the new version", "policy", s.cfg.RetentionILM)
	return nil
}

// attachISM puts a new dated index under the ISM policy; an index that has
// it already is fine.
func (s *Service) attachISM(ctx context.Context, index string) error {
	body, _ := json.Marshal(map[string]string{"policy_id": s.cfg.RetentionILM})
	b, err := s.es.Do(ctx, search.Request{Method: http.MethodPost, Path: ismPath + "/add/" + url.PathEscape(index), Body: body, What: "attach ISM policy to " + index})
	if err != nil {
		return err
	}
	var res struct {
		Failures      bool `json:"failures"`
		FailedIndices []struct {
			Reason string `json:"reason"`
		} `json:"failed_indices"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%w: attach ISM policy to %s: unreadable response: %v", search.ErrUnavailable, index, err)
	}
	for _, f := range res.FailedIndices {
		if !strings.Contains(f.Reason, "already has a policy") {
			return fmt.Errorf("%w: attach ISM policy %s to %s: %s", search.ErrUnavailable, s.cfg.RetentionILM, index, f.Reason)
		}
	}
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
	for _, f := range s.layout.all() {
		runtime := f.runtime
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
			if _, err := s.es.Do(ctx, search.Request{Method: http.MethodDelete, Path: "/" + url.PathEscape(name), What: "delete expired index " + name}); err != nil {
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
	b, err := s.es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + url.PathEscape(pattern), What: "list indices " + pattern,
		Query: url.Values{"filter_path": {"*.settings.index.provided_name"}, "allow_no_indices": {"true"}}})
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
	keys, err := search.Terms(ctx, s.es, s.layout.listView.runtime, schema.FieldPartitionID, nil, 10000)
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
