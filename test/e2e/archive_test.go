package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// Through the whole stack, with the archiver's real safe position (the
// aggregator's checkpoints, the writer's pending messages): the completed
// and the canceled instance move with all their documents into the dated
// indices of their end date's day; the running one stays; the aliases
// return every document once, unchanged.
func TestEndedInstancesAreArchivedThroughTheStack(t *testing.T) {
	s := stack.Start(t, stack.Options{ArchiveAfter: time.Hour}) // the fixture's instances ended in 2025
	if code, res := post(t, s.IngestURL(), "application/x-ndjson", ndjson(fixture())); code != http.StatusAccepted {
		t.Fatalf("POST: %d %v", code, res)
	}
	running := fmt.Sprint(keyP5)
	belongs := func(src map[string]any, f schema.Family) string {
		if f == schema.ListView {
			return fmt.Sprint(src["key"])
		}
		return fmt.Sprint(src["processInstanceKey"])
	}
	for f, want := range map[schema.Family]map[string]map[string]any{
		schema.ListView: expectedInstances(), schema.FlowNodeInstance: expectedFlowNodes(), schema.SequenceFlow: expectedSequenceFlows(),
	} {
		var wantRuntime, wantDated []string
		for id, src := range want {
			if belongs(src, f) == running {
				wantRuntime = append(wantRuntime, id)
			} else {
				wantDated = append(wantDated, id)
			}
		}
		runtime := schema.RuntimeIndex(s.Prefix, f)
		dated := runtime + "2025-11-23"
		testenv.Eventually(t, 30*time.Second, func() error {
			for index, want := range map[string][]string{runtime: wantRuntime, dated: wantDated} {
				got, err := idsIn(s, index)
				if err != nil {
					return err
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					return fmt.Errorf("%s holds %v, want %v", index, got, want)
				}
			}
			return nil
		})
		// Through the alias: every document once, as the aggregator built it.
		waitForDocs(t, s, f, want)
	}
}

// idsIn lists the ids of the documents in index.
func idsIn(s *stack.Stack, index string) ([]string, error) {
	ctx := context.Background()
	if err := search.Refresh(ctx, s.ES, index); err != nil {
		return nil, err
	}
	b, err := s.ES.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + index + "/_search",
		Query: url.Values{"size": {"1000"}}, What: "search " + index})
	if err != nil {
		return nil, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	ids := []string{}
	for _, h := range res.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids, nil
}
