package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ErrPartial is returned when Elasticsearch answered a search only in part
// (shards failed): a partial answer would look like a complete one, so it
// is an error to retry, never a result.
var ErrPartial = errors.New("search engine answered in part (shards failed)")

// Count counts the documents of index (a name, alias or pattern) that match
// query (nil: all).
func Count(ctx context.Context, es *Client, index string, query any) (int64, error) {
	var body []byte
	if query != nil {
		var err error
		if body, err = json.Marshal(map[string]any{"query": query}); err != nil {
			return 0, fmt.Errorf("count %s: %w", index, err)
		}
	}
	b, err := es.Do(ctx, Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_count", Body: body, What: "count " + index})
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
func Terms(ctx context.Context, es *Client, index, field string, query any, size int) ([]int64, error) {
	req := map[string]any{
		"size": 0, "track_total_hits": false,
		"aggs": map[string]any{"terms": map[string]any{"terms": map[string]any{"field": field, "size": size}}},
	}
	if query != nil {
		req["query"] = query
	}
	res, err := SearchWhole[struct {
		ShardsAnswer
		Aggregations struct {
			Terms struct {
				Buckets []struct {
					Key int64 `json:"key"`
				} `json:"buckets"`
			} `json:"terms"`
		} `json:"aggregations"`
	}](ctx, es, "values of "+field+" in "+index, index, req)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(res.Aggregations.Terms.Buckets))
	for _, bk := range res.Aggregations.Terms.Buckets {
		out = append(out, bk.Key)
	}
	return out, nil
}

// FindIDs looks up the documents with the given ids in index (a name,
// alias or pattern; missing indices count as empty) and returns where each
// was found (Hit's Index and ID; no source); an id held by several indices
// appears once per index. A partial answer is ErrPartial.
func FindIDs(ctx context.Context, es *Client, index string, ids []string) ([]Hit, error) {
	res, err := SearchWhole[struct {
		ShardsAnswer
		Hits struct {
			Hits []Hit `json:"hits"`
		} `json:"hits"`
	}](ctx, es, "ids in "+index, index, map[string]any{"size": len(ids), "_source": false, "track_total_hits": false,
		"query": map[string]any{"ids": map[string]any{"values": ids}}})
	if err != nil {
		return nil, err
	}
	return res.Hits.Hits, nil
}

// ShardsAnswer is the part of a search response that says whether every
// shard answered; embed it in the answer type given to SearchWhole.
type ShardsAnswer struct {
	Shards struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
}

func (a ShardsAnswer) failedShards() int { return a.Shards.Failed }

// searchWhole runs search req on index (missing indices count as empty)
// and decodes the answer into T, refusing a partial one (ErrPartial); what
// names the search in errors.
func SearchWhole[T interface{ failedShards() int }](ctx context.Context, es *Client, what, index string, req any) (T, error) {
	var res T
	body, err := json.Marshal(req)
	if err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	b, err := es.Do(ctx, Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_search", Body: body, What: what,
		Query: url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}})
	if err != nil {
		return res, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return res, fmt.Errorf("%w: %s: unreadable response: %v", ErrUnavailable, what, err)
	}
	if n := res.failedShards(); n > 0 {
		return res, fmt.Errorf("%w: %s: %d shards failed", ErrPartial, what, n)
	}
	return res, nil
}
