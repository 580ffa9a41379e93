package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// Child is a flowline command running as a child process of a test, as
// its users run it (StartFlowline). What it prints is kept, and written to
// the test log if the test fails.
type Child struct {
	t    testing.TB
	name string // the command line, for messages
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // its exit error, set before done is closed
}

// StartFlowline starts `flowline args...` (the binary of Flowline) with
// env as its environment, e.g. append(os.Environ(), "FLOWLINE_...=...").
// At cleanup a process still running is stopped as Stop does.
func StartFlowline(t testing.TB, env []string, args ...string) *Child {
	t.Helper()
	c := &Child{t: t, name: strings.Join(append([]string{"flowline"}, args...), " "), out: &Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(Flowline(t), args...)
	c.cmd.Env, c.cmd.Stdout, c.cmd.Stderr = env, c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("testenv: start %s: %v", c.name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", c.name, c.PID(), c.out.String())
		}
	})
	return c
}

// Output is what the child has printed so far.
func (c *Child) Output() string { return c.out.String() }

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Running returns nil while the child runs, and an error saying how it
// ended with its output once it has exited.
func (c *Child) Running() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v):\n%s", c.name, c.err, c.out.String())
	default:
		return nil
	}
}

// Kill sends the child SIGKILL (kill -9: nothing drains, nothing is
// flushed) and returns once it is gone. It fails the test if the child had
// exited already.
func (c *Child) Kill() {
	c.t.Helper()
	if err := c.Running(); err != nil {
		c.t.Fatalf("testenv: kill: %v", err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("testenv: kill %s: %v", c.name, err)
	}
	<-c.done
}

// Stop sends the child SIGTERM and waits until it has drained and exited
// (SIGKILL after childStopGrace); it fails the test if the child exits
// with an error or had to be killed.
func (c *Child) Stop() {
	c.t.Helper()
	if err := c.stop(); err != nil {
		c.t.Errorf("testenv: stop %s: %v", c.name, err)
	}
}

// childStopGrace is how long Stop waits after SIGTERM.
const childStopGrace = 30 * time.Second

// stop is Stop without failing the test; it does nothing to a child that
// has exited.
func (c *Child) stop() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(childStopGrace):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("did not exit within %s of SIGTERM; killed", childStopGrace)
	}
}

// AdminAddr is the address of the child's admin server (/metrics,
// /readyz), as it logs it at start (FLOWLINE_LOG_LEVEL info or debug); an
// error until it has.
func (c *Child) AdminAddr() (string, error) {
	for _, line := range strings.Split(c.out.String(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "admin server listening" && l.Addr != "" {
			return l.Addr, nil
		}
	}
	if err := c.Running(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s has not logged its admin address (yet)", c.name)
}

// sampleLine is one sample of the Prometheus text format: name, labels,
// value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)

// sampleLabel is one label of a sample.
var sampleLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// Metric is the sum of the samples of metric name whose labels include
// labels (nil: all), read from the child's admin server.
func (c *Child) Metric(name string, labels map[string]string) (float64, error) {
	addr, err := c.AdminAddr()
	if err != nil {
		return 0, err
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s /metrics: %s %v", c.name, res.Status, err)
	}
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != name {
			continue
		}
		have := map[string]string{}
		for _, l := range sampleLabel.FindAllStringSubmatch(m[2], -1) {
			have[l[1]] = l[2]
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return 0, fmt.Errorf("%s /metrics: %q: %w", c.name, line, err)
		}
		sum += v
	}
	return sum, nil
}
