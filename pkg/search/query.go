package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// ErrPartial is returned when Elasticsearch answered a search only in part
// (shards failed): a partial answer would look like a complete one, so it
// is an error to retry, never a result.
var ErrPartial = errors.New("elasticsearch answered in part (shards failed)")

// Count counts the documents of index (a name, alias or pattern) that match
// query (nil: all).
func Count(ctx context.Context, es *elasticsearch.Client, index string, query any) (int64, error) {
	opts := []func(*esapi.CountRequest){es.Count.WithIndex(index), es.Count.WithContext(ctx)}
	if query != nil {
		body, err := json.Marshal(map[string]any{"query": query})
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", index, err)
		}
		opts = append(opts, es.Count.WithBody(bytes.NewReader(body)))
	}
	resp, err := es.Count(opts...)
	b, err := ReadResponse("count "+index, resp, err)
	if err != nil {
		return 0, err
	}
	var res struct {
		Count *int64 `json:"count"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Count == nil {
		return 0, fmt.Errorf("%w: count %s: unreadable response: %.200s", ErrUnavailable, index, b)
	}
	return *res.Count, nil
}

// Terms returns the distinct values, at most size, of the integer field in
// the documents of index (a name or pattern; missing indices count as
// empty) that match query (nil: all). A partial answer is ErrPartial.
func Terms(ctx context.Context, es *elasticsearch.Client, index, field string, query any, size int) ([]int64, error) {
	req := map[string]any{
		"size": 0, "track_total_hits": false,
		"aggs": map[string]any{"terms": map[string]any{"terms": map[string]any{"field": field, "size": size}}},
	}
	if query != nil {
		req["query"] = query
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("values of %s in %s: %w", field, index, err)
	}
	resp, err := es.Search(es.Search.WithIndex(index), es.Search.WithBody(bytes.NewReader(body)),
		es.Search.WithIgnoreUnavailable(true), es.Search.WithAllowNoIndices(true), es.Search.WithContext(ctx))
	b, err := ReadResponse("values of "+field+" in "+index, resp, err)
	if err != nil {
		return nil, err
	}
	var res struct {
		Shards struct {
			Failed int `json:"failed"`
		} `json:"_shards"`
		Aggregations struct {
			Terms struct {
				Buckets []struct {
					Key int64 `json:"key"`
				} `json:"buckets"`
			} `json:"terms"`
		} `json:"aggregations"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: values of %s in %s: unreadable response: %v", ErrUnavailable, field, index, err)
	}
	if res.Shards.Failed > 0 {
		return nil, fmt.Errorf("%w: values of %s in %s: %d shards failed", ErrPartial, field, index, res.Shards.Failed)
	}
	out := make([]int64, 0, len(res.Aggregations.Terms.Buckets))
	for _, bk := range res.Aggregations.Terms.Buckets {
		out = append(out, bk.Key)
	}
	return out, nil
}

// FindIDs looks up the documents with the given ids in index (a name,
// alias or pattern) and returns where each was found, without their
// sources; an id held by several indices appears once per index.
func FindIDs(ctx context.Context, es *elasticsearch.Client, index string, ids []string) ([]Hit, error) {
	body, err := json.Marshal(map[string]any{"size": len(ids), "_source": false, "track_total_hits": false,
		"query": map[string]any{"ids": map[string]any{"values": ids}}})
	if err != nil {
		return nil, fmt.Errorf("ids in %s: %w", index, err)
	}
	resp, err := es.Search(es.Search.WithIndex(index), es.Search.WithBody(bytes.NewReader(body)),
		es.Search.WithIgnoreUnavailable(true), es.Search.WithAllowNoIndices(true), es.Search.WithContext(ctx))
	b, err := ReadResponse("ids in "+index, resp, err)
	if err != nil {
		return nil, err
	}
	var res struct {
		Shards struct {
			Failed int `json:"failed"`
		} `json:"_shards"`
		Hits struct {
			Hits []Hit `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: ids in %s: unreadable response: %v", ErrUnavailable, index, err)
	}
	if res.Shards.Failed > 0 {
		return nil, fmt.Errorf("%w: ids in %s: %d shards failed", ErrPartial, index, res.Shards.Failed)
	}
	return res.Hits.Hits, nil
}
