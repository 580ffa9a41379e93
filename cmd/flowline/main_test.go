package main

import (
	"bytes"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/buildinfo"
	"github.com/flowline/flowline/pkg/config"
)

// asFlowline makes the test binary act as the flowline binary: the bench
// smoke test runs it as the services' child processes.
const asFlowline = "FLOWLINE_TEST_AS_FLOWLINE"

func TestMain(m *testing.M) {
	if v, _ := config.Lookup("TEST_AS_FLOWLINE"); v == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testenv.Main(m)
}

func TestHelpListsEveryVariableWithDefault(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"ingest", []string{"FLOWLINE_INGEST_ADDR", "127.0.0.1:8080", "FLOWLINE_NATS_URL", "FLOWLINE_ADMIN_ADDR", "FLOWLINE_INGEST_TOKEN", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"}},
		{"aggregator", []string{"FLOWLINE_AGGREGATOR_CHECKPOINT_INTERVAL", "FLOWLINE_STREAM_RECORDS_MAX_AGE",
			"FLOWLINE_C7_FOLD_STATE_BUCKET", "flowline-c7-state", "FLOWLINE_C7_FOLD_CACHE_INSTANCES", "50000", "FLOWLINE_C7_FOLD_FETCH_BATCH",
			"FLOWLINE_C7_FOLD_ACK_WAIT", "FLOWLINE_C7_FOLD_PUBLISH_TIMEOUT", "FLOWLINE_C7_FOLD_LEASE_BUCKET", "flowline-c7-fold-leases", "FLOWLINE_C7_FOLD_REPLICA_ID"}},
		{"c7-import", []string{"FLOWLINE_C7_URL", "FLOWLINE_C7_ENGINE", "FLOWLINE_C7_USERNAME", "FLOWLINE_C7_PASSWORD", "FLOWLINE_C7_SOURCE", "camunda7",
			"FLOWLINE_C7_PAGE_SIZE", "10000", "FLOWLINE_C7_BACKOFF_INTERVAL", "FLOWLINE_C7_BACKOFF_MAX", "FLOWLINE_C7_QUEUE_SIZE", "FLOWLINE_C7_CONCURRENCY",
			"FLOWLINE_C7_SETTLE", "30s", "FLOWLINE_C7_REQUEST_TIMEOUT", "FLOWLINE_C7_PUBLISH_TIMEOUT", "FLOWLINE_C7_INDEX_BUCKET", "flowline-c7-import",
			"FLOWLINE_C7_LEASE_BUCKET", "FLOWLINE_C7_LEASE_TTL", "FLOWLINE_C7_REPLICA_ID", "FLOWLINE_NATS_URL", "FLOWLINE_ADMIN_ADDR"}},
		{"writer", []string{"FLOWLINE_ES_URL", "http://127.0.0.1:9200", "FLOWLINE_INDEX_PREFIX", "flowline", "FLOWLINE_SEARCH_ENGINE", "FLOWLINE_SCHEMA"}},
		{"archiver", []string{"FLOWLINE_ES_API_KEY", "FLOWLINE_NATS_CREDS_FILE", "FLOWLINE_SEARCH_ENGINE"}},
		{"dev", []string{"FLOWLINE_DATA_DIR", "./.flowline", "FLOWLINE_INGEST_ADDR", "FLOWLINE_WRITER_WORKERS", "FLOWLINE_ES_URL", "FLOWLINE_ES_VERSION", esnode.DefaultVersion,
			"FLOWLINE_C7_URL", "FLOWLINE_C7_SOURCE", "FLOWLINE_C7_FOLD_STATE_BUCKET", "FLOWLINE_OPENSEARCH_VERSION", "FLOWLINE_SEARCH_ENGINE", "FLOWLINE_SCHEMA", "-engine", "-schema", "-workload"}},
		{"replay", []string{"FLOWLINE_INGEST_URL", "http://127.0.0.1:8080/v1/records", "FLOWLINE_INGEST_TOKEN"}},
		{"generate", []string{"FLOWLINE_INGEST_URL", "FLOWLINE_INGEST_TOKEN", "-ingest", "-out"}},
		{"bench", []string{"FLOWLINE_ES_VERSION", esnode.DefaultVersion, "FLOWLINE_C7_JAVA_HOME", "-c7", "-c7-instances"}},
		{"faults", []string{"FLOWLINE_ES_VERSION", esnode.DefaultVersion, "-rounds", "-seed", "-records", "-out", "-soak", "-lease-ttl"}},
		{"elasticsearch", []string{"FLOWLINE_ES_VERSION", esnode.DefaultVersion, "-url-file", "-heap-mb"}},
		{"opensearch", []string{"FLOWLINE_OPENSEARCH_VERSION", esnode.DefaultOpenSearchVersion, "-url-file"}},
		{"c7-engine", []string{"FLOWLINE_C7_JAVA_HOME", "-port", "-data-dir", "-url-file", "-heap-mb"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{tt.cmd, "--help"}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("help lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestHelpCommandAndVersion: `flowline help COMMAND` is COMMAND --help;
// `flowline version` and `--version` print the build's version and
// revision.
func TestHelpCommandAndVersion(t *testing.T) {
	var help, flagHelp, dashHelp, errOut bytes.Buffer
	if run([]string{"help", "archiver"}, &help, &errOut) != 0 || run([]string{"archiver", "--help"}, &flagHelp, &errOut) != 0 ||
		run([]string{"--help", "archiver"}, &dashHelp, &errOut) != 0 {
		t.Fatalf("help failed: %s", errOut.String())
	}
	if help.String() != flagHelp.String() || dashHelp.String() != help.String() || !strings.Contains(help.String(), "FLOWLINE_ARCHIVER_WAIT_PERIOD") {
		t.Errorf("flowline help archiver:\n%s\nflowline archiver --help:\n%s", help.String(), flagHelp.String())
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		want := buildinfo.Get()
		if line := out.String(); !strings.HasPrefix(line, "flowline "+want.Version+" ("+want.Revision) {
			t.Errorf("%v printed %q", args, line)
		}
	}
}

// TestMisspelledVariablesAreReported: a command reports at its start a
// FLOWLINE_ variable no command reads, with the closest known name, and
// an old name with its new one; `flowline config check` does the same and
// validates the values without running anything, exiting 1 on a problem.
func TestMisspelledVariablesAreReported(t *testing.T) {
	t.Setenv("FLOWLINE_WRITER_WORKRES", "2")
	t.Setenv("FLOWLINE_RETENTION", "30d")
	t.Setenv("FLOWLINE_INDEX_PREFIX", "UPPER") // the archiver refuses it: it stops right after the report
	var out, errOut bytes.Buffer
	if code := run([]string{"archiver"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{`"variable":"FLOWLINE_WRITER_WORKRES"`, `"did_you_mean":"FLOWLINE_WRITER_WORKERS"`, `"level":"WARN"`,
		`"variable":"FLOWLINE_RETENTION"`, `"new_name":"FLOWLINE_ARCHIVER_RETENTION"`} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %s:\n%s", want, errOut.String())
		}
	}

	t.Setenv("FLOWLINE_INDEX_PREFIX", "flowline")
	t.Setenv("FLOWLINE_ARCHIVER_WAIT_PERIOD", "1d") // days, as every duration
	out.Reset()
	if code := run([]string{"config", "check", "writer", "archiver"}, &out, &errOut); code != 1 {
		t.Fatalf("config check: exit %d, want 1 (a misspelled variable): %s", code, out.String())
	}
	for _, want := range []string{"writer         ok", "archiver       ok", "unknown variable FLOWLINE_WRITER_WORKRES: did you mean FLOWLINE_WRITER_WORKERS?",
		"deprecated variable FLOWLINE_RETENTION: rename it to FLOWLINE_ARCHIVER_RETENTION"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config check output lacks %q:\n%s", want, out.String())
		}
	}
	os.Unsetenv("FLOWLINE_WRITER_WORKRES")
	out.Reset()
	if code := run([]string{"config", "check", "writer", "archiver"}, &out, &errOut); code != 0 {
		t.Errorf("config check of a sound environment: exit %d:\n%s", code, out.String())
	}
	// The imports a command runs only when set up are not required: ingest
	// without FLOWLINE_ZEEBE_IMPORT_URL, the default set without the
	// imports' URLs; named on their own, they are.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"config", "check", "ingest", "dev"}, 0, "ingest         ok"},
		{[]string{"config", "check"}, 0, "aggregator     ok"},
		{[]string{"config", "check", "c7-import"}, 1, "FLOWLINE_C7_URL is required"},
	} {
		out.Reset()
		if code := run(tt.args, &out, &errOut); code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tt.args, code, tt.code, tt.want, out.String())
		}
	}
	t.Setenv("FLOWLINE_ARCHIVER_WAIT_PERIOD", "a while")
	out.Reset()
	if code := run([]string{"config", "check", "archiver"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), `FLOWLINE_ARCHIVER_WAIT_PERIOD="a while"`) {
		t.Errorf("config check of a bad value: exit %d:\n%s", code, out.String())
	}
}

func TestBadInvocations(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		code    int
		mention string
	}{
		{[]string{"nope"}, nil, 2, `unknown command "nope"`},
		{[]string{"dev", "--workload", "huge"}, nil, 2, "--workload"},
		{[]string{"ingest", "extra"}, nil, 2, "unexpected arguments"},
		{[]string{"faults", "--rounds", "0"}, nil, 2, "--rounds must be at least 1"},
		{[]string{"faults", "--records", "10"}, nil, 2, "--records must be at least 1000"},
		{[]string{"faults", "--soak", "10s"}, nil, 2, "--soak must be at least 1m"},
		{[]string{"writer"}, map[string]string{"FLOWLINE_INDEX_PREFIX": "UPPER"}, 1, "FLOWLINE_INDEX_PREFIX"},
		{[]string{"ingest"}, map[string]string{"FLOWLINE_NATS_URL": "http://x"}, 1, "FLOWLINE_NATS_URL"},
		{[]string{"c7-engine", "--port", "x"}, nil, 2, "-port"},
		{[]string{"c7-engine", "extra"}, nil, 2, "unexpected arguments"},
		{[]string{"c7-engine", "--port", "-1"}, nil, 1, "invalid options: Port -1"},
		{[]string{"c7-engine"}, map[string]string{"FLOWLINE_C7_JAVA_HOME": "relative/jdk"}, 1, "FLOWLINE_C7_JAVA_HOME"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": ""}, 1, "FLOWLINE_C7_URL is required"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": "   "}, 1, "FLOWLINE_C7_URL is required"},
		{[]string{"c7-import", "extra"}, nil, 2, "unexpected arguments"},
		{[]string{"c7-import", "--url", "http://x"}, nil, 2, "-url"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": "localhost:8080/engine-rest"}, 1, "FLOWLINE_C7_URL"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": "http://127.0.0.1:1/engine-rest", "FLOWLINE_C7_SOURCE": "two words"}, 1, "FLOWLINE_C7_SOURCE"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": "http://127.0.0.1:1/engine-rest", "FLOWLINE_C7_PAGE_SIZE": "0"}, 1, "FLOWLINE_C7_PAGE_SIZE"},
		{[]string{"c7-import"}, map[string]string{"FLOWLINE_C7_URL": "http://127.0.0.1:1/engine-rest", "FLOWLINE_NATS_URL": "http://nats"}, 1, "FLOWLINE_NATS_URL"},
		{[]string{"aggregator"}, map[string]string{"FLOWLINE_C7_FOLD_FETCH_BATCH": "0"}, 1, "FLOWLINE_C7_FOLD_CACHE_INSTANCES and _FETCH_BATCH"},
		{[]string{"aggregator"}, map[string]string{"FLOWLINE_C7_FOLD_LEASE_TTL": "10ms"}, 1, "FLOWLINE_C7_FOLD_LEASE_TTL"},
		// dev checks the services' settings (the c7 fold's always, the
		// import's when its URL is set) before it starts anything: NATS
		// would fail in that data dir with another error.
		{[]string{"dev"}, map[string]string{"FLOWLINE_C7_URL": "ftp://engine/engine-rest", "FLOWLINE_DATA_DIR": "/nonexistent/flowline-dev"}, 1, "FLOWLINE_C7_URL"},
		{[]string{"dev"}, map[string]string{"FLOWLINE_C7_FOLD_STATE_BUCKET": "", "FLOWLINE_DATA_DIR": "/nonexistent/flowline-dev"}, 1, "FLOWLINE_C7_FOLD_STATE_BUCKET"},
		// configuration errors in plain words, units alike everywhere
		{[]string{"writer"}, map[string]string{"FLOWLINE_WRITER_ACK_WAIT": "soon"}, 1, `FLOWLINE_WRITER_ACK_WAIT="soon": not a duration`},
		{[]string{"writer"}, map[string]string{"FLOWLINE_WRITER_WORKERS": "two"}, 1, `FLOWLINE_WRITER_WORKERS="two": want a whole number`},
		{[]string{"writer"}, map[string]string{"FLOWLINE_WRITER_BULK_MAX_BYTES": "8 parsecs"}, 1, `FLOWLINE_WRITER_BULK_MAX_BYTES="8 parsecs": not a size`},
		{[]string{"help", "nope"}, nil, 2, `unknown command "nope"`},
		{[]string{"version", "extra"}, nil, 2, "unexpected arguments"},
		{[]string{"config"}, nil, 2, "flowline config check"},
		{[]string{"config", "check", "nope"}, nil, 2, `unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(slices.Concat(tt.args, slices.Sorted(maps.Keys(tt.env))), " "), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.mention) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.mention)
			}
		})
	}
}

func TestReplayCommandLine(t *testing.T) {
	t.Setenv("FLOWLINE_INGEST_TOKEN", "do-not-print-me")
	var out, errOut bytes.Buffer
	if code := run([]string{"replay", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, flag := range []string{"-ingest", "-token", "-from-line", "-skip-invalid", "-reject-file", "-checkpoint-dir"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("--help lacks %s:\n%s", flag, out.String())
		}
	}
	if strings.Contains(out.String(), "do-not-print-me") {
		t.Error("--help prints the token")
	}
	out.Reset()
	if code := run([]string{"replay", "--ingest", "http://127.0.0.1:1/v1/records"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "no file to replay") {
		t.Errorf("no file: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"replay", "--no-checkpoint", "/no/such/file.ndjson"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut.String())
	}
	// FLOWLINE_INGEST_URL stands in for --ingest; the flag wins over it.
	t.Setenv("FLOWLINE_INGEST_URL", "ftp://not-ingest")
	errOut.Reset()
	if code := run([]string{"replay", "--no-checkpoint", "/no/such/file.ndjson"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "FLOWLINE_INGEST_URL") {
		t.Errorf("bad FLOWLINE_INGEST_URL: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"replay", "--ingest", "http://127.0.0.1:1/v1/records", "--no-checkpoint", "/no/such/file.ndjson"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Errorf("--ingest over a bad FLOWLINE_INGEST_URL: exit %d, stderr %q", code, errOut.String())
	}
}
