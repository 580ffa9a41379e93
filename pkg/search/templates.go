package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
)

// InstallSchema runs EnsureSchema until it succeeds, waiting at WARN with
// backoff while Elasticsearch is not reachable yet (it may still be
// starting); an incompatible schema fails at once. It returns ctx's error
// when ctx ends first.
func InstallSchema(ctx context.Context, c *elasticsearch.Client, idx config.Index, log *slog.Logger) error {
	return backoff.Retry(ctx, log, backoff.New(500*time.Millisecond, 15*time.Second), "installing index templates",
		func(ctx context.Context) error {
			err := EnsureSchema(ctx, c, idx)
			if errors.Is(err, ErrIncompatibleSchema) {
				return backoff.Permanent(err) // retrying cannot fix it
			}
			return err
		})
}

// EnsureSchema installs the composable index template of every family
// (creating or updating it) and creates each family's runtime index with its
// alias when missing. Idempotent; safe for several writers to run at once.
func EnsureSchema(ctx context.Context, c *elasticsearch.Client, idx config.Index) error {
	for _, f := range schema.Families {
		body, err := templateBody(idx, f)
		if err != nil {
			return err
		}
		name := schema.TemplateName(idx.Prefix, f)
		res, err := c.Indices.PutIndexTemplate(name, bytes.NewReader(body), c.Indices.PutIndexTemplate.WithContext(ctx))
		if _, err := ReadResponse("put index template "+name, res, err); err != nil {
			return err
		}
		index := schema.RuntimeIndex(idx.Prefix, f)
		res, err = c.Indices.Create(index, c.Indices.Create.WithContext(ctx))
		b, err := ReadResponse("create index "+index, res, err)
		switch {
		case err == nil:
		case alreadyExists(err, b):
			if err := reconcile(ctx, c, index, f); err != nil {
				return err
			}
			// An index made before its template (by hand, or by an older
			// Flowline) may lack the alias.
			alias := schema.Alias(idx.Prefix, f)
			res, err := c.Indices.PutAlias([]string{index}, alias, c.Indices.PutAlias.WithContext(ctx))
			if _, err := ReadResponse("alias "+index+" as "+alias, res, err); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
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
func reconcile(ctx context.Context, c *elasticsearch.Client, index string, f schema.Family) error {
	want, err := schema.Mappings(f)
	if err != nil {
		return err
	}
	res, err := c.Indices.GetMapping(c.Indices.GetMapping.WithIndex(index), c.Indices.GetMapping.WithContext(ctx))
	b, err := ReadResponse("get mapping of "+index, res, err)
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
	res, err = c.Indices.PutMapping([]string{index}, bytes.NewReader(body), c.Indices.PutMapping.WithContext(ctx))
	_, err = ReadResponse("add fields to "+index, res, err)
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
	t := map[string]any{
		"index_patterns": []string{schema.IndexPattern(idx.Prefix, f)},
		"priority":       100,
		"_meta":          map[string]any{"managedBy": "flowline", "schemaVersion": schema.Version},
		"template": map[string]any{
			"settings": map[string]any{
				"number_of_shards":   idx.Shards,
				"number_of_replicas": idx.Replicas,
				"refresh_interval":   idx.RefreshInterval,
			},
			"mappings": mappings,
			"aliases":  map[string]any{schema.Alias(idx.Prefix, f): map[string]any{}},
		},
	}
	return json.Marshal(t)
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
func Refresh(ctx context.Context, c *elasticsearch.Client, indices ...string) error {
	res, err := c.Indices.Refresh(c.Indices.Refresh.WithIndex(indices...), c.Indices.Refresh.WithContext(ctx))
	_, err = ReadResponse(fmt.Sprintf("refresh %v", indices), res, err)
	return err
}

// CreateIndex creates index (its mappings and alias come from the matching
// template) with extra index settings, if it does not exist yet.
func CreateIndex(ctx context.Context, c *elasticsearch.Client, index string, settings map[string]any) error {
	var opts []func(*esapi.IndicesCreateRequest)
	opts = append(opts, c.Indices.Create.WithContext(ctx))
	if len(settings) > 0 {
		body, err := json.Marshal(map[string]any{"settings": settings})
		if err != nil {
			return err
		}
		opts = append(opts, c.Indices.Create.WithBody(bytes.NewReader(body)))
	}
	res, err := c.Indices.Create(index, opts...)
	b, err := ReadResponse("create index "+index, res, err)
	if err != nil && !alreadyExists(err, b) {
		return err
	}
	return nil
}
