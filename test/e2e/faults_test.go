package e2e

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/faults"
	"github.com/flowline/flowline/internal/testenv"
)

// faultsSeed draws, on the stack's seven service replicas and three NATS
// nodes, Elasticsearch answering 429, a NATS node killed and an aggregator
// paused past its lease TTL (a stale owner waking up): see
// TestFaultsShortRunIsClean's check of the plan.
const faultsSeed = 11

// TestFaultsShortRunIsClean is `flowline faults --rounds 3 --records
// 20000 --seed 11`: a three-node NATS cluster, a fresh Elasticsearch and
// two replicas of each service as processes, the workload pushed at a
// fixed rate while one fault strikes per round; then every document of
// every alias compared with a clean reference run. Nothing may be lost,
// duplicated, stale or extra, nothing dead-lettered, no partition owned
// twice or left unowned past the lease TTL plus the rebalance time, every
// round recovered, and the archiver moved what the reference moved.
func TestFaultsShortRunIsClean(t *testing.T) {
	bin := testenv.Flowline(t)
	// The node runs as nobody when this is root: its directory must be
	// searchable by others, which t.TempDir's is not.
	work, err := os.MkdirTemp("", "flowline-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cfg := faults.Config{Bin: bin, Rounds: 3, Seed: faultsSeed, Records: 20_000, Partitions: 4,
		LeaseTTL: 10 * time.Second, WorkDir: work, Progress: func(s string) { t.Log(s) }}
	rep, err := faults.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []faults.Kind
	for _, r := range rep.Rounds {
		kinds = append(kinds, r.Kind)
	}
	want := []faults.Kind{faults.RejectBulks, faults.KillNATS, faults.PauseService}
	if !slices.Equal(kinds, want) {
		t.Errorf("seed %d struck %v, want %v: the plan is not deterministic by seed", faultsSeed, kinds, want)
	}
	c := rep.Comparison
	if c.Documents == 0 || c.ArchivedInstances == 0 || rep.Records < 20_000 {
		t.Errorf("the reference run has %d documents and %d archived instances of %d records: nothing was compared",
			c.Documents, c.ArchivedInstances, rep.Records)
	}
	if rep.Ownership.Samples == 0 {
		t.Error("the owners were never sampled")
	}
	for _, r := range rep.Rounds {
		if r.Recovered && r.Measure != "" && r.MeasureSeconds <= 0 {
			t.Errorf("round %d (%s) recovered without its figure %q", r.Round, r.Kind, r.Measure)
		}
	}
	if rep.Verdict != "pass" {
		rep.WriteText(testWriter{t})
		t.Fatalf("verdict %s: %v", rep.Verdict, rep.Failures)
	}
}

// testWriter writes to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
