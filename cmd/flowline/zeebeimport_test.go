package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestZeebeImportCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"zeebe-import", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d: %s", code, errOut.String())
	}
	for _, w := range []string{"FLOWLINE_ZEEBE_IMPORT_URL", "FLOWLINE_ZEEBE_IMPORT_INDEX_PREFIX", "zeebe-record",
		"FLOWLINE_ZEEBE_IMPORT_SETTLE", "5s", "FLOWLINE_ZEEBE_IMPORT_BUCKET", "flowline-zeebe-import", "FLOWLINE_NATS_URL"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q", w)
		}
	}
	if strings.Contains(out.String(), "FLOWLINE_INGEST_ADDR") {
		t.Error("help lists the push API's address, which the import does not use")
	}
	out.Reset()
	if code := run([]string{"ingest", "--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "FLOWLINE_ZEEBE_IMPORT_URL") {
		t.Errorf("ingest --help (exit %d) does not list the import settings", code)
	}

	tests := []struct {
		env     map[string]string
		mention string
	}{
		{nil, "FLOWLINE_ZEEBE_IMPORT_URL is required"},
		{map[string]string{"FLOWLINE_ZEEBE_IMPORT_URL": "http://127.0.0.1:1", "FLOWLINE_ZEEBE_IMPORT_PAGE_SIZE": "0"}, "FLOWLINE_ZEEBE_IMPORT_PAGE_SIZE"},
	}
	for _, tt := range tests {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		errOut.Reset()
		if code := run([]string{"zeebe-import"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), tt.mention) {
			t.Errorf("env %v: exit %d, stderr %q, want 1 naming %s", tt.env, code, errOut.String(), tt.mention)
		}
	}
}
