package archiver_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/services/archiver"
)

// A document batch re-published after a reconnect (or by an aggregator
// that already lost its lease) sits in the documents stream behind a
// newer batch: stream order is not position order. The safe position is
// bounded by the lowest first position of every pending message of the
// partition, not just the oldest message's: of three ended instances only
// the one below the re-published batch is archived.
func TestSafePositionIsBelowEveryPendingDocumentBatchNotJustTheOldest(t *testing.T) {
	env := testenv.NewEnv(t)
	const p = 2
	js := testenv.ConnectStreams(t, env.NATS).JS
	fx := archivertest.NewFixture(env.Prefix, p, 3, 0, time.Now(), time.Minute)
	lv := func(i int) int64 { return fx.Docs[schema.ListView][strconv.FormatInt(fx.Completed[i], 10)].Version }
	archivertest.Checkpoint(t, js, "flowline-aggregator", p, lv(2)+100)
	// The oldest pending batch is above the second instance; the batch
	// re-published after it is between the first and the second.
	archivertest.PublishBatch(t, js, p, lv(1)+1, lv(1)+2, &recordv1.Document{Family: string(schema.Variable), Id: "x", Version: lv(1) + 2, Source: []byte(`{}`)})
	archivertest.PublishBatch(t, js, p, lv(0)+1, lv(0)+2, &recordv1.Document{Family: string(schema.Variable), Id: "y", Version: lv(0) + 2, Source: []byte(`{}`)})

	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, nil)
	stop := testenv.Run(t, a)
	fx.Index(t, env.ES)
	testenv.Eventually(t, 60*time.Second, func() error {
		// A batch is observed once all its period groups are moved.
		if n := testenv.Metric(t, reg, "flowline_archiver_batch_seconds", nil); n < 1 {
			return fmt.Errorf("%v batches", n)
		}
		return nil
	})
	stop()
	if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n != 1 {
		t.Errorf("%v instances archived, want only the one below every pending batch", n)
	}
	stay := map[int64]bool{fx.Completed[1]: true, fx.Completed[2]: true}
	if err := fx.Check(t, env.ES, archiver.Day, stay); err != nil {
		t.Error(err)
	}
}
