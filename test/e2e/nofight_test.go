package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/internal/testenv/stack"
	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/writer"
)

// The writer and the archiver never fight. A writer wrote a document of
// instance X and died before acking its message, so the message will be
// delivered again; the aggregator has checkpointed only part of the
// partition. The archiver must move no instance that a document still on
// its way could reach: not X while its message is pending (else the
// redelivered document would put X's flow node back into the runtime
// index), and none above the checkpoint (the aggregator may publish their
// documents again). Once the redelivered document is written and acked,
// and the checkpoint moves on, everything is archived and the runtime
// indices stay empty.
func TestLateDocumentsNeverBringAnArchivedInstanceBack(t *testing.T) {
	env := testenv.NewEnv(t)
	js := testenv.ConnectStreams(t, env.NATS).JS
	ctx := context.Background()
	const p = 4
	fx := archivertest.NewFixture(env.Prefix, p, 20, 0, time.Now(), time.Hour)

	// The aggregator's checkpoint covers instances 0..10.
	bucket := "state-" + env.Prefix
	store, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func(pos int64) {
		if _, err := store.Put(ctx, stream.CheckpointMeta(p, pos), bytes.NewReader([]byte(`{}`))); err != nil {
			t.Fatal(err)
		}
	}
	lv := func(i int) int64 { return fx.Docs[schema.ListView][fmt.Sprint(fx.Completed[i])].Version }
	checkpoint(lv(10))

	// Instance 3's flow node is written, but its message is still pending.
	x := fx.Completed[3]
	fnID := fmt.Sprint(x + 2)
	fn := fx.Docs[schema.FlowNodeInstance][fnID]
	testenv.PublishDocuments(t, js, p,
		&recordv1.Document{Family: string(schema.FlowNodeInstance), Id: fnID, Version: fn.Version, Source: []byte(fn.Source), PartitionId: p})
	if err := search.EnsureSchema(ctx, env.ES, config.Index{Prefix: env.Prefix, Shards: 1, RefreshInterval: "1s"}); err != nil {
		t.Fatal(err)
	}
	fx.Index(t, env.ES)

	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) { c.StateBucket = bucket; c.BatchSize = 5 })
	testenv.Run(t, a)
	archived := func(want float64) func() error {
		return func() error {
			if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n != want {
				return fmt.Errorf("%v instances archived, want %v", n, want)
			}
			return nil
		}
	}
	// Only instances 0..2 are below the pending document.
	testenv.Eventually(t, 20*time.Second, archived(3))
	time.Sleep(time.Second) // several more rounds
	testenv.Eventually(t, time.Second, archived(3))
	stay := map[int64]bool{}
	for _, k := range fx.Completed[3:] {
		stay[k] = true
	}
	if err := fx.Check(t, env.ES, archiver.Day, stay); err != nil {
		t.Fatal(err)
	}
	if n := testenv.Metric(t, reg, "flowline_archiver_backlog", nil); n != 17 {
		t.Errorf("flowline_archiver_backlog = %v, want 17", n)
	}

	// The writer takes the redelivered message, writes it (again) and acks.
	w := writer.New(stack.WriterConfig(env.NATS, env.ESConfig, env.Prefix), testenv.Deps(t))
	testenv.Run(t, w)
	// Now up to the checkpoint: instances 0..10.
	testenv.Eventually(t, 20*time.Second, archived(11))
	time.Sleep(time.Second)
	testenv.Eventually(t, time.Second, archived(11))
	stay = map[int64]bool{}
	for _, k := range fx.Completed[11:] {
		stay[k] = true
	}
	if err := fx.Check(t, env.ES, archiver.Day, stay); err != nil {
		t.Fatal(err)
	}

	// The aggregator checkpoints the rest.
	checkpoint(math.MaxInt64)
	testenv.Eventually(t, 20*time.Second, archived(20))
	if err := fx.Check(t, env.ES, archiver.Day, nil); err != nil {
		t.Fatal(err)
	}
}
