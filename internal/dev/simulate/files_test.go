package simulate

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestWriteFiles: every record lands in its partition's file in position
// order, the counts add up, and a cap stops after the chunk that reaches
// it.
func TestWriteFiles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxRecords int64
	}{
		{"until the generator ends", 0},
		{"capped", 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGenerator(Config{Workload: Typical, Instances: 100, Partitions: 3, Seed: 5, Start: time.UnixMilli(1_763_884_800_000), ChunkRecords: 256})
			if err != nil {
				t.Fatal(err)
			}
			f, err := WriteFiles(context.Background(), g, t.TempDir(), tc.maxRecords)
			if err != nil {
				t.Fatal(err)
			}
			if tc.maxRecords > 0 && (f.Records < tc.maxRecords || f.Records > tc.maxRecords+1024) {
				t.Errorf("%d records with a cap of %d", f.Records, tc.maxRecords)
			}
			if tc.maxRecords == 0 && f.Records != g.Stats().Records {
				t.Errorf("%d records written, the generator made %d", f.Records, g.Stats().Records)
			}
			total := 0
			for i, path := range f.Paths {
				file, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				sc := bufio.NewScanner(file)
				sc.Buffer(nil, 1<<20)
				n, last := 0, int64(-1)
				for sc.Scan() {
					var r struct {
						PartitionID int32 `json:"partitionId"`
						Position    int64 `json:"position"`
					}
					if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
						t.Fatal(err)
					}
					if int(r.PartitionID) != i+1 || r.Position <= last {
						t.Fatalf("%s line %d: partition %d position %d after %d", path, n+1, r.PartitionID, r.Position, last)
					}
					last = r.Position
					n++
				}
				file.Close()
				if n != f.Lines[i] {
					t.Errorf("%s holds %d lines, Lines says %d", path, n, f.Lines[i])
				}
				total += n
			}
			if int64(total) != f.Records {
				t.Errorf("%d lines in all, Records says %d", total, f.Records)
			}
		})
	}
}
