package ingest

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

func TestPollBackoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		name       string
		start, max time.Duration
		factor     float64
		resetAfter int // call Reset after this many Next calls (0: never)
		want       []time.Duration
	}{
		{"grows x1.5 to the cap", s, 30 * s, 1.5, 0, []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond}},
		{"stays at the cap", s, 2 * s, 1.5, 0, []time.Duration{s, 1500 * time.Millisecond, 2 * s, 2 * s, 2 * s}},
		{"reset starts over", s, 30 * s, 1.5, 3, []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, s, 1500 * time.Millisecond}},
		{"factor 1 is constant", 200 * time.Millisecond, s, 1, 0, []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newPollBackoff(tt.start, tt.factor, tt.max)
			var got []time.Duration
			for i := range tt.want {
				if tt.resetAfter > 0 && i == tt.resetAfter {
					b.Reset()
				}
				got = append(got, b.Next())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays %v, want %v", got, tt.want)
			}
		})
	}
	// Over many idle rounds the defaults reach 30 s and stay there.
	b := newPollBackoff(s, 1.5, 30*s)
	var last time.Duration
	for range 20 {
		last = b.Next()
	}
	if last != 30*s {
		t.Errorf("after 20 idle rounds the pause is %s, want 30s", last)
	}
}

// doc builds a decoded source document at position pos with timestamp ts.
func doc(vt string, pos, ts int64) sourceDoc {
	return sourceDoc{valueType: vt, position: pos, rec: &recordv1.Record{Position: pos, Timestamp: ts}}
}

func page(vt string, full bool, positions ...int64) sourcePage {
	pg := sourcePage{valueType: vt, full: full}
	for _, p := range positions {
		pg.docs = append(pg.docs, doc(vt, p, p))
	}
	return pg
}

func TestPlanRound(t *testing.T) {
	bad := sourceDoc{valueType: "job", position: 4, err: errors.New("missing field")}
	tests := []struct {
		name       string
		pages      []sourcePage
		settled    int64 // timestamps equal positions in these pages
		take       []int64
		cursors    map[string]int64
		frontier   int64
		full, held bool
	}{
		{"no full page takes everything",
			[]sourcePage{page("process-instance", false, 1, 2, 5), page("job", false, 3, 4)}, 100,
			[]int64{1, 2, 3, 4, 5}, map[string]int64{"process-instance": 5, "job": 4}, math.MaxInt64, false, false},
		{"a full page bounds the others",
			[]sourcePage{page("process-instance", true, 1, 2, 6), page("job", false, 3, 4, 7, 8)}, 100,
			[]int64{1, 2, 3, 4, 6}, map[string]int64{"process-instance": 6, "job": 4}, 6, true, true},
		{"the lowest full page wins",
			[]sourcePage{page("process-instance", true, 1, 2, 9), page("job", true, 3, 4, 5), page("variable", false, 6)}, 100,
			[]int64{1, 2, 3, 4, 5}, map[string]int64{"process-instance": 2, "job": 5}, 5, true, true},
		{"records not settled cut the round",
			[]sourcePage{page("process-instance", false, 1, 2, 8), page("job", false, 3, 7)}, 6,
			[]int64{1, 2, 3}, map[string]int64{"process-instance": 2, "job": 3}, 6, false, true},
		{"nothing settled takes nothing",
			[]sourcePage{page("process-instance", true, 10, 11)}, 5,
			nil, map[string]int64{}, 9, true, true},
		{"an undecodable document takes its place in the order",
			[]sourcePage{page("process-instance", false, 1, 2), {valueType: "job", docs: []sourceDoc{doc("job", 3, 3), bad}}}, 100,
			[]int64{1, 2, 3, 4}, map[string]int64{"process-instance": 2, "job": 4}, math.MaxInt64, false, false},
		{"empty pages",
			[]sourcePage{page("process-instance", false), page("job", false)}, 100,
			nil, map[string]int64{}, math.MaxInt64, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := planRound(tt.pages, tt.settled)
			var got []int64
			for _, d := range pl.take {
				got = append(got, d.position)
			}
			if !slices.Equal(got, tt.take) {
				t.Errorf("take %v, want %v", got, tt.take)
			}
			if len(pl.cursors) != len(tt.cursors) {
				t.Errorf("cursors %v, want %v", pl.cursors, tt.cursors)
			}
			for vt, c := range tt.cursors {
				if pl.cursors[vt] != c {
					t.Errorf("cursor of %s = %d, want %d", vt, pl.cursors[vt], c)
				}
			}
			if pl.frontier != tt.frontier || pl.full != tt.full || pl.held != tt.held {
				t.Errorf("frontier %d full %v held %v, want %d %v %v", pl.frontier, pl.full, pl.held, tt.frontier, tt.full, tt.held)
			}
		})
	}
}

func TestValueTypeOfIndex(t *testing.T) {
	tests := []struct {
		prefix, index, want string
		ok                  bool
	}{
		{"zeebe-record", "zeebe-record_process-instance_8.8.0_2026-11-23", "process-instance", true},
		{"zeebe-record", "zeebe-record_process-instance-creation_8.8.0_2026-11-23", "process-instance-creation", true},
		{"zeebe-record", "zeebe-record_job_8.2.11_2023-01-02", "job", true},
		{"zeebe-record", "zeebe-record-process-instance-2020-01-01", "", false}, // alias-like, not an exporter index
		{"zeebe-record", "zeebe-record_job", "", false},
		{"zeebe-record", "other_job_8.8.0_2026-11-23", "", false},
		{"my_prefix", "my_prefix_variable_8.8.0_2026-11-23", "variable", true},
	}
	for _, tt := range tests {
		got, ok := valueTypeOfIndex(tt.prefix, tt.index)
		if got != tt.want || ok != tt.ok {
			t.Errorf("valueTypeOfIndex(%q, %q) = %q, %v; want %q, %v", tt.prefix, tt.index, got, ok, tt.want, tt.ok)
		}
	}
}

func TestZeebeImportValidate(t *testing.T) {
	valid := func() ZeebeImport {
		return ZeebeImport{URL: "http://es:9200", IndexPrefix: "zeebe-record", PageSize: 1000, BackoffStart: time.Second,
			BackoffFactor: 1.5, BackoffMax: 30 * time.Second, Settle: 5 * time.Second, Bucket: "a", LeaseBucket: "b", LeaseTTL: 10 * time.Second}
	}
	tests := []struct {
		name    string
		mutate  func(*ZeebeImport)
		mention string // "" = valid
	}{
		{"valid", func(*ZeebeImport) {}, ""},
		{"disabled needs nothing else", func(c *ZeebeImport) { *c = ZeebeImport{} }, ""},
		{"bad URL", func(c *ZeebeImport) { c.URL = "es:9200" }, "FLOWLINE_ZEEBE_IMPORT_URL"},
		{"two auth methods", func(c *ZeebeImport) { c.APIKey, c.Username = "k", "u" }, "API_KEY"},
		{"uppercase prefix", func(c *ZeebeImport) { c.IndexPrefix = "Zeebe" }, "INDEX_PREFIX"},
		{"page too large", func(c *ZeebeImport) { c.PageSize = 10_001 }, "PAGE_SIZE"},
		{"max below start", func(c *ZeebeImport) { c.BackoffMax = time.Millisecond }, "BACKOFF"},
		{"shrinking factor", func(c *ZeebeImport) { c.BackoffFactor = 0.5 }, "BACKOFF"},
		{"negative settle", func(c *ZeebeImport) { c.Settle = -time.Second }, "SETTLE"},
		{"same buckets", func(c *ZeebeImport) { c.LeaseBucket = c.Bucket }, "BUCKET"},
		{"short lease", func(c *ZeebeImport) { c.LeaseTTL = time.Millisecond }, "LEASE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.mention == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.mention != "" && (err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.mention)):
				t.Fatalf("error %v, want ErrInvalid naming %s", err, tt.mention)
			}
		})
	}
	if err := (ImportConfig{ZeebeImport: ZeebeImport{IndexPrefix: "zeebe-record"}}).Validate(); err == nil || !strings.Contains(err.Error(), "FLOWLINE_ZEEBE_IMPORT_URL is required") {
		t.Errorf("standalone import without URL: %v", err)
	}
}
