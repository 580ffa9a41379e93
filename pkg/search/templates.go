package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
)

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
		if _, err := read(c.Indices.PutIndexTemplate(name, bytes.NewReader(body),
			c.Indices.PutIndexTemplate.WithContext(ctx)))("put index template " + name); err != nil {
			return err
		}
		index := schema.RuntimeIndex(idx.Prefix, f)
		b, err := read(c.Indices.Create(index, c.Indices.Create.WithContext(ctx)))("create index " + index)
		if err != nil && !alreadyExists(err, b) {
			return err
		}
	}
	return nil
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
	_, err := read(c.Indices.Refresh(c.Indices.Refresh.WithIndex(indices...),
		c.Indices.Refresh.WithContext(ctx)))(fmt.Sprintf("refresh %v", indices))
	return err
}
