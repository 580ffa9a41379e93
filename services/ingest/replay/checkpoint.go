package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkpointPath is where file's checkpoint lives ("" without).
func checkpointPath(opts Options, file string) string {
	if opts.NoCheckpoint {
		return ""
	}
	dir := opts.CheckpointDir
	if dir == "" {
		dir = filepath.Dir(file)
	}
	return filepath.Join(dir, filepath.Base(file)+".replay-checkpoint")
}

type checkpoint struct {
	File string `json:"file,omitempty"`
	Line int64  `json:"line"` // every line up to this one is acknowledged by ingest
}

// loadCheckpoint returns the last acknowledged line (0 without checkpoint).
func loadCheckpoint(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("replay: checkpoint: %w", err)
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return 0, fmt.Errorf("replay: checkpoint %s is unreadable (delete it, or pass --from-line): %w", path, err)
	}
	return cp.Line, nil
}

// saveCheckpoint replaces the checkpoint atomically.
func saveCheckpoint(path, file string, line int64) error {
	b, _ := json.Marshal(checkpoint{File: file, Line: line})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("replay: checkpoint (pass --checkpoint-dir or --no-checkpoint if the file's directory is read-only): %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replay: checkpoint: %w", err)
	}
	return nil
}
