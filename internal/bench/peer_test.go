package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/search"
)

// TestPeer builds Benthos (once per machine, into the user cache), runs it
// between a real NATS and the real Elasticsearch on a few thousand simulated
// records, and checks every record landed as its own document.
func TestPeer(t *testing.T) {
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := BuildBenthos(ctx, filepath.Join(cache, "flowline"), func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}

	ns := testenv.NATS(t)
	es, esCfg := testenv.Elasticsearch(t)
	prefix := testenv.IndexPrefix(t)
	index := prefix + "-peer"
	testenv.DropIndices(t, es, prefix)

	g, err := simulate.NewGenerator(simulate.Config{Workload: simulate.Typical, Instances: 20, Partitions: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lines := make([][][]byte, 2)
	var sample simulate.Record
	n := 0
	for recs := g.Next(); recs != nil; recs = g.Next() {
		for _, r := range recs {
			lines[r.PartitionID-1] = append(lines[r.PartitionID-1], r.JSON())
			n++
			if n == 1000 {
				sample = r
			}
		}
	}
	if n < 1000 {
		t.Fatalf("simulator made only %d records", n)
	}

	res, err := RunPeer(ctx, PeerConfig{
		Bin:     bin,
		NATSURL: ns.URL(),
		ESURL:   esCfg.ES.URL,
		Index:   index,
		Lines:   lines,
		WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peer: %+v", res)
	if res.Records != n {
		t.Errorf("Records = %d, want %d", res.Records, n)
	}
	if res.Seconds <= 0 || res.CPUSeconds <= 0 {
		t.Errorf("Seconds = %v, CPUSeconds = %v: want both > 0", res.Seconds, res.CPUSeconds)
	}

	c, err := search.Count(ctx, es, index, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c != int64(n) {
		t.Errorf("index %s holds %d documents, want %d", index, c, n)
	}

	id := fmt.Sprintf("%d-%d", sample.PartitionID, sample.Position)
	doc, err := es.Do(ctx, search.Request{Method: http.MethodGet, Path: "/" + index + "/_doc/" + url.PathEscape(id), What: "get " + index + "/" + id})
	if err != nil {
		t.Fatalf("get %s/%s: %v", index, id, err)
	}
	var d struct {
		Source struct {
			PartitionID int32 `json:"partitionId"`
			Position    int64 `json:"position"`
			Key         int64 `json:"key"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if d.Source.Position != sample.Position || d.Source.PartitionID != sample.PartitionID || d.Source.Key != sample.Key {
		t.Errorf("document %s = %+v, want partition %d position %d key %d",
			id, d.Source, sample.PartitionID, sample.Position, sample.Key)
	}
}
