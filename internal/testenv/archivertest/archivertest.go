// Package archivertest builds the archiver's test data: process instances
// with every family's documents in the runtime indices, and the check that
// each ended up where the archiver must put it. The archiver's own tests
// and the multi-service tests in test/e2e share it.
package archivertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/archiver"
)

// Families are the document families the archiver moves, list-view first.
var Families = []schema.Family{
	schema.ListView, schema.FlowNodeInstance, schema.Variable, schema.Incident, schema.Job,
	schema.Task, schema.SequenceFlow, schema.DecisionInstance,
}

// Fixture is a set of process instances with all their documents, indexed
// into the runtime indices of prefix: completed instances ended between
// 2 hours and 2 hours + span before now (58 h span several daily periods), the
// running ones have no end date. Keys and positions follow Zeebe's
// encoding on partition.
type Fixture struct {
	Prefix    string
	Partition int32
	Completed []int64
	Running   []int64
	Docs      map[schema.Family]map[string]Doc   // by id
	Owner     map[schema.Family]map[string]int64 // id -> process instance key
	Ends      map[int64]time.Time
}

// Doc is one fixture document: its version (position) and source.
type Doc struct {
	Version int64
	Source  string
}

// NewFixture builds completed+running instances on partition p.
func NewFixture(prefix string, p int32, completed, running int, now time.Time, span time.Duration) *Fixture {
	f := &Fixture{Prefix: prefix, Partition: p, Docs: map[schema.Family]map[string]Doc{}, Owner: map[schema.Family]map[string]int64{}, Ends: map[int64]time.Time{}}
	for _, fam := range Families {
		f.Docs[fam], f.Owner[fam] = map[string]Doc{}, map[string]int64{}
	}
	base := int64(p) << 51
	pos := int64(1000)
	for i := range completed + running {
		key := base + int64(i+1)*100
		done := i < completed
		start := now.Add(-60 * time.Hour).Add(time.Duration(i) * time.Second)
		var end time.Time
		if done {
			end = now.Add(-2 * time.Hour).Add(-time.Duration(i) * span / time.Duration(completed))
			f.Completed = append(f.Completed, key)
			f.Ends[key] = end
		} else {
			f.Running = append(f.Running, key)
		}
		f.add(schema.FlowNodeInstance, key, fmt.Sprint(key+1), &pos, `{"key":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","flowNodeId":"start","type":"START_EVENT","state":"COMPLETED","startDate":%q,"endDate":%q,"treePath":"%d/%d","level":1,"tenantId":"<default>","position":%d}`,
			key+1, key, date(start), date(start), key, key+1)
		for j := 2; j <= 4; j++ {
			f.add(schema.FlowNodeInstance, key, fmt.Sprint(key+int64(j)), &pos, `{"key":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","flowNodeId":"task%d","flowNodeName":"Task %d","type":"SERVICE_TASK","state":"COMPLETED","startDate":%q,"treePath":"%d/%d","level":1,"incident":false,"tenantId":"<default>","position":%d}`,
				key+int64(j), key, j, j, date(start), key, key+int64(j))
		}
		for _, name := range []string{"orderId", "amount", "customer"} {
			f.add(schema.Variable, key, fmt.Sprintf("%d-%s", key, name), &pos, `{"name":%q,"value":"\"v-%d\"","fullValue":"\"v-%d\"","isPreview":false,"scopeKey":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","tenantId":"<default>","position":%d}`,
				name, key, key, key, key)
		}
		f.add(schema.Incident, key, fmt.Sprint(key+10), &pos, `{"key":%d,"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","flowNodeId":"task2","flowNodeInstanceKey":%d,"jobKey":%d,"errorType":"JOB_NO_RETRIES","errorMessage":"boom","state":"RESOLVED","creationTime":%q,"treePath":"%d/%d","tenantId":"<default>","position":%d}`,
			key+10, key, key+2, key+11, date(start), key, key+2)
		f.add(schema.Job, key, fmt.Sprint(key+11), &pos, `{"key":%d,"processInstanceKey":%d,"flowNodeInstanceKey":%d,"flowNodeId":"task2","type":"charge","worker":"w1","retries":0,"state":"COMPLETED","tenantId":"<default>","position":%d}`,
			key+11, key, key+2)
		f.add(schema.Task, key, fmt.Sprint(key+12), &pos, `{"key":%d,"processInstanceKey":%d,"flowNodeInstanceKey":%d,"flowNodeBpmnId":"task3","bpmnProcessId":"order","processDefinitionKey":2251799813685249,"name":"Approve","state":"COMPLETED","candidateGroups":["clerks"],"priority":50,"creationTime":%q,"tenantId":"<default>","position":%d}`,
			key+12, key, key+3, date(start))
		for _, flow := range []string{"f1", "f2"} {
			f.add(schema.SequenceFlow, key, fmt.Sprintf("%d_%s", key, flow), &pos, `{"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","activityId":%q,"tenantId":"<default>","position":%d}`,
				key, flow)
		}
		f.add(schema.DecisionInstance, key, fmt.Sprintf("%d-1", key+13), &pos, `{"decisionId":"risk","decisionName":"Risk","decisionType":"DECISION_TABLE","decisionVersion":1,"decisionKey":2251799813685300,"decisionRequirementsKey":2251799813685299,"state":"EVALUATED","evaluationDate":%q,"processInstanceKey":%d,"processDefinitionKey":2251799813685249,"flowNodeInstanceKey":%d,"elementId":"task4","result":"\"low\"","tenantId":"<default>","position":%d}`,
			date(start), key, key+4)
		// The list-view document is the instance's newest.
		state, endField := "ACTIVE", ""
		if done {
			state, endField = "COMPLETED", fmt.Sprintf(`,"endDate":%q`, date(end))
		}
		f.add(schema.ListView, key, fmt.Sprint(key), &pos, `{"key":%d,"processDefinitionKey":2251799813685249,"bpmnProcessId":"order","version":1,"processName":"Order","state":%q,"startDate":%q%s,"treePath":"PI_%d","incident":false,"tenantId":"<default>","partitionId":%d,"position":%d}`,
			key, state, date(start), endField, key, p)
	}
	return f
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// add records a document; the last %d of format is its position, taken
// from pos.
func (f *Fixture) add(fam schema.Family, owner int64, id string, pos *int64, format string, args ...any) {
	*pos++
	f.Docs[fam][id] = Doc{Version: *pos, Source: fmt.Sprintf(format, append(args, *pos)...)}
	f.Owner[fam][id] = owner
}

// Count is the number of documents of the fixture.
func (f *Fixture) Count() int {
	n := 0
	for _, d := range f.Docs {
		n += len(d)
	}
	return n
}

// Index writes every document into its runtime index, flushing each family
// before the next.
func (f *Fixture) Index(t testing.TB, es *search.Client) {
	t.Helper()
	ctx := context.Background()
	var ops []search.Op
	bulk := search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 5})
	flush := func() {
		err := bulk.Do(ctx, len(ops), func(buf []byte, i int) []byte { return search.AppendOp(buf, ops[i]) }, func(i int, r search.Result) bool {
			if r.Outcome != search.Done {
				t.Fatalf("seeding %s/%s: %d %s", ops[i].Index, ops[i].ID, r.Status, r.Reason)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		ops = ops[:0]
	}
	// List-view documents last, as the writer sees them (an instance's end
	// is its newest record): an archiver already running must never find
	// an ended instance whose documents are not all written yet.
	for _, fam := range slices.Concat(Families[1:], []schema.Family{schema.ListView}) {
		for id, d := range f.Docs[fam] {
			ops = append(ops, search.Op{Index: schema.RuntimeIndex(f.Prefix, fam), ID: id, Version: d.Version, Source: []byte(d.Source)})
			if len(ops) == 5000 {
				flush()
			}
		}
		if len(ops) > 0 {
			flush()
		}
	}
	if err := search.Refresh(ctx, es, f.Prefix+"-*"); err != nil {
		t.Fatal(err)
	}
}

// stored is a document as read back.
type stored struct {
	index   string
	version int64
	source  string
}

// readAll reads every document of family fam from the indices matching
// pattern, by id; an id stored twice is an error.
func readAll(t testing.TB, es *search.Client, pattern string) (map[string]stored, error) {
	t.Helper()
	ctx := context.Background()
	if err := search.Refresh(ctx, es, pattern); err != nil {
		return nil, err
	}
	out := map[string]stored{}
	var dup []string
	err := search.Scan(ctx, es, pattern, map[string]any{"match_all": map[string]any{}}, 10000, func(hits []search.Hit) error {
		for _, h := range hits {
			if _, ok := out[h.ID]; ok {
				dup = append(dup, h.ID)
			}
			out[h.ID] = stored{version: h.Version, source: string(h.Source)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(dup) > 0 {
		return nil, fmt.Errorf("%s: %d ids stored twice, e.g. %s", pattern, len(dup), dup[0])
	}
	return out, nil
}

// Check verifies the end state: the runtime indices hold exactly the
// documents of the running instances (and of the instances in stay), each
// dated index exactly those of the completed instances that ended in its
// period, identical (source and version), and each alias all of them once.
func (f *Fixture) Check(t testing.TB, es *search.Client, period archiver.Period, stay map[int64]bool) error {
	t.Helper()
	inRuntime := map[int64]bool{}
	for _, k := range f.Running {
		inRuntime[k] = true
	}
	maps.Copy(inRuntime, stay)
	for _, fam := range Families {
		runtime := schema.RuntimeIndex(f.Prefix, fam)
		rt, err := readAll(t, es, runtime)
		if err != nil {
			return err
		}
		var wantRT []string
		for id, owner := range f.Owner[fam] {
			if inRuntime[owner] {
				wantRT = append(wantRT, id)
			}
		}
		if err := sameIDs(runtime, keysOf(rt), wantRT); err != nil {
			return err
		}
		// Archived: by period.
		wantDated := map[string][]string{}
		for id, owner := range f.Owner[fam] {
			if !inRuntime[owner] {
				wantDated[runtime+period.Suffix(f.Ends[owner])] = append(wantDated[runtime+period.Suffix(f.Ends[owner])], id)
			}
		}
		// Nothing archived anywhere else (dated suffixes start with the year).
		if len(wantDated) > 0 {
			all, err := readAll(t, es, runtime+"2*")
			if err != nil {
				return err
			}
			var want []string
			for _, ids := range wantDated {
				want = append(want, ids...)
			}
			if err := sameIDs(runtime+"2*", keysOf(all), want); err != nil {
				return err
			}
		}
		for index, want := range wantDated {
			got, err := readAll(t, es, index)
			if err != nil {
				return err
			}
			if err := sameIDs(index, keysOf(got), want); err != nil {
				return err
			}
			for id, g := range got {
				w := f.Docs[fam][id]
				if g.version != w.Version || !jsonEqual(g.source, w.Source) {
					return fmt.Errorf("%s/%s: version %d source %s, want version %d source %s", index, id, g.version, g.source, w.Version, w.Source)
				}
			}
		}
		// The alias: every document once.
		alias := schema.Alias(f.Prefix, fam)
		viaAlias, err := readAll(t, es, alias)
		if err != nil {
			return err
		}
		if len(viaAlias) != len(f.Docs[fam]) {
			return fmt.Errorf("alias %s returns %d documents, want %d", alias, len(viaAlias), len(f.Docs[fam]))
		}
	}
	return nil
}

func keysOf(m map[string]stored) []string { return slices.Collect(maps.Keys(m)) }

func sameIDs(where string, got, want []string) error {
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return nil
	}
	g, w := map[string]bool{}, map[string]bool{}
	for _, id := range got {
		g[id] = true
	}
	for _, id := range want {
		w[id] = true
	}
	var extra, missing []string
	for id := range g {
		if !w[id] {
			extra = append(extra, id)
		}
	}
	for id := range w {
		if !g[id] {
			missing = append(missing, id)
		}
	}
	return fmt.Errorf("%s: %d documents, want %d (%d unexpected, e.g. %v; %d missing, e.g. %v)", where, len(got), len(want), len(extra), first(extra), len(missing), first(missing))
}

func first(s []string) []string { return s[:min(len(s), 3)] }

func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// NewArchiver returns an archiver for prefix with a short wait period and
// quick pacing, and its metrics registry.
func NewArchiver(t testing.TB, ns *natsserver.Server, esCfg config.Search, prefix string, tune func(*archiver.Config)) (*archiver.Service, *prometheus.Registry) {
	cfg := archiver.Config{
		WaitPeriod: config.Duration(time.Hour), BatchSize: 1000, Rollover: archiver.Day, PageSize: 5000, Concurrency: 3,
		Delay: config.Duration(50 * time.Millisecond), MaxDelay: config.Duration(500 * time.Millisecond), SweepInterval: config.Duration(time.Second),
		Lease: config.Lease{Bucket: "leases-" + prefix, TTL: config.Duration(2 * time.Second)}, AggregatorState: config.AggregatorState{StateBucket: "flowline-aggregator"},
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(), Search: esCfg,
		Index: config.Index{Prefix: prefix, Shards: 1, RefreshInterval: "1s"},
	}
	if tune != nil {
		tune(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return archiver.New(cfg, testenv.DepsOn(t, reg)), reg
}

// Checkpoint stores an aggregator checkpoint of partition p at position in
// bucket, as the aggregator does (only its metadata matters to the
// archiver).
func Checkpoint(t testing.TB, js jetstream.JetStream, bucket string, p int32, position int64) {
	t.Helper()
	ctx := context.Background()
	store, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		store, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket})
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, stream.CheckpointMeta(p, position), bytes.NewReader([]byte("state"))); err != nil {
		t.Fatal(err)
	}
}

// PublishBatch publishes docs on partition p's documents subject as the
// aggregator does, as the batch of the records at positions first..last
// (with its headers and message id), and waits for the ack.
func PublishBatch(t testing.TB, js jetstream.JetStream, p int32, first, last int64, docs ...*recordv1.Document) {
	t.Helper()
	data, err := proto.Marshal(&recordv1.DocumentBatch{PartitionId: p, Documents: docs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), stream.DocsMsg(p, first, last, data)); err != nil {
		t.Fatal(err)
	}
}
