package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandsNeverPrintAURLPassword: a URL with credentials that a command
// rejects is named in the error without them.
func TestCommandsNeverPrintAURLPassword(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"ingest NATS URL", map[string]string{"FLOWLINE_NATS_URL": "http://flow:s3cret@broker:4222"}, []string{"ingest"}},
		{"writer Elasticsearch URL", map[string]string{"FLOWLINE_ES_URL": "ftp://elastic:s3cret@es:9200"}, []string{"writer"}},
		{"zeebe import URL", map[string]string{"FLOWLINE_ZEEBE_IMPORT_URL": "ftp://elastic:s3cret@es:9200"}, []string{"zeebe-import"}},
		{"c7 import URL", map[string]string{"FLOWLINE_C7_URL": "ftp://operator:s3cret@engine:8080/engine-rest"}, []string{"c7-import"}},
		{"replay ingest URL", map[string]string{"FLOWLINE_INGEST_URL": "ftp://user:s3cret@ingest:8080"}, []string{"replay", "--no-checkpoint", "/no/such/file.ndjson"}},
		{"generate --ingest", nil, []string{"generate", "--ingest", "ftp://user:s3cret@ingest:8080", "--instances", "1", "--partitions", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code == 0 {
				t.Fatalf("accepted: %s", out.String())
			}
			if msg := errOut.String() + out.String(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "xxxxx@") {
				t.Errorf("want the URL named without its password, got %q", msg)
			}
		})
	}
}
