package archiver_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/internal/testenv/archivertest"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/services/archiver"
)

// A late document (from a re-published batch or an aggregator that lost
// its lease) recreates runtime documents of an instance that is already
// archived; nothing selects that instance again, since its list-view
// document is archived. The archiver's sweep finds them: the newer one
// replaces the archived copy and leaves the runtime index, the older one
// is only deleted from the runtime index (the archived copy is newer).
func TestSweepMovesLateRuntimeDocumentsOfAnArchivedInstance(t *testing.T) {
	env := testenv.NewEnv(t)
	ctx := context.Background()
	const p = 3
	a, reg := archivertest.NewArchiver(t, env.NATS, env.ESConfig, env.Prefix, func(c *archiver.Config) { c.SweepInterval = config.Duration(200 * time.Millisecond) })
	testenv.Run(t, a)
	fx := archivertest.NewFixture(env.Prefix, p, 1, 0, time.Now(), time.Minute)
	fx.Index(t, env.ES)
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_instances_total", nil); n < 1 {
			return fmt.Errorf("%v instances archived", n)
		}
		return nil
	})

	key := fx.Completed[0]
	suffix := archiver.Day.Suffix(fx.Ends[key])
	fnID, varID := strconv.FormatInt(key+2, 10), fmt.Sprintf("%d-orderId", key)
	fn, vr := fx.Docs[schema.FlowNodeInstance][fnID], fx.Docs[schema.Variable][varID]
	newer := fmt.Sprintf(`{"key":%d,"processInstanceKey":%d,"flowNodeId":"task2","type":"SERVICE_TASK","state":"TERMINATED","position":%d}`, key+2, key, fn.Version+500)
	// The archived variable has meanwhile a newer version than the late
	// one (the runtime index's delete tombstone refuses anything at or
	// below the version it deleted for a while, so the late one is above
	// that).
	archivedVar := fmt.Sprintf(`{"name":"orderId","value":"\"newest\"","processInstanceKey":%d,"position":%d}`, key, vr.Version+10)
	older := fmt.Sprintf(`{"name":"orderId","value":"\"stale\"","processInstanceKey":%d,"position":%d}`, key, vr.Version+5)
	bulk := search.NewBulkExecutor(env.ES, search.BulkPolicy{MaxAttempts: 3})
	write := func(ops ...search.Op) {
		t.Helper()
		if err := bulk.Do(ctx, len(ops), func(buf []byte, i int) []byte { return search.AppendOp(buf, ops[i]) }, func(i int, r search.Result) bool {
			if r.Outcome != search.Done {
				t.Errorf("document %s/%s: %v %s", ops[i].Index, ops[i].ID, r.Outcome, r.Reason)
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(search.Op{Index: schema.RuntimeIndex(env.Prefix, schema.Variable) + suffix, ID: varID, Version: vr.Version + 10, Source: []byte(archivedVar)})
	late := []search.Op{
		{Index: schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance), ID: fnID, Version: fn.Version + 500, Source: []byte(newer)},
		{Index: schema.RuntimeIndex(env.Prefix, schema.Variable), ID: varID, Version: vr.Version + 5, Source: []byte(older)},
	}
	write(late...)

	testenv.Eventually(t, 30*time.Second, func() error {
		for _, op := range late {
			v, err := search.Versions(ctx, env.ES, op.Index, []string{op.ID})
			if err != nil {
				return err
			}
			if _, ok := v[op.ID]; ok {
				return fmt.Errorf("%s/%s is still in the runtime index", op.Index, op.ID)
			}
		}
		return nil
	})
	for _, c := range []struct {
		index, id string
		version   int64
	}{
		{schema.RuntimeIndex(env.Prefix, schema.FlowNodeInstance) + suffix, fnID, fn.Version + 500},
		{schema.RuntimeIndex(env.Prefix, schema.Variable) + suffix, varID, vr.Version + 10},
	} {
		v, err := search.Versions(ctx, env.ES, c.index, []string{c.id})
		if err != nil {
			t.Fatal(err)
		}
		if v[c.id] != c.version {
			t.Errorf("%s/%s archived at version %d, want %d", c.index, c.id, v[c.id], c.version)
		}
	}
	// The sweep counts the instance once it moved every dependent family,
	// which may be just after the two checked above.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := testenv.Metric(t, reg, "flowline_archiver_swept_instances_total", nil); n != 1 {
			return fmt.Errorf("swept instances metric %v, want 1", n)
		}
		return nil
	})
}
