package search

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Hit is a document read back with its version (FindIDs fills only Index
// and ID).
type Hit struct {
	Index   string          `json:"_index"`
	ID      string          `json:"_id"`
	Routing string          `json:"_routing"` // "" when routed by its id
	Version int64           `json:"_version"`
	Source  json.RawMessage `json:"_source"`
	Sort    json.RawMessage `json:"sort"`
}

// pitKeepAlive is how long a point in time (or scroll) lives between two
// pages.
const pitKeepAlive = "2m"

// releaseTimeout bounds closing a point in time or clearing a scroll, which
// runs even when the scan's context has ended.
const releaseTimeout = 10 * time.Second

// Scan reads every document of index that matches query, in pages of at
// most size, from one point in time (documents indexed or deleted while it
// runs do not change what it reads). It calls page for each non-empty page
// and stops at the first error page returns. Hits carry their version and
// source. It needs neither scripts nor reindex.
//
// On Elasticsearch the point in time is the point-in-time API, read in
// _shard_doc order with search_after; OpenSearch 2.x has no _shard_doc (no
// unique order to page a point in time by), so there it is a scroll.
func Scan(ctx context.Context, c *Client, index string, query any, size int, page func([]Hit) error) error {
	engine, err := c.Engine(ctx)
	if err != nil {
		return err
	}
	if engine == config.EngineOpenSearch {
		return scroll(ctx, c, index, query, size, page)
	}
	b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_pit",
		Query: url.Values{"keep_alive": {pitKeepAlive}}, What: "open point in time on " + index})
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
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_, _ = c.Do(cctx, Request{Method: http.MethodDelete, Path: "/_pit", Body: body, What: "close point in time"})
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
		b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/_search", Body: body, What: "search " + index})
		if err != nil {
			return err
		}
		res, err := readScanPage(b, index)
		if err != nil {
			return err
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

// scanPage is one page of a scan, by point in time or by scroll.
type scanPage struct {
	PitID    string `json:"pit_id"`
	ScrollID string `json:"_scroll_id"`
	Hits     struct {
		Hits []Hit `json:"hits"`
	} `json:"hits"`
	Shards struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
}

func readScanPage(b []byte, index string) (scanPage, error) {
	var res scanPage
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("%w: search %s: unreadable response: %v", ErrUnavailable, index, err)
	}
	if res.Shards.Failed > 0 {
		// A partial page would make a scan look complete when it is not.
		return res, fmt.Errorf("%w: search %s: %d shards failed", ErrUnavailable, index, res.Shards.Failed)
	}
	return res, nil
}

// scroll is Scan by a scroll context, in _doc order.
func scroll(ctx context.Context, c *Client, index string, query any, size int, page func([]Hit) error) error {
	body, err := json.Marshal(map[string]any{"size": size, "query": query, "version": true, "sort": []string{"_doc"}})
	if err != nil {
		return fmt.Errorf("search: scan %s: %w", index, err)
	}
	b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_search",
		Query: url.Values{"scroll": {pitKeepAlive}}, Body: body, What: "search " + index})
	var id string
	defer func() {
		if id == "" {
			return
		}
		body, _ := json.Marshal(map[string][]string{"scroll_id": {id}})
		// Best effort: an unclosed scroll expires after pitKeepAlive.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_, _ = c.Do(cctx, Request{Method: http.MethodDelete, Path: "/_search/scroll", Body: body, What: "clear scroll"})
	}()
	for {
		if err != nil {
			return err
		}
		res, perr := readScanPage(b, index)
		if res.ScrollID != "" {
			id = res.ScrollID // cleared on return, also after a page with failed shards
		}
		if perr != nil {
			return perr
		}
		hits := res.Hits.Hits
		if len(hits) == 0 {
			return nil // a scroll ends with an empty page
		}
		if perr := page(hits); perr != nil {
			return perr
		}
		next, _ := json.Marshal(map[string]string{"scroll": pitKeepAlive, "scroll_id": id})
		b, err = c.Do(ctx, Request{Method: http.MethodPost, Path: "/_search/scroll", Body: next, What: "scroll " + index})
	}
}

// Versions returns the version of each of ids found in index, read in real
// time (what is indexed, refreshed or not); ids not found are absent.
func Versions(ctx context.Context, c *Client, index string, ids []string) (map[string]int64, error) {
	refs := make([]DocRef, len(ids))
	for i, id := range ids {
		refs[i] = DocRef{ID: id}
	}
	return VersionsOf(ctx, c, index, refs)
}

// DocRef names a document by id and, when it is not routed by its id, its
// routing.
type DocRef struct {
	ID      string `json:"_id"`
	Routing string `json:"routing,omitempty"`
}

// VersionsOf is Versions of documents that may be routed (join children).
func VersionsOf(ctx context.Context, c *Client, index string, refs []DocRef) (map[string]int64, error) {
	body, err := json.Marshal(map[string][]DocRef{"docs": refs})
	if err != nil {
		return nil, err
	}
	b, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/" + url.PathEscape(index) + "/_mget", Body: body, What: "get " + index,
		Query: url.Values{"_source": {"false"}, "realtime": {"true"}}})
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
	out := make(map[string]int64, len(refs))
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
