package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// Flowline returns the path of a flowline binary built from this module's
// cmd/flowline, once per test binary (Main removes it), for tests that run
// the CLI as its users do.
func Flowline(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "flowline-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "flowline")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/flowline/flowline/cmd/flowline")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err: err, output: string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("testenv: building flowline: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err    error
	output string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.output }
func (e *buildError) Unwrap() error { return e.err }
