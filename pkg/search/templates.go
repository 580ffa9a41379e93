package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
)

// InstallSchema runs EnsureSchema (EnsureOperateSchema in the operate
// schema) until it succeeds, waiting at WARN with
// backoff while Elasticsearch is not reachable yet (it may still be
// starting); an incompatible schema fails at once. It returns ctx's error
// when ctx ends first.
func InstallSchema(ctx context.Context, c *Client, s config.Schema, idx config.Index, log *slog.Logger) error {
	return backoff.Retry(ctx, log, backoff.New(500*time.Millisecond, 15*time.Second), "installing index templates",
		func(ctx context.Context) error {
			var err error
			if s == config.SchemaOperate {
				err = EnsureOperateSchema(ctx, c, idx)
			} else {
				err = EnsureSchema(ctx, c, idx)
			}
			if Misconfigured(err) {
				return backoff.Permanent(err) // retrying cannot fix it
			}
			return err
		})
}

// EnsureSchema installs the composable index template of every family
// (creating or updating it) and creates each family's runtime index with its
// alias when missing. Idempotent; safe for several writers to run at once.
func EnsureSchema(ctx context.Context, c *Client, idx config.Index) error {
	for _, f := range schema.Families {
		body, err := templateBody(idx, f)
		if err != nil {
			return err
		}
		name, interval := schema.TemplateName(idx.Prefix, f), idx.RefreshFor(f)
		if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/_index_template/" + url.PathEscape(name), Body: body, What: "put index template " + name}); err != nil {
			return refusedInterval(err, interval)
		}
		index := schema.RuntimeIndex(idx.Prefix, f)
		b, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index), What: "create index " + index})
		switch {
		case err == nil:
		case alreadyExists(err, b):
			if err := reconcile(ctx, c, index, f); err != nil {
				return err
			}
			if err := applyRefreshInterval(ctx, c, index, interval); err != nil {
				return err
			}
			// An index made before its template (by hand, or by an older
			// Flowline) may lack the alias.
			alias := schema.Alias(idx.Prefix, f)
			if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index) + "/_alias/" + url.PathEscape(alias), What: "alias " + index + " as " + alias}); err != nil {
				return err
			}
		default:
			return refusedInterval(err, interval)
		}
	}
	return nil
}

// Misconfigured reports whether err is one that retrying cannot fix: an
// incompatible existing schema, a cluster that is neither engine, a
// configuration that does not fit the cluster (an API key for OpenSearch).
func Misconfigured(err error) bool {
	return errors.Is(err, ErrIncompatibleSchema) || errors.Is(err, ErrUnknownEngine) || errors.Is(err, config.ErrInvalid)
}

// ErrIncompatibleSchema: an existing index's mappings contradict this
// Flowline's schema (a field of another type, or another schema version).
// Retrying does not help: migrate (a schema version bump writes new indices)
// or use another FLOWLINE_INDEX_PREFIX.
var ErrIncompatibleSchema = errors.New("incompatible existing index schema")

// reconcile checks an existing index against family f's mappings: fields of
// another type or another schema version are an error wrapping
// ErrIncompatibleSchema; fields the index lacks are added (a compatible
// change within one schema version).
func reconcile(ctx context.Context, c *Client, index string, f schema.Family) error {
	want, err := schema.Mappings(f)
	if err != nil {
		return err
	}
	b, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/" + url.PathEscape(index) + "/_mapping", What: "get mapping of " + index})
	if err != nil {
		return err
	}
	var got map[string]struct {
		Mappings mapping `json:"mappings"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("%w: get mapping of %s: unreadable: %v", ErrUnavailable, index, err)
	}
	var ours mapping
	if err := json.Unmarshal(want, &ours); err != nil {
		return fmt.Errorf("schema: mappings of %s: %w", f, err)
	}
	existing, ok := got[index]
	if !ok {
		for _, m := range got { // the name was an alias
			existing = m
		}
	}
	if v, ok := existing.Mappings.Meta["flowlineSchemaVersion"]; ok && fmt.Sprint(v) != fmt.Sprint(schema.Version) {
		return fmt.Errorf("%w: index %s holds Flowline schema version %v, this Flowline writes version %d", ErrIncompatibleSchema, index, v, schema.Version)
	}
	var conflicts []string
	missing := map[string]json.RawMessage{}
	compareFields("", ours.Properties, existing.Mappings.Properties, &conflicts, missing)
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return fmt.Errorf("%w: index %s: %s (use a new FLOWLINE_INDEX_PREFIX, or delete the index if its data can be rebuilt)",
			ErrIncompatibleSchema, index, strings.Join(conflicts, "; "))
	}
	if len(missing) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string]any{"properties": missing})
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index) + "/_mapping", Body: body, What: "add fields to " + index})
	return err
}

// mapping is the part of a mappings document reconcile compares.
type mapping struct {
	Meta       map[string]any          `json:"_meta"`
	Properties map[string]fieldMapping `json:"properties"`
}

type fieldMapping struct {
	Type       string                  `json:"type"`
	Properties map[string]fieldMapping `json:"properties"`
	raw        json.RawMessage
}

func (f *fieldMapping) UnmarshalJSON(b []byte) error {
	type plain fieldMapping
	if err := json.Unmarshal(b, (*plain)(f)); err != nil {
		return err
	}
	f.raw = append(json.RawMessage(nil), b...)
	return nil
}

// typeOf is a field's type; a field without one is an object.
func (f fieldMapping) typeOf() string {
	if f.Type == "" {
		return "object"
	}
	return f.Type
}

// compareFields notes fields of ours whose type differs in theirs, and
// top-level fields theirs lacks wholly or partly (with our mapping of them:
// Elasticsearch merges object properties, so adding them is compatible).
// It reports whether anything below prefix is missing.
func compareFields(prefix string, ours, theirs map[string]fieldMapping, conflicts *[]string, missing map[string]json.RawMessage) bool {
	lacking := false
	for name, o := range ours {
		t, ok := theirs[name]
		switch {
		case !ok:
			lacking = true
		case o.typeOf() != t.typeOf():
			*conflicts = append(*conflicts, fmt.Sprintf("field %s%s is %s, Flowline needs %s", prefix, name, t.typeOf(), o.typeOf()))
			continue
		case o.Properties != nil:
			ok = !compareFields(prefix+name+".", o.Properties, t.Properties, conflicts, missing)
			lacking = lacking || !ok
		}
		if !ok && prefix == "" {
			missing[name] = o.raw
		}
	}
	return lacking
}

// templateBody renders family f's template: its index pattern covers the
// runtime index and every dated archive index, and every index it creates
// joins the family's alias.
func templateBody(idx config.Index, f schema.Family) ([]byte, error) {
	mappings, err := schema.Mappings(f)
	if err != nil {
		return nil, err
	}
	settings := map[string]any{
		"number_of_shards":   idx.Shards,
		"number_of_replicas": idx.Replicas,
	}
	if r := idx.RefreshFor(f); r != "" {
		settings["refresh_interval"] = r
	}
	t := map[string]any{
		"index_patterns": []string{schema.IndexPattern(idx.Prefix, f)},
		"priority":       100,
		"_meta":          map[string]any{"managedBy": "flowline", "schemaVersion": schema.Version},
		"template": map[string]any{
			"settings": settings,
			"mappings": mappings,
			"aliases":  map[string]any{schema.Alias(idx.Prefix, f): map[string]any{}},
		},
	}
	return json.Marshal(t)
}

// applyRefreshInterval gives an existing runtime index the configured
// refresh interval (the template only applies to indices created after it):
// interval, or "" to reset it to the engine's default. An index that
// already has it is left alone, so that writers starting together do not
// each update the cluster state. An interval the engine refuses (an
// OpenSearch cluster's minimum, for one) is a configuration error.
func applyRefreshInterval(ctx context.Context, c *Client, index, interval string) error {
	b, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/" + url.PathEscape(index) + "/_settings/index.refresh_interval", What: "refresh interval of " + index})
	if err != nil {
		return err
	}
	var got map[string]struct {
		Settings struct {
			Index struct {
				RefreshInterval string `json:"refresh_interval"`
			} `json:"index"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("%w: refresh interval of %s: unreadable: %v", ErrUnavailable, index, err)
	}
	current := ""           // an index without the setting is answered with {}
	for _, s := range got { // keyed by the concrete index name
		current = s.Settings.Index.RefreshInterval
	}
	if current == interval {
		return nil
	}
	var value any // null resets the setting to the engine's default
	if interval != "" {
		value = interval
	}
	body, err := json.Marshal(map[string]any{"index": map[string]any{"refresh_interval": value}})
	if err != nil {
		return err
	}
	return refusedInterval(PutIndexSettings(ctx, c, index, body), interval)
}

// refusedInterval turns the engine's refusal of a refresh interval (400)
// into a configuration error naming the variables; other errors pass.
func refusedInterval(err error, interval string) error {
	var se *StatusError
	if err == nil || !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "refresh_interval") {
		return err
	}
	return fmt.Errorf("%w: FLOWLINE_INDEX_REFRESH_INTERVAL(S): the search engine refused refresh interval %q: %v", config.ErrInvalid, interval, err)
}

func alreadyExists(err error, body []byte) bool {
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 400 {
		return false
	}
	var r struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	return json.Unmarshal(body, &r) == nil && r.Error.Type == "resource_already_exists_exception"
}

// Refresh makes everything indexed so far in the indices visible to search
// (tests and tools; the writer never calls it).
func Refresh(ctx context.Context, c *Client, indices ...string) error {
	path := "/_refresh"
	if len(indices) > 0 {
		path = "/" + url.PathEscape(strings.Join(indices, ",")) + path
	}
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, What: fmt.Sprintf("refresh %v", indices)})
	return err
}

// CreateIndex creates index (its mappings and alias come from the matching
// template) with extra index settings, if it does not exist yet.
func CreateIndex(ctx context.Context, c *Client, index string, settings map[string]any) error {
	var body []byte
	if len(settings) > 0 {
		var err error
		if body, err = json.Marshal(map[string]any{"settings": settings}); err != nil {
			return err
		}
	}
	b, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index), Body: body, What: "create index " + index})
	if err != nil && !alreadyExists(err, b) {
		return err
	}
	return nil
}

// DeleteIndices deletes the indices (names or patterns); missing ones are
// not an error.
func DeleteIndices(ctx context.Context, c *Client, indices ...string) error {
	if len(indices) == 0 {
		return nil
	}
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/" + url.PathEscape(strings.Join(indices, ",")),
		Query: url.Values{"ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}, What: fmt.Sprintf("delete indices %v", indices)})
	return err
}

// DeleteIndexTemplates deletes the composable index templates matching
// pattern; none matching is not an error.
func DeleteIndexTemplates(ctx context.Context, c *Client, pattern string) error {
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: "/_index_template/" + url.PathEscape(pattern), What: "delete index templates " + pattern})
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// PutIndexSettings changes dynamic settings (a JSON body) of the indices
// (a name or pattern).
func PutIndexSettings(ctx context.Context, c *Client, index string, body []byte) error {
	_, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(index) + "/_settings", Body: body, What: "index settings of " + index})
	return err
}
