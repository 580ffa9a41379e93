package main

import (
	"testing"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/writer"
)

// The services as `flowline writer` and `flowline archiver` load them: in
// the operate schema an unset FLOWLINE_INDEX_PREFIX means none (Camunda's
// default), a set one is kept; in Flowline's schema the default stays.
func TestOperateSchemaIndexPrefix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		prefix string
	}{
		{"flowline schema", map[string]string{}, "flowline"},
		{"operate schema", map[string]string{"FLOWLINE_SCHEMA": "operate"}, ""},
		{"operate schema, prefix set", map[string]string{"FLOWLINE_SCHEMA": "operate", "FLOWLINE_INDEX_PREFIX": "flowline"}, "flowline"},
		{"operate schema, own prefix", map[string]string{"FLOWLINE_SCHEMA": "operate", "FLOWLINE_INDEX_PREFIX": "c8"}, "c8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var w writer.Config
			if err := loadInto(&w); err != nil {
				t.Fatal(err)
			}
			a := archiver.NewConfig()
			if err := loadInto(&a); err != nil {
				t.Fatal(err)
			}
			if w.Index.Prefix != tc.prefix || a.Index.Prefix != tc.prefix {
				t.Errorf("writer prefix %q, archiver prefix %q; want %q", w.Index.Prefix, a.Index.Prefix, tc.prefix)
			}
			want := config.SchemaFlowline
			if tc.env["FLOWLINE_SCHEMA"] != "" {
				want = config.SchemaOperate
			}
			if w.Schema != want || a.Schema != want {
				t.Errorf("schemas %q, %q; want %q", w.Schema, a.Schema, want)
			}
		})
	}
}
