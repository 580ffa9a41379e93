package zeebeimport

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
		{"empty pages of value types never read hold at the stored position",
			[]sourcePage{page("process-instance", false), page("job", false)}, 100,
			nil, map[string]int64{}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := planRound(tt.pages, tt.settled, ImportProgress{}, func(seqGap) bool { return false })
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

// seqPage is a page whose documents carry sequences: positions[i] has
// sequence seqs[i].
func seqPage(vt string, positions, seqs []int64) sourcePage {
	pg := sourcePage{valueType: vt}
	for i, p := range positions {
		d := doc(vt, p, p)
		d.sequence = seqs[i]
		pg.docs = append(pg.docs, d)
	}
	return pg
}

func TestPlanRoundStopsBeforeASequenceGapUntilItIsWaitedOut(t *testing.T) {
	pages := []sourcePage{
		seqPage("job", []int64{12, 20}, []int64{8, 10}), // sequence 9 is missing: between 12 and 20
		seqPage("process-instance", []int64{11, 13, 15, 21}, []int64{30, 31, 32, 33}),
	}
	prog := ImportProgress{Cursors: map[string]int64{"job": 10, "process-instance": 9}, Sequences: map[string]int64{"job": 7, "process-instance": 29}}
	gap := seqGap{valueType: "job", after: 12, before: 20, seqAfter: 8, seqBefore: 10}

	pl := planRound(pages, 100, prog, func(g seqGap) bool { return false })
	if got := positionsOf(pl.take); !slices.Equal(got, []int64{11, 12}) || pl.frontier != 12 || !pl.held {
		t.Errorf("waiting: take %v frontier %d held %v, want [11 12] 12 true", got, pl.frontier, pl.held)
	}
	if !slices.Equal(pl.seen, []seqGap{gap}) || len(pl.skipped) != 0 {
		t.Errorf("waiting: seen %v skipped %v", pl.seen, pl.skipped)
	}
	if pl.sequences["job"] != 8 || pl.sequences["process-instance"] != 30 {
		t.Errorf("sequences %v", pl.sequences)
	}

	pl = planRound(pages, 100, prog, func(g seqGap) bool { return g == gap })
	if got := positionsOf(pl.take); !slices.Equal(got, []int64{11, 12, 13, 15, 20, 21}) || pl.held {
		t.Errorf("waited out: take %v held %v", got, pl.held)
	}
	if !slices.Equal(pl.skipped, []seqGap{gap}) {
		t.Errorf("waited out: skipped %v", pl.skipped)
	}

	// A gap right after the cursor holds the value type's cursor; a
	// repeated sequence (a re-exported copy) and documents without a
	// sequence are no gap.
	pages = []sourcePage{seqPage("job", []int64{14, 14, 16, 18}, []int64{9, 9, 0, 10}), seqPage("variable", []int64{11}, []int64{5})}
	prog = ImportProgress{Cursors: map[string]int64{"job": 10, "variable": 3}, Sequences: map[string]int64{"job": 7, "variable": 3}}
	pl = planRound(pages, 100, prog, func(g seqGap) bool { return false })
	if got := positionsOf(pl.take); len(got) != 0 || pl.frontier != 3 {
		t.Errorf("gap at the cursor: take %v frontier %d, want none and 3", got, pl.frontier)
	}
	want := []seqGap{{"job", 10, 14, 7, 9}, {"variable", 3, 11, 3, 5}}
	if !slices.Equal(pl.seen, want) {
		t.Errorf("seen %v, want %v", pl.seen, want)
	}
	prog.Sequences["job"] = 8
	pl = planRound(pages, 100, prog, func(g seqGap) bool { return g.valueType == "variable" })
	if got := positionsOf(pl.take); !slices.Equal(got, []int64{11, 14, 14, 16, 18}) {
		t.Errorf("no job gap: take %v", got)
	}
}

// TestPlanRoundWaitsForAValueTypeWhoseIndexShowsNothingYet: the
// exporter creates an index with its first document, which may become
// searchable a refresh after the rest of its bulk; records from a lagging
// exporter are already older than the settle time, so only this hold keeps
// the round from going past them.
func TestPlanRoundWaitsForAValueTypeWhoseIndexShowsNothingYet(t *testing.T) {
	pages := []sourcePage{page("process-instance", false, 11, 12, 15), page("job", false)}
	unread := seqGap{valueType: "job", after: -1, before: -1}
	tests := []struct {
		name      string
		prog      ImportProgress
		waitedOut bool
		take      []int64
		seen      []seqGap
	}{
		{"first sight holds at the stored position", ImportProgress{Position: 10, Cursors: map[string]int64{"process-instance": 10}}, false, nil, []seqGap{unread}},
		{"waited out goes past", ImportProgress{Position: 10, Cursors: map[string]int64{"process-instance": 10}}, true, []int64{11, 12, 15}, []seqGap{unread}},
		{"a value type read before does not hold", ImportProgress{Position: 10, Cursors: map[string]int64{"process-instance": 10, "job": 9}}, false, []int64{11, 12, 15}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := planRound(pages, 100, tt.prog, func(g seqGap) bool { return tt.waitedOut })
			if got := positionsOf(pl.take); !slices.Equal(got, tt.take) {
				t.Errorf("take %v, want %v", got, tt.take)
			}
			if !slices.Equal(pl.seen, tt.seen) || len(pl.skipped) != 0 {
				t.Errorf("seen %v skipped %v, want seen %v and nothing skipped", pl.seen, pl.skipped, tt.seen)
			}
		})
	}
}

func TestWatchGapsSplitsAroundWhatArrived(t *testing.T) {
	now := time.Now()
	gaps := []Gap{
		{ValueType: "job", After: 10, Before: 20, SeqAfter: 1, SeqBefore: 5, Since: now.Add(-time.Minute)},     // 2, 3, 4 missing
		{ValueType: "job", After: 30, Before: 40, SeqAfter: 7, SeqBefore: 9, Since: now.Add(-time.Minute)},     // 8 missing
		{ValueType: "job", After: 50, Before: 60, SeqAfter: 10, SeqBefore: 12, Since: now.Add(-2 * time.Hour)}, // expired
	}
	pages := []sourcePage{seqPage("job", []int64{13}, []int64{3}), seqPage("job", []int64{35}, []int64{8}), seqPage("job", nil, nil)}
	found, remain := watchGaps(gaps, pages, now, time.Hour)
	if got := positionsOf(found); !slices.Equal(got, []int64{13, 35}) {
		t.Errorf("found %v", got)
	}
	want := []Gap{
		{ValueType: "job", After: 10, Before: 13, SeqAfter: 1, SeqBefore: 3, Since: gaps[0].Since},
		{ValueType: "job", After: 13, Before: 20, SeqAfter: 3, SeqBefore: 5, Since: gaps[0].Since},
	}
	if !slices.Equal(remain, want) {
		t.Errorf("remain %+v, want %+v", remain, want)
	}
}

func positionsOf(docs []sourceDoc) []int64 {
	var out []int64
	for _, d := range docs {
		out = append(out, d.position)
	}
	return out
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
	valid := func() Config {
		return Config{
			Source: Source{URL: "http://es:9200", IndexPrefix: "zeebe-record", PageSize: 1000, BackoffStart: config.Duration(time.Second),
				BackoffFactor: 1.5, BackoffMax: config.Duration(30 * time.Second), Settle: config.Duration(5 * time.Second), Bucket: "a"},
			Lease:       config.Lease{Bucket: "b", TTL: config.Duration(10 * time.Second)},
			RecordStore: config.RecordStore{BatchRecords: 1000, BatchBytes: 1 << 20},
			NATS:        config.NATS{URL: "nats://127.0.0.1:4222", ConnectTimeout: config.Duration(time.Second)},
			Streams:     config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)},
		}
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		mention string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"default lease bucket", func(c *Config) { c.Lease.Bucket = "" }, ""},
		{"bad URL", func(c *Config) { c.Source.URL = "es:9200" }, "FLOWLINE_ZEEBE_IMPORT_URL"},
		{"two auth methods", func(c *Config) { c.Source.APIKey, c.Source.Username = "k", "u" }, "API_KEY"},
		{"uppercase prefix", func(c *Config) { c.Source.IndexPrefix = "Zeebe" }, "INDEX_PREFIX"},
		{"page too large", func(c *Config) { c.Source.PageSize = 10_001 }, "PAGE_SIZE"},
		{"max below start", func(c *Config) { c.Source.BackoffMax = config.Duration(time.Millisecond) }, "BACKOFF"},
		{"shrinking factor", func(c *Config) { c.Source.BackoffFactor = 0.5 }, "BACKOFF"},
		{"negative settle", func(c *Config) { c.Source.Settle = config.Duration(-time.Second) }, "SETTLE"},
		{"negative bulk delay", func(c *Config) { c.Source.ExporterBulkDelay = config.Duration(-time.Second) }, "EXPORTER_BULK_DELAY"},
		{"negative refresh", func(c *Config) { c.Source.ExporterRefresh = config.Duration(-time.Second) }, "EXPORTER_REFRESH_INTERVAL"},
		{"negative gap watch", func(c *Config) { c.Source.GapWatch = config.Duration(-time.Second) }, "GAP_WATCH"},
		{"same buckets", func(c *Config) { c.Lease.Bucket = c.Source.Bucket }, "BUCKET"},
		{"same as the default lease bucket", func(c *Config) { c.Lease.Bucket, c.Source.Bucket = "", "flowline-zeebe-import-leases" }, "BUCKET"},
		{"short lease", func(c *Config) { c.Lease.TTL = config.Duration(time.Millisecond) }, "FLOWLINE_ZEEBE_IMPORT_LEASE_TTL"},
		{"bad replica id", func(c *Config) { c.Lease.ReplicaID = "a b" }, "FLOWLINE_ZEEBE_IMPORT_REPLICA_ID"},
		{"batch bytes too small", func(c *Config) { c.BatchBytes = 10 }, "FLOWLINE_INGEST_BATCH_BYTES"},
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
	if got := (Source{ExporterBulkDelay: config.Duration(5 * time.Second), ExporterRefresh: config.Duration(time.Second)}).SettleTime(); got != 8*time.Second {
		t.Errorf("derived settle time %s, want 8s (bulk delay + refresh + margin)", got)
	}
	if got := (Source{ExporterBulkDelay: config.Duration(5 * time.Second), Settle: config.Duration(time.Second)}).SettleTime(); got != time.Second {
		t.Errorf("settle time %s, want the set 1s", got)
	}
	if err := (Source{}).Validate(); err != nil {
		t.Errorf("a disabled source needs nothing else: %v", err)
	}
	if err := (Config{Source: Source{IndexPrefix: "zeebe-record"}}).Validate(); err == nil || !strings.Contains(err.Error(), "FLOWLINE_ZEEBE_IMPORT_URL is required") {
		t.Errorf("import without URL: %v", err)
	}
}
