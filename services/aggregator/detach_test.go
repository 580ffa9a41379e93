package aggregator

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
)

// foldMessages folds a workload's partitions in messages of seven records,
// as the worker does: each message encoded, decoded (in place when inPlace,
// as the worker decodes), folded and rendered. With inPlace the message's
// body is overwritten once its documents are encoded, so a string the
// state kept from it without intern or own shows up changed in a later document or
// in the final state. It returns each message's encoded documents and the
// final states.
func foldMessages(t *testing.T, parts map[int32][]*recordv1.Record, s config.Schema, inPlace bool) (docs [][]byte, states [][]byte) {
	t.Helper()
	defs := newDefinitions(&memDefinitions{}, 100)
	ps := make([]int32, 0, len(parts))
	for p := range parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	for _, p := range ps {
		st := newPartitionState(p)
		recs := parts[p]
		for i := 0; i < len(recs); i += 7 {
			body, err := (&recordv1.RecordBatch{Records: recs[i:min(i+7, len(recs))]}).MarshalVT()
			if err != nil {
				t.Fatal(err)
			}
			var batch recordv1.RecordBatch
			if inPlace {
				err = batch.UnmarshalVTUnsafe(body)
			} else {
				err = batch.UnmarshalVT(body)
			}
			if err != nil {
				t.Fatal(err)
			}
			f := newRecordFolder(context.Background(), st, defs, nil, s)
			for _, r := range batch.Records {
				if err := f.apply(r); err != nil {
					t.Fatal(err)
				}
			}
			rendered, bad := f.documents(p)
			if len(bad) > 0 {
				t.Fatal(bad[0].err)
			}
			enc, err := (&recordv1.DocumentBatch{PartitionId: p, Documents: rendered}).MarshalVT()
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, enc)
			if inPlace {
				for j := range body {
					body[j] = 'X'
				}
			}
		}
		states = append(states, mustSnapshot(t, st))
	}
	return docs, states
}

// TestStateOutlivesTheMessageBody: records decoded in place, each message's
// body overwritten once folded, give every document and the final state
// that records decoded into copies give, for every workload in both
// schemas: nothing the state or the definitions cache keeps points into a
// message body (see detach.go).
func TestStateOutlivesTheMessageBody(t *testing.T) {
	for name, parts := range workloads(t) {
		for _, s := range []config.Schema{config.SchemaFlowline, config.SchemaOperate} {
			wantDocs, wantStates := foldMessages(t, parts, s, false)
			gotDocs, gotStates := foldMessages(t, parts, s, true)
			for i := range wantDocs {
				if !bytes.Equal(gotDocs[i], wantDocs[i]) {
					t.Fatalf("%s, %s schema: message %d's documents differ once earlier bodies were overwritten:\n got %q\nwant %q", name, s, i, gotDocs[i], wantDocs[i])
				}
			}
			for i := range wantStates {
				if !bytes.Equal(gotStates[i], wantStates[i]) {
					t.Fatalf("%s, %s schema: final state differs once the bodies were overwritten:\n got %s\nwant %s", name, s, gotStates[i], wantStates[i])
				}
			}
		}
	}
}
