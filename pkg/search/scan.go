package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
)

// Hit is a document read back with its version (FindIDs fills only Index
// and ID).
type Hit struct {
	Index   string          `json:"_index"`
	ID      string          `json:"_id"`
	Version int64           `json:"_version"`
	Source  json.RawMessage `json:"_source"`
	Sort    json.RawMessage `json:"sort"`
}

// pitKeepAlive is how long a point in time lives between two pages.
const pitKeepAlive = "2m"

// Scan reads every document of index that matches query, in pages of at
// most size, from one point in time (documents indexed or deleted while it
// runs do not change what it reads), ordered by _shard_doc with
// search_after. It calls page for each non-empty page and stops at the
// first error page returns. Hits carry their version and source. It needs
// neither scroll contexts nor scripts, only the point-in-time API.
func Scan(ctx context.Context, c *elasticsearch.Client, index string, query any, size int, page func([]Hit) error) error {
	res, err := c.OpenPointInTime([]string{index}, pitKeepAlive, c.OpenPointInTime.WithContext(ctx))
	b, err := ReadResponse("open point in time on "+index, res, err)
	if err != nil {
		return err
	}
	var pit struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &pit); err != nil || pit.ID == "" {
		return fmt.Errorf("%w: open point in time on %s: unreadable response %.200s", ErrUnavailable, index, b)
	}
	defer func() {
		body, _ := json.Marshal(map[string]string{"id": pit.ID})
		// Best effort: an unclosed point in time expires after pitKeepAlive.
		res, err := c.ClosePointInTime(c.ClosePointInTime.WithBody(bytes.NewReader(body)), c.ClosePointInTime.WithContext(context.WithoutCancel(ctx)))
		_, _ = ReadResponse("close point in time", res, err)
	}()

	var after json.RawMessage
	for {
		req := map[string]any{
			"pit":              map[string]string{"id": pit.ID, "keep_alive": pitKeepAlive},
			"size":             size,
			"query":            query,
			"version":          true,
			"sort":             []any{map[string]string{"_shard_doc": "asc"}},
			"track_total_hits": false,
		}
		if after != nil {
			req["search_after"] = after
		}
		body, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("search: scan %s: %w", index, err)
		}
		sres, err := c.Search(c.Search.WithBody(bytes.NewReader(body)), c.Search.WithContext(ctx))
		b, err := ReadResponse("search "+index, sres, err)
		if err != nil {
			return err
		}
		var res struct {
			PitID string `json:"pit_id"`
			Hits  struct {
				Hits []Hit `json:"hits"`
			} `json:"hits"`
			Shards struct {
				Failed int `json:"failed"`
			} `json:"_shards"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%w: search %s: unreadable response: %v", ErrUnavailable, index, err)
		}
		if res.Shards.Failed > 0 {
			// A partial page would make a scan look complete when it is not.
			return fmt.Errorf("%w: search %s: %d shards failed", ErrUnavailable, index, res.Shards.Failed)
		}
		if res.PitID != "" {
			pit.ID = res.PitID
		}
		hits := res.Hits.Hits
		if len(hits) == 0 {
			return nil
		}
		if err := page(hits); err != nil {
			return err
		}
		if len(hits) < size {
			return nil
		}
		after = hits[len(hits)-1].Sort
	}
}

// Versions returns the version of each of ids found in index, read in real
// time (what is indexed, refreshed or not); ids not found are absent.
func Versions(ctx context.Context, c *elasticsearch.Client, index string, ids []string) (map[string]int64, error) {
	body, err := json.Marshal(map[string][]string{"ids": ids})
	if err != nil {
		return nil, err
	}
	mres, err := c.Mget(bytes.NewReader(body), c.Mget.WithIndex(index), c.Mget.WithSource("false"),
		c.Mget.WithRealtime(true), c.Mget.WithContext(ctx))
	b, err := ReadResponse("get "+index, mres, err)
	if err != nil {
		return nil, err
	}
	var res struct {
		Docs []struct {
			ID      string `json:"_id"`
			Version int64  `json:"_version"`
			Found   bool   `json:"found"`
			Error   *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%w: get %s: unreadable response: %v", ErrUnavailable, index, err)
	}
	out := make(map[string]int64, len(ids))
	var failed []string
	for _, d := range res.Docs {
		switch {
		case d.Error != nil:
			failed = append(failed, d.ID+": "+d.Error.Type+": "+d.Error.Reason)
		case d.Found:
			out[d.ID] = d.Version
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%w: get %s: %d documents failed, first %s", ErrUnavailable, index, len(failed), strings.Join(failed[:1], ""))
	}
	return out, nil
}
