package aggregator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// recordsMsg is records of partition p as one record message; redriveOf,
// when not 0, marks it as `flowline dlq redrive` does.
func recordsMsg(t *testing.T, p int32, recs []simulate.Record, redriveOf uint64) *nats.Msg {
	t.Helper()
	batch := &recordv1.RecordBatch{}
	for _, r := range recs {
		pr, err := zeebejson.Decode(r.JSON())
		if err != nil {
			t.Fatal(err)
		}
		batch.Records = append(batch.Records, pr)
	}
	data, err := proto.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	m := &nats.Msg{Subject: stream.RecordsSubject(p), Data: data, Header: nats.Header{}}
	if redriveOf != 0 {
		m.Header.Set(stream.HeaderRedrive, strconv.FormatUint(redriveOf, 10))
	}
	return m
}

// TestRedrivenRecordsBehindTheStateAreFoldedWithoutTouchingIt: records
// whose positions the partition state has passed (they were dead-lettered
// and the partition went on) are skipped when simply published again, but
// folded when they carry the redrive header: the job the instance ran gets
// its document. A redriven lifecycle record of an instance that has
// completed produces a document with its old version (which Elasticsearch
// keeps out behind the newer one) and does not bring the instance back
// into the live state.
func TestRedrivenRecordsBehindTheStateAreFoldedWithoutTouchingIt(t *testing.T) {
	ns := testenv.NATS(t)
	js := testenv.ConnectStreams(t, ns).JS
	ctx := context.Background()

	const p = 3
	part := simulate.NewPartition(p, time.UnixMilli(1_763_884_800_000))
	in := simulate.Start(part, simulate.DemoProcess(int64(p)<<51+999))
	for !in.Done {
		in.Step(time.Second)
	}
	all := part.Take()
	var jobKey int64
	var kept, jobs, activating []simulate.Record
	for _, r := range all {
		if r.ValueType == "JOB" && jobKey == 0 {
			jobKey = r.Key
		}
		switch {
		case r.ValueType == "JOB" && r.Key == jobKey: // as if dead-lettered: the partition went on without them
			jobs = append(jobs, r)
		default:
			kept = append(kept, r)
		}
		if r.ValueType == "PROCESS_INSTANCE" && r.Key == in.Key && r.Intent == "ELEMENT_ACTIVATING" {
			activating = append(activating, r)
		}
	}
	if len(jobs) == 0 || len(activating) != 1 {
		t.Fatalf("simulated instance has %d records of its first job and %d ELEMENT_ACTIVATING of itself", len(jobs), len(activating))
	}
	if _, err := js.PublishMsg(ctx, recordsMsg(t, p, kept, 0)); err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, newAggregator(t, ns))
	instanceKey, jobDoc := fmt.Sprintf("list-view/%d", in.Key), fmt.Sprintf("job/%d", jobKey)
	testenv.Eventually(t, 10*time.Second, func() error {
		if d := latestDocs(t, js)[instanceKey]; d == nil || d["state"] != "COMPLETED" {
			return fmt.Errorf("instance document: %v", d)
		}
		return nil
	})

	// Published again as they were: behind the state, skipped.
	if _, err := js.PublishMsg(ctx, recordsMsg(t, p, jobs, 0)); err != nil {
		t.Fatal(err)
	}
	// Redriven: folded. The instance's first record too.
	if _, err := js.PublishMsg(ctx, recordsMsg(t, p, activating, 41)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, recordsMsg(t, p, jobs, 42)); err != nil {
		t.Fatal(err)
	}
	lastJob := jobs[len(jobs)-1]
	testenv.Eventually(t, 10*time.Second, func() error {
		d := latestDocs(t, js)[jobDoc]
		if d == nil || d["position"] != float64(lastJob.Position) {
			return fmt.Errorf("job document: %v", d)
		}
		return nil
	})
	if d := latestDocs(t, js)[instanceKey]; d["state"] != "COMPLETED" {
		t.Errorf("newest instance document after the redrive: %v", d)
	}
	if n := docMessagesFor(t, js, "list-view", strconv.FormatInt(in.Key, 10), activating[0].Position); n != 1 {
		t.Errorf("%d document messages carry the instance at the redriven record's version %d, want 1", n, activating[0].Position)
	}

	// The live state did not take the instance back: the checkpoint that
	// covers the redriven messages (stream sequences 3 and 4) holds no
	// instance, and its position did not move back.
	obj, err := js.ObjectStore(ctx, "flowline-aggregator")
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		Seq   uint64 `json:"seq"`
		State struct {
			LastPosition int64                      `json:"lastPosition"`
			Instances    map[string]json.RawMessage `json:"instances"`
		} `json:"state"`
	}
	kv, err := js.KeyValue(ctx, "flowline-aggregator")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		ptr, _, err := stream.ReadCheckpointPointer(ctx, kv, p)
		if err != nil {
			return err
		}
		b, err := obj.GetBytes(ctx, ptr.Object)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cp); err != nil {
			return err
		}
		if cp.Seq < 4 {
			return fmt.Errorf("checkpoint at sequence %d", cp.Seq)
		}
		return nil
	})
	if len(cp.State.Instances) != 0 || cp.State.LastPosition != all[len(all)-1].Position {
		t.Errorf("checkpointed state after the redrive: last position %d (want %d), instances %v",
			cp.State.LastPosition, all[len(all)-1].Position, cp.State.Instances)
	}
}

// docMessagesFor counts the documents of family/id at version in the docs
// stream.
func docMessagesFor(t *testing.T, js jetstream.JetStream, family, id string, version int64) int {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, stream.DocsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range documentsOf(t, js, m.Header, m.Data) { // a body held in an object is read too
			if d.Family == family && d.Id == id && d.Version == version {
				n++
			}
		}
	}
	return n
}
