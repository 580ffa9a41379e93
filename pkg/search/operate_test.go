package search_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/pkg/search"
)

// TestEnsureOperateSchemaOnOpenSearch installs Camunda 8.8's Operate and
// Tasklist indices on OpenSearch (the engine here whose modules hold their
// analysis and join fields): every index with its alias, the templates
// over the dated archives, strict mappings that refuse an extra field; a
// second run adopts what the first made; an existing index with other
// mappings is refused, naming the field.
func TestEnsureOperateSchemaOnOpenSearch(t *testing.T) {
	c, _ := testenv.Search(t, config.EngineOpenSearch)
	ctx := context.Background()
	prefix := testenv.IndexPrefix(t)
	t.Cleanup(func() {
		_ = search.DeleteIndices(context.Background(), c, prefix+"-*")
		_ = search.DeleteIndexTemplates(context.Background(), c, prefix+"-*")
	})
	idx := config.Index{Shards: 1, Replicas: 0}
	if err := search.EnsureOperateSchema(ctx, c, withPrefix(idx, prefix)); err != nil {
		t.Fatal(err)
	}
	for _, ix := range operate.Indices {
		if _, err := c.Do(ctx, search.Request{Method: http.MethodHead, Path: "/" + ix.FQN(prefix) + "/_alias/" + ix.Alias(prefix), What: "alias of " + ix.Name}); err != nil {
			t.Errorf("%s: %v", ix.FQN(prefix), err)
		}
		_, err := c.Do(ctx, search.Request{Method: http.MethodHead, Path: "/_index_template/" + ix.TemplateName(prefix), What: "template of " + ix.Name})
		if ix.Template && err != nil {
			t.Errorf("%s: template: %v", ix.FQN(prefix), err)
		}
	}
	// A dated archive index gets the template's mappings and the alias.
	lv := operate.ListView
	archive := lv.ArchiveIndex(prefix, "2026-12-06")
	if err := search.CreateIndex(ctx, c, archive, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, search.Request{Method: http.MethodHead, Path: "/" + archive + "/_alias/" + lv.Alias(prefix), What: "alias of the archive"}); err != nil {
		t.Errorf("archive %s lacks the alias: %v", archive, err)
	}
	// dynamic: strict.
	_, err := c.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + lv.FQN(prefix) + "/_doc/1", What: "index a stray field",
		Body: []byte(`{"id":"1","key":1,"joinRelation":{"name":"processInstance"},"notInCamundasSchema":true}`)})
	if !errors.Is(err, search.ErrRejected) || !strings.Contains(err.Error(), "strict") {
		t.Errorf("a document with an unknown field: err = %v; want a strict-mapping rejection", err)
	}
	// Again: everything exists and is adopted.
	if err := search.EnsureOperateSchema(ctx, c, withPrefix(idx, prefix)); err != nil {
		t.Fatalf("second run: %v", err)
	}

	// Camunda's own template with the same mappings is kept as it is.
	camunda := testenv.IndexPrefix(t)
	t.Cleanup(func() {
		_ = search.DeleteIndices(context.Background(), c, camunda+"-*")
		_ = search.DeleteIndexTemplates(context.Background(), c, camunda+"-*")
	})
	tmpl, _ := json.Marshal(map[string]any{"index_patterns": []string{lv.Pattern(camunda)}, "_meta": map[string]any{"madeBy": "camunda"},
		"template": map[string]any{"settings": lv.Settings(config.EngineOpenSearch), "mappings": lv.Mappings(config.EngineOpenSearch)}})
	if _, err := c.Do(ctx, search.Request{Method: http.MethodPut, Path: "/_index_template/" + lv.TemplateName(camunda), Body: tmpl, What: "Camunda's template"}); err != nil {
		t.Fatal(err)
	}
	if err := search.EnsureOperateSchema(ctx, c, withPrefix(idx, camunda)); err != nil {
		t.Fatalf("beside Camunda's template: %v", err)
	}
	b, err := c.Do(ctx, search.Request{Method: http.MethodGet, Path: "/_index_template/" + lv.TemplateName(camunda), What: "template"})
	if err != nil || !strings.Contains(string(b), `"madeBy":"camunda"`) {
		t.Errorf("Camunda's template was replaced: %s %v", b, err)
	}

	// An existing index with other mappings is refused.
	other := testenv.IndexPrefix(t)
	t.Cleanup(func() {
		_ = search.DeleteIndices(context.Background(), c, other+"-*")
		_ = search.DeleteIndexTemplates(context.Background(), c, other+"-*")
	})
	if _, err := c.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + operate.Process.FQN(other), What: "a foreign index",
		Body: []byte(`{"mappings":{"dynamic":"strict","properties":{"id":{"type":"keyword"},"key":{"type":"long"}}}}`)}); err != nil {
		t.Fatal(err)
	}
	err = search.EnsureOperateSchema(ctx, c, withPrefix(idx, other))
	if !errors.Is(err, search.ErrIncompatibleSchema) || !strings.Contains(err.Error(), "field key is") || !strings.Contains(err.Error(), operate.Process.FQN(other)) {
		t.Errorf("foreign mappings: err = %v; want ErrIncompatibleSchema naming the index and the field key", err)
	}
}

func withPrefix(idx config.Index, prefix string) config.Index {
	idx.Prefix = prefix
	return idx
}
