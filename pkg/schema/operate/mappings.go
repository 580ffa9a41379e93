package operate

import (
	"fmt"
	"strings"

	"github.com/flowline/flowline/pkg/config"
)

// Mappings returns the index's mappings as the engine's template has them:
// {"dynamic": "strict", "properties": {...}}, each field with its type and
// the options for the engine, and an object field written without "type"
// and with its children under "properties" (when it has children). The
// result is freshly built; the caller may change it.
//
// It panics on an unknown engine or on a field whose parent is not an
// object field listed before it (a mistake in this package's tables).
func (ix Index) Mappings(engine config.Engine) map[string]any {
	engineOK(engine)
	root := map[string]any{}
	byPath := map[string]map[string]any{} // object fields by path
	for _, f := range ix.Fields {
		parent, name := root, f.Path
		if i := strings.LastIndexByte(f.Path, '.'); i >= 0 {
			p, ok := byPath[f.Path[:i]]
			if !ok {
				panic(fmt.Sprintf("operate: %s: field %q comes before its parent object", ix.Name, f.Path))
			}
			props, _ := p["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				p["properties"] = props
			}
			parent, name = props, f.Path[i+1:]
		}
		if _, dup := parent[name]; dup {
			panic(fmt.Sprintf("operate: %s: field %q listed twice", ix.Name, f.Path))
		}
		prop := map[string]any{}
		if f.Type == "object" {
			byPath[f.Path] = prop
		} else {
			prop["type"] = f.Type
		}
		only := f.OnlyES
		if engine == config.EngineOpenSearch {
			only = f.OnlyOS
		}
		for _, opts := range []map[string]any{f.Options, only} {
			for k, v := range opts {
				prop[k] = copyValue(v)
			}
		}
		parent[name] = prop
	}
	return map[string]any{"dynamic": "strict", "properties": root}
}

// Settings returns the index settings the engine's template has: the
// analysis components of ix.Analysis, spelled as that engine's template
// spells them, and on Elasticsearch index.refresh_interval when
// RefreshIntervalES is set. An index without either gets an empty map.
//
// number_of_shards and number_of_replicas are not included; the caller adds
// them from its configuration (on Elasticsearch into the "index" object if
// the result has one, or as top-level keys, which both engines read alike).
func (ix Index) Settings(engine config.Engine) map[string]any {
	engineOK(engine)
	settings := map[string]any{}
	if engine == config.EngineElasticsearch {
		if ix.Analysis&PathTree != 0 {
			settings["analysis"] = map[string]any{
				"analyzer": map[string]any{
					"ca_path_tree": map[string]any{"tokenizer": "ca_hierarchy"},
				},
				"tokenizer": map[string]any{
					"ca_hierarchy": map[string]any{"type": "path_hierarchy", "delimiter": "/"},
				},
			}
		}
		index := map[string]any{}
		if ix.Analysis&CaseInsensitive != 0 {
			index["analysis"] = map[string]any{
				"normalizer": map[string]any{
					"case_insensitive": map[string]any{"type": "custom", "filter": "lowercase"},
				},
			}
		}
		if ix.RefreshIntervalES != "" {
			index["refresh_interval"] = ix.RefreshIntervalES
		}
		if len(index) > 0 {
			settings["index"] = index
		}
		return settings
	}

	analysis := map[string]any{}
	if ix.Analysis&PathTree != 0 {
		analysis["analyzer"] = map[string]any{
			"ca_path_tree": map[string]any{"type": "custom", "tokenizer": "ca_hierarchy"},
		}
		analysis["tokenizer"] = map[string]any{
			"ca_hierarchy": map[string]any{
				"type":        "path_hierarchy",
				"delimiter":   "/",
				"replacement": "/",
				"buffer_size": 1024,
				"reverse":     false,
				"skip":        0,
			},
		}
	}
	if ix.Analysis&CaseInsensitive != 0 {
		analysis["normalizer"] = map[string]any{
			"case_insensitive": map[string]any{
				"type":        "custom",
				"char_filter": []string{},
				"filter":      []string{"lowercase"},
			},
		}
	}
	if len(analysis) > 0 {
		settings["analysis"] = analysis
	}
	return settings
}

// copyValue copies the maps and slices of an option value, so that a
// caller changing a result of Mappings does not change the tables.
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = copyValue(x)
		}
		return out
	case []string:
		return append([]string{}, v...)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyValue(x)
		}
		return out
	default:
		return v
	}
}
