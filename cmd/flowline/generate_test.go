package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// generatedFile is what a file of generated records holds.
type generatedFile struct {
	records    int
	partitions map[int32]bool
	instances  map[int64]string // process instance key -> last lifecycle intent of its process element
	roots      map[int64]bool
	flowNodes  map[int64]bool
	incidents  map[int64]string // key -> last intent
	tasks      map[int64]string
	decisions  int // evaluated decisions (one decision-instance document each)
}

// readGenerated decodes every line of a generate --out file strictly and
// checks that positions increase per partition.
func readGenerated(t *testing.T, path string) generatedFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not gzip: %v", path, err)
		}
		r = gz
	}
	out := generatedFile{partitions: map[int32]bool{}, instances: map[int64]string{}, roots: map[int64]bool{}, flowNodes: map[int64]bool{},
		incidents: map[int64]string{}, tasks: map[int64]string{}}
	last := map[int32]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		rec, err := zeebejson.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", out.records+1, err)
		}
		out.records++
		if rec.Position <= last[rec.PartitionId] {
			t.Fatalf("line %d: position %d after %d on partition %d", out.records, rec.Position, last[rec.PartitionId], rec.PartitionId)
		}
		last[rec.PartitionId] = rec.Position
		out.partitions[rec.PartitionId] = true
		switch v := rec.Value.(type) {
		case *recordv1.Record_ProcessInstance:
			switch {
			case rec.Intent == "SEQUENCE_FLOW_TAKEN":
			case v.ProcessInstance.BpmnElementType == "PROCESS":
				out.instances[rec.Key] = rec.Intent
				if v.ProcessInstance.ParentProcessInstanceKey == -1 {
					out.roots[rec.Key] = true
				}
			default:
				out.flowNodes[rec.Key] = true
			}
		case *recordv1.Record_Incident:
			out.incidents[rec.Key] = rec.Intent
		case *recordv1.Record_UserTask:
			out.tasks[rec.Key] = rec.Intent
		case *recordv1.Record_DecisionEvaluation:
			out.decisions += len(v.DecisionEvaluation.EvaluatedDecisions)
		case *recordv1.Record_ValueJson:
			t.Fatalf("line %d: %s value not typed", out.records, rec.ValueType)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// count counts the entries of m whose value is one of states.
func count(m map[int64]string, states ...string) int {
	n := 0
	for _, s := range m {
		for _, want := range states {
			if s == want {
				n++
			}
		}
	}
	return n
}

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
			got := readGenerated(t, path)
			m := summaryRecords.FindStringSubmatch(out.String())
			if m == nil || m[1] != strconv.Itoa(got.records) {
				t.Errorf("summary %q does not count the %d records in the file", out.String(), got.records)
			}
			partitions, _ := strconv.Atoi(tt.args[5])
			if len(got.partitions) != partitions {
				t.Errorf("records on %d partitions, want %d", len(got.partitions), partitions)
			}
			instances, _ := strconv.Atoi(tt.args[3])
			for key, intent := range got.instances {
				if intent != "ELEMENT_COMPLETED" && intent != "ELEMENT_TERMINATED" && intent != "ELEMENT_ACTIVATED" {
					t.Errorf("instance %d stops at %s", key, intent)
				}
			}
			if len(got.roots) != instances {
				t.Errorf("%d root instances in the file, want %d", len(got.roots), instances)
			}
			if !strings.Contains(out.String(), strconv.Itoa(instances)+" process instances") {
				t.Errorf("summary %q does not name %d instances", out.String(), instances)
			}
			if tt.args[1] == "realistic" && (len(got.incidents) == 0 || len(got.tasks) == 0 || got.decisions == 0 || len(got.instances) <= instances) {
				t.Errorf("realistic file: %d incidents, %d user tasks, %d decisions, %d instances (want called ones too)",
					len(got.incidents), len(got.tasks), got.decisions, len(got.instances))
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
		{[]string{"--instances", "3"}, "--ingest URL or --out FILE"},
		{[]string{"--ingest", "http://127.0.0.1:1", "--out", out}, "exclude each other"},
		{[]string{"--ingest", "ftp://x", "--instances", "1"}, "--ingest"},
		{[]string{"--incident-rate", "2", "--out", out}, "--incident-rate"},
		{[]string{"--cancel-rate", "-0.5", "--out", out}, "--cancel-rate"},
		{[]string{"--cancel-rate", "0.7", "--running-rate", "0.7", "--out", out}, "--running-rate"},
		{[]string{"--items", "0", "--out", out}, "--items"},
		{[]string{"--batch", "0", "--out", out}, "--batch"},
		{[]string{"--start", "yesterday", "--out", out}, "--start"},
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
