package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
)

// helpOf runs `flowline <cmd> --help` and returns its output.
func helpOf(t *testing.T, cmd string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{cmd, "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("%s --help: exit %d: %s", cmd, code, errOut.String())
	}
	return out.String()
}

// squeezed is text with each line's runs of blanks collapsed to one, so
// that rows of differently aligned tables compare equal.
func squeezed(text string) []string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// checkHelpHasSection reports every variable row (name, default,
// description) of the config section spec that `flowline <cmd> --help`
// does not list.
func checkHelpHasSection(t *testing.T, cmd string, spec any) {
	t.Helper()
	var want strings.Builder
	if err := config.Usage(&want, spec); err != nil {
		t.Fatal(err)
	}
	rows := squeezed(want.String())[1:] // past the header
	if len(rows) < 5 {
		t.Fatalf("the section lists only %v", rows)
	}
	help := squeezed(helpOf(t, cmd))
	for _, row := range rows {
		if !slices.Contains(help, row) {
			t.Errorf("flowline %s --help lacks the row %q", cmd, row)
		}
	}
}

// Every variable of the c7 import is in c7-import's and dev's --help, every
// variable of the c7 fold in aggregator's and dev's, each with its default.
func TestHelpListsTheC7Sections(t *testing.T) {
	imp, fold := c7import.NewConfig(), c7fold.NewConfig()
	for _, cmd := range []string{"c7-import", "dev"} {
		checkHelpHasSection(t, cmd, &imp)
	}
	for _, cmd := range []string{"aggregator", "dev"} {
		checkHelpHasSection(t, cmd, &fold)
	}
	if h := helpOf(t, "c7-import"); strings.Contains(h, "FLOWLINE_C7_FOLD_") || strings.Contains(h, "FLOWLINE_INGEST_ADDR") || strings.Contains(h, "FLOWLINE_ES_URL") {
		t.Errorf("c7-import --help lists settings of services it does not run:\n%s", h)
	}
	if h := helpOf(t, "aggregator"); strings.Contains(h, "FLOWLINE_C7_URL") {
		t.Errorf("aggregator --help lists the import's FLOWLINE_C7_URL:\n%s", h)
	}
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "c7-import") || !strings.Contains(out.String(), "Optimize REST API") {
		t.Errorf("flowline (exit %d) does not list c7-import:\n%s", code, out.String())
	}
}

// dev points the c7 import and fold at its own NATS like every other
// service, runs the import only with FLOWLINE_C7_URL, and names the c7 list
// view (under the writer's index prefix) in its ready line then.
func TestDevC7Services(t *testing.T) {
	const natsURL, esURL = "nats://127.0.0.1:14222", "http://elastic:s3cret@127.0.0.1:19200"
	t.Setenv("FLOWLINE_NATS_URL", "nats://elsewhere:4222")
	t.Setenv("FLOWLINE_C7_URL", "")
	t.Setenv("FLOWLINE_INDEX_PREFIX", "demo")
	off, err := loadDevServices(natsURL, esURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if off.c7Import.Enabled() {
		t.Error("the c7 import is on without FLOWLINE_C7_URL")
	}
	line := devReadyLine("127.0.0.1:8080", esURL, natsURL, "127.0.0.1:9600", off)
	if strings.Contains(line, "c7") {
		t.Errorf("ready line without the import names a c7 index: %s", line)
	}
	for _, w := range []string{"/demo-list-view/_search", "/demo-flownode-instance/_search", "http://127.0.0.1:8080/v1/records"} {
		if !strings.Contains(line, w) {
			t.Errorf("ready line lacks %q: %s", w, line)
		}
	}

	t.Setenv("FLOWLINE_C7_URL", "http://operator:pa55@127.0.0.1:18080/engine-rest")
	t.Setenv("FLOWLINE_C7_SOURCE", "plant1")
	on, err := loadDevServices(natsURL, esURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !on.c7Import.Enabled() {
		t.Fatal("the c7 import is off with FLOWLINE_C7_URL set")
	}
	if on.c7Import.NATS.URL != natsURL || on.c7Fold.NATS.URL != natsURL {
		t.Errorf("c7 import on %q, fold on %q; want dev's NATS %s", on.c7Import.NATS.URL, on.c7Fold.NATS.URL, natsURL)
	}
	line = devReadyLine("127.0.0.1:8080", esURL, natsURL, "127.0.0.1:9600", on)
	for _, w := range []string{"/demo-list-view/_search", "/demo-c7-list-view/_search", "source plant1", "127.0.0.1:18080/engine-rest"} {
		if !strings.Contains(line, w) {
			t.Errorf("ready line lacks %q: %s", w, line)
		}
	}
	if strings.Contains(line, "s3cret") || strings.Contains(line, "pa55") {
		t.Errorf("ready line shows a password: %s", line)
	}
}

// An aggregator process runs the aggregator and the c7 fold side by side:
// on a real JetStream both become ready (the fold with no Camunda 7 pages
// to fold), and the fold has created its state bucket.
func TestAggregatorProcessRunsTheC7Fold(t *testing.T) {
	ns := testenv.NATS(t)
	cfg, fold := aggregator.NewConfig(), c7fold.NewConfig()
	for _, c := range []any{&cfg, &fold} {
		if err := config.Process(c); err != nil { // the defaults
			t.Fatal(err)
		}
	}
	cfg.NATS, fold.NATS = testenv.NATSConfig(ns), testenv.NATSConfig(ns)
	cfg.Streams, fold.Streams = testenv.Streams(), testenv.Streams()
	if err := config.ValidateAll(cfg, fold); err != nil {
		t.Fatal(err)
	}
	p := &process{log: testenv.Logger(t), tracer: sdktrace.NewTracerProvider(), registry: prometheus.NewRegistry()}
	services := aggregatorServices(cfg, fold, p)
	var names []string
	for _, s := range services {
		names = append(names, s.Name())
	}
	if want := []string{"aggregator", "c7-fold"}; !slices.Equal(names, want) {
		t.Fatalf("aggregator process runs %v, want %v", names, want)
	}
	testenv.Run(t, services...)
	conn := testenv.Connect(t, ns)
	if _, err := conn.JS.KeyValue(context.Background(), fold.StateBucket); err != nil {
		t.Errorf("the c7 fold's state bucket %s: %v", fold.StateBucket, err)
	}
}
