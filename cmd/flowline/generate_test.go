package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv/generated"
	"github.com/flowline/flowline/pkg/zeebejson"
	"github.com/flowline/flowline/services/ingest/replay"
)

var summaryRecords = regexp.MustCompile(`: (\d+) records to `)

func TestGenerateOut(t *testing.T) {
	tests := []struct {
		file string
		args []string
	}{
		{"typical.ndjson", []string{"--workload", "typical", "--instances", "25", "--partitions", "2"}},
		{"realistic.ndjson.gz", []string{"--workload", "realistic", "--instances", "15", "--partitions", "4", "--items", "3",
			"--incident-rate", "0.2", "--cancel-rate", "0.2", "--running-rate", "0.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			var out, errOut bytes.Buffer
			if code := run(append([]string{"generate", "--out", path, "--seed", "3", "--start", "2026-11-23T12:00:00Z"}, tt.args...), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			got := generated.Read(t, path)
			m := summaryRecords.FindStringSubmatch(out.String())
			if m == nil || m[1] != strconv.Itoa(got.Records) {
				t.Errorf("summary %q does not count the %d records in the file", out.String(), got.Records)
			}
			partitions, _ := strconv.Atoi(tt.args[5])
			if len(got.Partitions) != partitions {
				t.Errorf("records on %d partitions, want %d", len(got.Partitions), partitions)
			}
			instances, _ := strconv.Atoi(tt.args[3])
			for key, intent := range got.Instances {
				if intent != "ELEMENT_COMPLETED" && intent != "ELEMENT_TERMINATED" && intent != "ELEMENT_ACTIVATED" {
					t.Errorf("instance %d stops at %s", key, intent)
				}
			}
			if len(got.Roots) != instances {
				t.Errorf("%d root instances in the file, want %d", len(got.Roots), instances)
			}
			if !strings.Contains(out.String(), strconv.Itoa(instances)+" process instances") {
				t.Errorf("summary %q does not name %d instances", out.String(), instances)
			}
			if tt.args[1] == "realistic" && (len(got.Incidents) == 0 || len(got.Tasks) == 0 || got.Decisions == 0 || len(got.Instances) <= instances) {
				t.Errorf("realistic file: %d incidents, %d user tasks, %d decisions, %d instances (want called ones too)",
					len(got.Incidents), len(got.Tasks), got.Decisions, len(got.Instances))
			}
			// the same seed gives the same file
			again := filepath.Join(t.TempDir(), tt.file)
			if code := run(append([]string{"generate", "--out", again, "--seed", "3", "--start", "2026-11-23T12:00:00Z"}, tt.args...), io.Discard, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if a, b := readAll(t, path), readAll(t, again); !bytes.Equal(a, b) {
				t.Error("the same seed gave a different file")
			}
		})
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(gz); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestGenerateFlagErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.ndjson")
	tests := []struct {
		args    []string
		mention string
	}{
		{[]string{"--workload", "huge", "--out", out}, "--workload"},
		{[]string{"--instances", "0", "--out", out}, "--instances"},
		{[]string{"--partitions", "0", "--out", out}, "--partitions"},
		{[]string{"--partitions", "5000", "--out", out}, "--partitions"},
		{[]string{"--rate", "-1", "--out", out}, "--rate"},
		{[]string{"--ingest", "http://127.0.0.1:1", "--out", out}, "exclude each other"},
		{[]string{"--ingest", "ftp://x", "--instances", "1"}, "--ingest"},
		{[]string{"--incident-rate", "2", "--out", out}, "--incident-rate"},
		{[]string{"--cancel-rate", "-0.5", "--out", out}, "--cancel-rate"},
		{[]string{"--cancel-rate", "0.7", "--running-rate", "0.7", "--out", out}, "--running-rate"},
		{[]string{"--items", "0", "--out", out}, "--items"},
		{[]string{"--batch", "0", "--out", out}, "--batch"},
		{[]string{"--start", "yesterday", "--out", out}, "--start"},
		{[]string{"--live", "--out", out}, "--live"},
		{[]string{"--live", "--start", "2026-11-23T12:00:00Z", "--ingest", "http://127.0.0.1:1"}, "--live and --start"},
		{[]string{"--instances", "many", "--out", out}, "-instances"},
		{[]string{"--out", out, "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"generate"}, tt.args...), &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (usage): %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.mention) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.mention)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused invocation wrote the output file")
	}
}

// TestIngestURLTakesTheBaseOrThePushURL: replay's and generate's --ingest
// (and FLOWLINE_INGEST_URL, their default) take ingest's base URL or its
// push URL; anything else is refused with what it should be.
func TestIngestURLTakesTheBaseOrThePushURL(t *testing.T) {
	for _, tt := range []struct{ flag, env, want string }{
		{"http://ingest:8080", "", "http://ingest:8080/v1/records"},
		{"http://ingest:8080/", "", "http://ingest:8080/v1/records"},
		{"https://ingest.example/v1/records", "", "https://ingest.example/v1/records"},
		{"http://10.0.0.1:8080/custom/path", "", "http://10.0.0.1:8080/custom/path"},
		{"", "http://from-env:9", "http://from-env:9/v1/records"},
		{"", "", "http://127.0.0.1:8080/v1/records"},
		{"http://flag:1", "http://from-env:9", "http://flag:1/v1/records"},
		{"ftp://x", "", ""},
		{"ingest:8080", "", ""},
		{"", "not a url", ""},
	} {
		t.Run(tt.flag+" "+tt.env, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("FLOWLINE_INGEST_URL", tt.env)
			}
			got, err := ingestURL(tt.flag)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "base URL (http://host:port) or push URL") {
					t.Fatalf("ingestURL(%q) = %q, %v; want an error saying what it takes", tt.flag, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ingestURL(%q) = %q, %v; want %q", tt.flag, got, err, tt.want)
			}
		})
	}
	// generate without --out goes to FLOWLINE_INGEST_URL, as replay does.
	t.Setenv("FLOWLINE_INGEST_URL", "http://from-env:9")
	fs, o := generateFlags()
	if err := parseFlags(fs, []string{"--instances", "1"}); err != nil {
		t.Fatal(err)
	}
	if err := o.check(); err != nil || o.ingest != "http://from-env:9/v1/records" {
		t.Errorf("generate's ingest %q (%v), want FLOWLINE_INGEST_URL's push URL", o.ingest, err)
	}
}

func TestGenerateHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"generate", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"-workload", "-instances", "-partitions", "-rate", "-ingest", "-out", "-seed", "-incident-rate", "-cancel-rate", "-token", "-batch"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help lacks %s", f)
		}
	}
	out.Reset()
	if code := run([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "generate") {
		t.Errorf("flowline --help does not list generate:\n%s", out.String())
	}
}

func TestGenerateToStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"generate", "--out", "-", "--instances", "2", "--partitions", "1"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) < 100 { // and every one a record: the summary goes to stderr
		t.Fatalf("%d lines on stdout, want two typical instances", len(lines))
	}
	for i, l := range lines {
		if _, err := zeebejson.Decode(l); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}

// memSink keeps what pump writes, batch by batch.
type memSink struct{ batches [][]byte }

func (s *memSink) write(_ context.Context, body []byte, _ int) error {
	s.batches = append(s.batches, bytes.Clone(body))
	return nil
}
func (s *memSink) close() error           { return nil }
func (s *memSink) name() string           { return "memory" }
func (s *memSink) answer() *replay.Answer { return nil }

// TestPumpLiveStampsRecordsWhenSent: with a stamp (generate --live), every
// record of a batch carries the stamp taken when that batch was sent, not
// the simulated clock; without one, the simulated clock stays. Apart from
// the timestamps, both send the same records in the same order.
func TestPumpLiveStampsRecordsWhenSent(t *testing.T) {
	unstamped := map[bool][]string{}
	for _, live := range []bool{false, true} {
		t.Run(fmt.Sprintf("live=%v", live), func(t *testing.T) {
			gen, err := simulate.NewGenerator(simulate.Config{Workload: simulate.Typical, Instances: 3, Partitions: 2, Seed: 1,
				Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			var stamp func() int64
			stamps := int64(0)
			if live {
				stamp = func() int64 { stamps++; return 1_900_000_000_000 + stamps }
			}
			sink := &memSink{}
			if _, err := pump(context.Background(), gen, sink, 0, 25, stamp, nil); err != nil {
				t.Fatal(err)
			}
			if len(sink.batches) < 2 {
				t.Fatalf("%d batches, want several", len(sink.batches))
			}
			for b, body := range sink.batches {
				for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
					var r struct{ Timestamp int64 }
					if err := json.Unmarshal(line, &r); err != nil {
						t.Fatal(err)
					}
					unstamped[live] = append(unstamped[live], strings.Replace(string(line), fmt.Sprintf(`"timestamp":%d,`, r.Timestamp), "", 1))
					simulated := r.Timestamp < time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
					if want := 1_900_000_000_000 + int64(b) + 1; live && r.Timestamp != want {
						t.Fatalf("batch %d: timestamp %d, want the stamp of its sending %d", b, r.Timestamp, want)
					} else if !live && !simulated {
						t.Fatalf("batch %d: timestamp %d is not the simulated clock's", b, r.Timestamp)
					}
				}
			}
			if live && stamps != int64(len(sink.batches)) {
				t.Errorf("%d stamps for %d batches", stamps, len(sink.batches))
			}
		})
	}
	if len(unstamped[false]) == 0 || !slices.Equal(unstamped[false], unstamped[true]) {
		t.Errorf("live and simulated runs differ beyond timestamps: %d and %d records", len(unstamped[false]), len(unstamped[true]))
	}
}
