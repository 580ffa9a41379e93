// Package operate describes the indices that Camunda 8.8's exporter writes
// for Operate and Tasklist, which Flowline writes instead in its
// Operate-compatible schema mode (FLOWLINE_SCHEMA=operate): their names,
// versions, aliases, templates, settings and mappings, for Elasticsearch and
// OpenSearch.
//
// The mappings are Flowline's own, written from the interface facts in
// testdata/camunda-8.8 (field names, types and options, each file citing
// the Camunda template path and commit it was read from); the tests check
// them against those facts field by field. No Camunda file is copied.
//
// Names follow Camunda: the runtime index of an Index is
// [<prefix>-]<component>-<name>-<version>_ (FQN), its alias FQN+"alias", its
// template FQN+"template" matching FQN+"*" (the runtime index and the dated
// archive indices FQN+<date>). Camunda's default prefix is empty.
package operate

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/flowline/flowline/pkg/config"
)

// Analysis names the analysis components an index's settings define.
type Analysis uint8

const (
	// PathTree is the ca_path_tree analyzer over the ca_hierarchy
	// path_hierarchy tokenizer (delimiter "/"), for tree paths.
	PathTree Analysis = 1 << iota
	// CaseInsensitive is the case_insensitive normalizer (lowercase), for
	// names searched without regard to case.
	CaseInsensitive
)

// Field is one property of an index's mappings, at any depth.
type Field struct {
	// Path is the property's dotted path, e.g. "joinRelation" or
	// "customHeaders.key"; a parent comes before its children.
	Path string
	// Type is the mapping type; "object" for a property with only
	// sub-properties (written without a type).
	Type string
	// Options are the property's other mapping keys that both engines'
	// templates carry (e.g. "ignore_above": 8191, "relations": ...).
	Options map[string]any
	// OnlyES and OnlyOS are options only the Elasticsearch, or only the
	// OpenSearch, template carries.
	OnlyES, OnlyOS map[string]any
}

// Index is one of Camunda's Operate or Tasklist indices.
type Index struct {
	Component string // "operate" or "tasklist"
	Name      string // e.g. "list-view"
	Version   string // e.g. "8.3.0"
	// Template is true for an index with an index template and dated
	// archive indices (Camunda's IndexTemplateDescriptor), false for a
	// plain index (definitions: process, decision, form...).
	Template bool
	// Analysis is what the index's settings define.
	Analysis Analysis
	// RefreshIntervalES is the index.refresh_interval the Elasticsearch
	// template sets ("" none).
	RefreshIntervalES string
	// Fields are every property of the mappings (dynamic: strict).
	Fields []Field
}

// FQN is the runtime index name: [<prefix>-]<component>-<name>-<version>_.
func (ix Index) FQN(prefix string) string {
	name := fmt.Sprintf("%s-%s-%s_", ix.Component, ix.Name, ix.Version)
	if prefix == "" {
		return name
	}
	return prefix + "-" + name
}

// Family is the index's name as a document family on the documents
// stream: <component>-<name>, e.g. "operate-list-view".
func (ix Index) Family() string { return ix.Component + "-" + ix.Name }

// Alias is the index's alias (Operate and Tasklist read through it).
func (ix Index) Alias(prefix string) string { return ix.FQN(prefix) + "alias" }

// TemplateName is the name of the index's template (Template indices).
func (ix Index) TemplateName(prefix string) string { return ix.FQN(prefix) + "template" }

// Pattern matches the runtime index and its dated archive indices.
func (ix Index) Pattern(prefix string) string { return ix.FQN(prefix) + "*" }

// ArchiveIndex is the dated archive index of the runtime index for a date
// suffix (e.g. "2026-12-06").
func (ix Index) ArchiveIndex(prefix, date string) string { return ix.FQN(prefix) + date }

// Undeclared lists the fields of a JSON document (by dotted path, sorted)
// that the index's strict mappings do not declare: the engine would refuse
// the document for any of them. Inside a join field or an object whose
// mapping disables it, anything goes. A source that is not a JSON object is
// reported as "(not a JSON object)".
func (ix Index) Undeclared(source []byte) []string {
	known := map[string]string{}
	for _, f := range ix.Fields {
		known[f.Path] = f.Type
		if f.Options["enabled"] == false {
			known[f.Path] = "disabled" // its content is not parsed
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(source, &doc); err != nil {
		return []string{"(not a JSON object)"}
	}
	var bad []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := prefix + k
			typ, ok := known[path]
			switch {
			case !ok:
				bad = append(bad, path)
				continue
			case typ == "join" || typ == "disabled":
				continue
			}
			switch x := v.(type) {
			case map[string]any:
				walk(path+".", x)
			case []any:
				for _, e := range x {
					if em, ok := e.(map[string]any); ok {
						walk(path+".", em)
					}
				}
			}
		}
	}
	walk("", doc)
	sort.Strings(bad)
	return bad
}

// engineOK panics on an engine that is neither; callers pass a resolved
// engine (search.Client.Engine).
func engineOK(e config.Engine) {
	if e != config.EngineElasticsearch && e != config.EngineOpenSearch {
		panic(fmt.Sprintf("operate: unknown engine %q", e))
	}
}
