package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema/operate"
)

// EnsureOperateSchema installs the indices of Camunda 8.8's Operate and
// Tasklist schema (pkg/schema/operate) as Camunda's exporter does: for a
// template index its index template (FQN+"template" over FQN+"*", with the
// alias) and its runtime index FQN; for a plain index the index itself with
// its alias. Settings and mappings are the engine's own spelling (c's
// engine), plus idx's shard and replica counts.
//
// An index that exists already (made by Camunda's exporter, or by an
// earlier Flowline) is adopted when its mappings equal Flowline's, and given
// its alias if it lacks it; otherwise EnsureOperateSchema fails with
// ErrIncompatibleSchema naming the fields that differ: Flowline writes into
// an existing Operate schema only where Operate will read what it writes.
// Idempotent; safe for several writers to run at once.
func EnsureOperateSchema(ctx context.Context, c *Client, idx config.Index) error {
	prefix := idx.Prefix
	engine, err := c.Engine(ctx)
	if err != nil {
		return err
	}
	for _, ix := range operate.Indices {
		if err := ensureOperateIndex(ctx, c, engine, idx, prefix, ix); err != nil {
			return err
		}
	}
	return nil
}

func ensureOperateIndex(ctx context.Context, c *Client, engine config.Engine, idx config.Index, prefix string, ix operate.Index) error {
	settings := ix.Settings(engine)
	settings["number_of_shards"] = idx.Shards
	settings["number_of_replicas"] = idx.Replicas
	mappings := ix.Mappings(engine)
	name, alias := ix.FQN(prefix), ix.Alias(prefix)
	// An existing index is checked before anything is written, so that a
	// refused schema is left as it was.
	exists, err := indexExists(ctx, c, name)
	if err != nil {
		return err
	}
	if exists {
		if err := adoptOperateIndex(ctx, c, name, mappings); err != nil {
			return err
		}
	}
	body := map[string]any{"settings": settings, "mappings": mappings, "aliases": map[string]any{alias: map[string]any{}}}
	if ix.Template {
		if err := ensureOperateTemplate(ctx, c, ix.TemplateName(prefix), ix.Pattern(prefix), body); err != nil {
			return err
		}
		body = nil // the template gives the index everything
	}
	if !exists {
		var create []byte
		if body != nil {
			if create, err = json.Marshal(body); err != nil {
				return err
			}
		}
		b, err := c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(name), Body: create, What: "create index " + name})
		switch {
		case err == nil:
			return nil
		case !alreadyExists(err, b):
			return err
		}
		// made meanwhile, by another writer
		if err := adoptOperateIndex(ctx, c, name, mappings); err != nil {
			return err
		}
	}
	_, err = c.Do(ctx, Request{Method: http.MethodPut, Path: "/" + url.PathEscape(name) + "/_alias/" + url.PathEscape(alias), What: "alias " + name + " as " + alias})
	return err
}

// indexExists reports whether index exists.
func indexExists(ctx context.Context, c *Client, index string) (bool, error) {
	_, err := c.Do(ctx, Request{Method: http.MethodHead, Path: "/" + url.PathEscape(index), What: "index " + index + " exists"})
	var se *StatusError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return false, nil
	default:
		return false, err
	}
}

// ensureOperateTemplate puts the index template name (over pattern, giving
// body) unless a template of that name exists that Flowline did not make:
// Camunda's own is kept as it is (its settings may carry an operator's
// lifecycle policy) when its mappings equal Flowline's, and refused
// otherwise.
func ensureOperateTemplate(ctx context.Context, c *Client, name, pattern string, body map[string]any) error {
	b, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/_index_template/" + url.PathEscape(name), What: "get index template " + name})
	var se *StatusError
	switch {
	case err == nil:
		var got struct {
			IndexTemplates []struct {
				IndexTemplate struct {
					Meta     map[string]any `json:"_meta"`
					Template struct {
						Mappings map[string]any `json:"mappings"`
					} `json:"template"`
				} `json:"index_template"`
			} `json:"index_templates"`
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.IndexTemplates) != 1 {
			return fmt.Errorf("%w: get index template %s: unreadable answer %.200s", ErrUnavailable, name, b)
		}
		t := got.IndexTemplates[0].IndexTemplate
		if t.Meta["managedBy"] != "flowline" {
			if diffs := mappingDiffs(jsonRoundTrip(body["mappings"]), t.Template.Mappings); len(diffs) > 0 {
				return fmt.Errorf("%w: index template %s exists with mappings other than Camunda 8.8's, which Flowline writes: %s", ErrIncompatibleSchema, name, strings.Join(diffs, "; "))
			}
			return nil // Camunda's template, equal: adopted as it is
		}
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
	default:
		return err
	}
	tmpl, err := json.Marshal(map[string]any{
		"index_patterns": []string{pattern},
		"priority":       100,
		"_meta":          map[string]any{"managedBy": "flowline", "schema": "operate"},
		"template":       body,
	})
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodPut, Path: "/_index_template/" + url.PathEscape(name), Body: tmpl, What: "put index template " + name})
	return err
}

// jsonRoundTrip is v as the engine would answer it: through JSON.
func jsonRoundTrip(v any) map[string]any {
	raw, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// adoptOperateIndex checks that the existing index name has mappings equal
// to want: the same dynamic setting and, field by field, the same types and
// options.
func adoptOperateIndex(ctx context.Context, c *Client, name string, want map[string]any) error {
	b, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/" + url.PathEscape(name) + "/_mapping", What: "get mapping of " + name})
	if err != nil {
		return err
	}
	var got map[string]struct {
		Mappings map[string]any `json:"mappings"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("%w: get mapping of %s: unreadable: %v", ErrUnavailable, name, err)
	}
	existing, ok := got[name]
	if !ok {
		for _, m := range got { // the name was an alias
			existing = m
		}
	}
	diffs := mappingDiffs(jsonRoundTrip(want), existing.Mappings)
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: index %s exists with mappings other than Camunda 8.8's, which Flowline writes: %s (Flowline adopts an existing Operate index only when its mappings are equal; use another FLOWLINE_INDEX_PREFIX, or migrate the index to Camunda 8.8's schema first)",
		ErrIncompatibleSchema, name, strings.Join(diffs, "; "))
}

// mappingDiffs lists how theirs differs from ours: the root's dynamic
// setting and every property by dotted path.
func mappingDiffs(ours, theirs map[string]any) []string {
	var diffs []string
	if fmt.Sprint(ours["dynamic"]) != fmt.Sprint(theirs["dynamic"]) {
		diffs = append(diffs, fmt.Sprintf("dynamic is %v, Flowline needs %v", theirs["dynamic"], ours["dynamic"]))
	}
	compareProperties("", asMap(ours["properties"]), asMap(theirs["properties"]), &diffs)
	sort.Strings(diffs)
	return diffs
}

func compareProperties(prefix string, ours, theirs map[string]any, diffs *[]string) {
	for name, o := range ours {
		path := prefix + name
		t, ok := theirs[name]
		if !ok {
			*diffs = append(*diffs, "field "+path+" is missing")
			continue
		}
		om, tm := asMap(o), asMap(t)
		compareProperties(path+".", asMap(om["properties"]), asMap(tm["properties"]), diffs)
		delete(om, "properties")
		delete(tm, "properties")
		for _, m := range []map[string]any{om, tm} {
			if _, typed := m["type"]; !typed {
				m["type"] = "object" // a property written without a type is an object
			}
			if rel, ok := m["relations"].(map[string]any); ok {
				m["relations"] = oneChildAsName(rel)
			}
		}
		for k, v := range tm {
			if _, set := om[k]; !set && reportedDefault(tm["type"], k, v) {
				delete(tm, k)
			}
		}
		if !reflect.DeepEqual(om, tm) {
			*diffs = append(*diffs, fmt.Sprintf("field %s is %s, Flowline needs %s", path, compact(tm), compact(om)))
		}
	}
	for name := range theirs {
		if _, ok := ours[name]; !ok {
			*diffs = append(*diffs, "field "+prefix+name+" is not in Camunda 8.8's schema")
		}
	}
}

// reportedDefaults are the mapping options an engine reports for a field
// of a type although they were not set, at their default value: a field
// that has them at that value is what was asked for.
var reportedDefaults = map[string]map[string]any{
	"join": {"eager_global_ordinals": true},
}

func reportedDefault(fieldType any, option string, value any) bool {
	t, _ := fieldType.(string)
	d, ok := reportedDefaults[t][option]
	return ok && reflect.DeepEqual(d, value)
}

// oneChildAsName writes a join relation's single child as its name, as
// the engines report it, whether it was given as a name or a list of one.
func oneChildAsName(rel map[string]any) map[string]any {
	out := make(map[string]any, len(rel))
	for parent, children := range rel {
		if l, ok := children.([]any); ok && len(l) == 1 {
			children = l[0]
		}
		out[parent] = children
	}
	return out
}

// asMap is v as a map (a copy, so that callers may delete from it), or an
// empty map.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	return out
}

func compact(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}
