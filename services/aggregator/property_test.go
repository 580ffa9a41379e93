package aggregator

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// versionedStore models what Elasticsearch keeps under external versioning:
// per (family, id) the document with the highest version.
type versionedStore map[string]*recordv1.Document

func (s versionedStore) index(d *recordv1.Document) {
	k := d.Family + "/" + d.Id + "@" + d.Routing
	if old, ok := s[k]; ok && old.Version >= d.Version {
		return // 409: already applied
	}
	s[k] = d
}

// sources decodes every stored document.
func (s versionedStore) sources(t *testing.T) map[string]any {
	out := map[string]any{}
	for k, d := range s {
		var v any
		if err := json.Unmarshal(d.Source, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// workloads returns record streams per partition: every golden fixture, and
// a simulated workload of interleaved instances.
func workloads(t *testing.T) map[string]map[int32][]*recordv1.Record {
	out := map[string]map[int32][]*recordv1.Record{}
	files, _ := filepath.Glob("testdata/golden/*.ndjson")
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		parts := map[int32][]*recordv1.Record{}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			r, err := zeebejson.Decode(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			parts[r.PartitionId] = append(parts[r.PartitionId], r)
		}
		f.Close()
		out[filepath.Base(file)] = parts
	}

	sim := map[int32][]*recordv1.Record{}
	rng := rand.New(rand.NewPCG(1, 2))
	for p := int32(1); p <= 2; p++ {
		part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
		var running []*simulate.Instance
		for i := range 40 {
			running = append(running, simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999)))
			for _, in := range running {
				if rng.IntN(3) == 0 {
					in.Step(time.Second)
				}
			}
			if i%7 == 0 {
				running[rng.IntN(len(running))].Cancel()
			}
		}
		for _, rec := range part.Take() {
			r, err := zeebejson.Decode(rec.JSON())
			if err != nil {
				t.Fatal(err)
			}
			sim[p] = append(sim[p], r)
		}
	}
	out["simulated"] = sim
	return out
}

// run folds one partition's records delivered as messages of the given
// sizes, with redeliveries and restarts drawn from rng (nil: a clean run),
// and indexes every published document batch into store, in an order that
// rng may shuffle.
func run(t *testing.T, p int32, recs []*recordv1.Record, defs *definitions, store versionedStore, rng *rand.Rand, schemaMode config.Schema) {
	t.Helper()
	var msgs [][]*recordv1.Record
	for i := 0; i < len(recs); {
		n := 5
		if rng != nil {
			n = 1 + rng.IntN(8)
		}
		msgs = append(msgs, recs[i:min(i+n, len(recs))])
		i += n
	}
	st := newPartitionState(p)
	cpState, cpNext := mustSnapshot(t, st), 0 // checkpoint: state after msgs[:cpNext]
	var published []*recordv1.Document
	for next := 0; next < len(msgs); {
		if rng != nil && rng.IntN(10) == 0 { // crash: back to the checkpoint
			st, next = restore(t, cpState), cpNext
			continue
		}
		f := newRecordFolder(context.Background(), st, defs, nil, schemaMode)
		deliveries := 1
		if rng != nil && rng.IntN(8) == 0 {
			deliveries = 2 // the same message redelivered
		}
		for range deliveries {
			for _, r := range msgs[next] {
				if err := f.apply(r); err != nil {
					t.Fatal(err)
				}
			}
		}
		docs, bad := f.documents(p)
		if len(bad) > 0 {
			t.Fatal(bad[0].err)
		}
		// Published documents are confirmed before a checkpoint; copy them,
		// as the broker does, since the state keeps changing.
		for _, d := range docs {
			published = append(published, &recordv1.Document{Family: d.Family, Id: d.Id, Routing: d.Routing, Version: d.Version, Source: append([]byte(nil), d.Source...)})
		}
		next++
		if rng == nil || rng.IntN(3) == 0 {
			cpState, cpNext = mustSnapshot(t, st), next
		}
	}
	if rng != nil {
		rng.Shuffle(len(published), func(i, j int) { published[i], published[j] = published[j], published[i] })
		published = append(published, published[:len(published)/3]...) // some re-sent
	}
	for _, d := range published {
		store.index(d)
	}
}

func mustSnapshot(t *testing.T, st *partitionState) []byte {
	b, err := json.Marshal(&checkpoint{State: st})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func restore(t *testing.T, b []byte) *partitionState {
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	cp.State.init()
	return cp.State
}

// TestSameDocumentsWhateverTheDeliveryHistory: duplicates, redeliveries,
// restarts from checkpoints at random points, and documents indexed out of
// order and more than once all end in the same documents as one clean run;
// in Flowline's schema and in the operate schema.
func TestSameDocumentsWhateverTheDeliveryHistory(t *testing.T) {
	for _, schemaMode := range []config.Schema{config.SchemaFlowline, config.SchemaOperate} {
		for name, parts := range workloads(t) {
			t.Run(string(schemaMode)+"/"+name, func(t *testing.T) { sameDocumentsWhateverTheDeliveryHistory(t, parts, schemaMode) })
		}
	}
}

func sameDocumentsWhateverTheDeliveryHistory(t *testing.T, parts map[int32][]*recordv1.Record, schemaMode config.Schema) {
	clean := versionedStore{}
	defs := newDefinitions(&memDefinitions{}, 1000)
	for p, recs := range parts {
		run(t, p, recs, defs, clean, nil, schemaMode)
	}
	if len(clean) == 0 {
		t.Fatal("workload produced no documents")
	}
	want := clean.sources(t)
	for seed := uint64(1); seed <= 25; seed++ {
		messy := versionedStore{}
		rng := rand.New(rand.NewPCG(seed, 99))
		defs := newDefinitions(&memDefinitions{}, 1000)
		for p, recs := range parts {
			run(t, p, recs, defs, messy, rng, schemaMode)
		}
		if got := messy.sources(t); !reflect.DeepEqual(got, want) {
			for k := range want {
				if !reflect.DeepEqual(got[k], want[k]) {
					t.Fatalf("seed %d: %s differs:\n got  %v\n want %v", seed, k, got[k], want[k])
				}
			}
			t.Fatalf("seed %d: %d documents, want %d", seed, len(got), len(want))
		}
	}
}
