package faults

import (
	"context"
	"testing"
)

// TestSoakWorkloadLeavesNoInstanceRunningByDesign: the rounds' workload
// leaves a share of its instances running (their state stays live), the
// soak's none, so that a soak's memory trend means a leak. The same seed
// gives both the same record count.
func TestSoakWorkloadLeavesNoInstanceRunningByDesign(t *testing.T) {
	ctx := context.Background()
	rounds, err := makeWorkload(ctx, t.TempDir(), 7, 60_000, 4, runningRate(false))
	if err != nil {
		t.Fatal(err)
	}
	soak, err := makeWorkload(ctx, t.TempDir(), 7, 60_000, 4, runningRate(true))
	if err != nil {
		t.Fatal(err)
	}
	if rounds.stats.Running == 0 {
		t.Errorf("the rounds' workload left no instance running (stats %+v)", rounds.stats)
	}
	if soak.stats.Running != 0 {
		t.Errorf("the soak's workload left %d instances running by design", soak.stats.Running)
	}
	if rounds.records < 60_000 || soak.records < 60_000 {
		t.Errorf("%d and %d records, want at least 60,000 each", rounds.records, soak.records)
	}
}
