package simulate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Files is a generated workload on disk: one NDJSON file per partition,
// each in position order. Read-only once written.
type Files struct {
	Paths   []string // partition i+1's records
	Lines   []int    // records per partition
	Records int64
	Stats   Stats
}

// WriteFiles runs g into dir (created if missing), partition-N.ndjson for
// partitions 1..Config.Partitions, until g ends or, with maxRecords > 0,
// until the chunk that reaches maxRecords (chunks are never split).
func WriteFiles(ctx context.Context, g *Generator, dir string, maxRecords int64) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n := g.cfg.Partitions
	f := &Files{Lines: make([]int, n)}
	outs := make([]*bufio.Writer, n)
	files := make([]*os.File, n)
	defer func() {
		for _, file := range files {
			if file != nil {
				file.Close()
			}
		}
	}()
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("partition-%d.ndjson", i+1))
		file, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		files[i], outs[i] = file, bufio.NewWriterSize(file, 1<<20)
		f.Paths = append(f.Paths, path)
	}
	var line []byte
	for maxRecords <= 0 || f.Records < maxRecords {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		recs := g.Next()
		if recs == nil {
			break
		}
		for i := range recs {
			p := recs[i].PartitionID - 1
			line = append(recs[i].AppendJSON(line[:0]), '\n')
			if _, err := outs[p].Write(line); err != nil {
				return nil, err
			}
			f.Lines[p]++
		}
		f.Records += int64(len(recs))
	}
	for i := range n {
		if err := outs[i].Flush(); err != nil {
			return nil, err
		}
		if err := files[i].Close(); err != nil {
			return nil, err
		}
		files[i] = nil
	}
	f.Stats = g.Stats()
	return f, nil
}
