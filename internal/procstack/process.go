// Package procstack runs Flowline as separate child processes of a
// harness: processes that can be measured (CPU, memory from /proc),
// killed, paused and restarted, and the stack of them (a NATS server or
// JetStream cluster, writer, aggregators, ingest, archiver) that `flowline
// bench` and `flowline faults` assemble. Development tooling: no service
// links it.
package procstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat; 100 on every Linux this runs on.
const clockTicks = 100

// Usage is what a process used so far.
type Usage struct {
	CPU       time.Duration // user + system
	PeakRSSMB float64       // VmHWM
}

// readUsage reads a live process's CPU time and peak RSS from /proc.
func readUsage(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, err
	}
	// Fields after the command (which may hold spaces) start after ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Usage{}, fmt.Errorf("proc %d: malformed stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return Usage{}, fmt.Errorf("proc %d: short stat", pid)
	}
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return Usage{}, fmt.Errorf("proc %d: bad utime/stime", pid)
	}
	u := Usage{CPU: time.Duration(ut+st) * time.Second / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	u.PeakRSSMB = statusMB(string(status), "VmHWM:")
	return u, nil
}

// ReadTreeUsage sums readUsage over pid and its descendants (Elasticsearch's
// launcher runs the server as a child JVM). Peak RSS is the sum of the
// peaks, an upper bound.
func ReadTreeUsage(pid int) (Usage, error) {
	u, err := readUsage(pid)
	if err != nil {
		return u, err
	}
	for _, cpid := range Children(pid) {
		if cu, err := ReadTreeUsage(cpid); err == nil {
			u.CPU += cu.CPU
			u.PeakRSSMB += cu.PeakRSSMB
		}
	}
	return u, nil
}

// Children lists pid's child processes: each thread has its own list (a
// JVM starts processes from other threads than its main one).
func Children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, c := range strings.Fields(string(b)) {
			if cpid, err := strconv.Atoi(c); err == nil {
				out = append(out, cpid)
			}
		}
	}
	return out
}

// SelfCPU is this process's CPU time so far (user + system), for
// benchmarks that measure in-process work.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Process is a child process the harness runs and measures (a Flowline
// service, NATS, or the peer), and that it can kill, pause and start
// again with the same command. Its output is appended to a log file. Stop
// ends it; the owner must call Stop. Methods are safe for concurrent use.
type Process struct {
	Name    string
	bin     string
	args    []string
	env     []string
	logPath string

	mu   sync.Mutex
	run  *run  // the current (or last) run
	last Usage // the latest reading, kept for after the process exits
}

// run is one start of a Process: fixed once started, except that done is
// closed and err set when it exits.
type run struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// StartProcess runs bin with args and env (added to the harness's own
// environment), its output appended to logPath.
func StartProcess(name, bin string, args, env []string, logPath string) (*Process, error) {
	p := &Process{Name: name, bin: bin, args: args, env: env, logPath: logPath}
	r, err := p.start()
	if err != nil {
		return nil, err
	}
	p.run = r
	return p, nil
}

func (p *Process) start() (*run, error) {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	r := &run{cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		r.log.Close()
		close(r.done)
	}()
	return r, nil
}

// current is the current run.
func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

// PID is the current run's process id.
func (p *Process) PID() int { return p.current().cmd.Process.Pid }

// Usage reads the process's usage now (the last reading once it exited).
// A restarted process's CPU counts from its restart.
func (p *Process) Usage() Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.run.done:
		return p.last
	default:
	}
	if u, err := readUsage(p.run.cmd.Process.Pid); err == nil {
		p.last = u
	}
	return p.last
}

// RSSMB is the process's resident memory now (VmRSS), in MiB; 0 when it
// is not running.
func (p *Process) RSSMB() float64 {
	if done, _ := p.Exited(); done {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return 0
	}
	return statusMB(string(b), "VmRSS:")
}

// statusMB reads a "Name:   123 kB" line of /proc/<pid>/status in MiB.
func statusMB(status, field string) float64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// CheckAlive fails, naming the process and quoting its log, once it has
// exited.
func (p *Process) CheckAlive() error {
	if done, err := p.Exited(); done {
		return fmt.Errorf("%s exited (%v):\n%s", p.Name, err, p.Tail(20))
	}
	return nil
}

// Exited reports whether the current run has ended, and how.
func (p *Process) Exited() (bool, error) {
	r := p.current()
	select {
	case <-r.done:
		return true, r.err
	default:
		return false, nil
	}
}

// Stop reads the final usage, then ends the process: SIGTERM, and SIGKILL
// after grace. A stopped (paused) process is continued first so that it
// can exit.
func (p *Process) Stop(grace time.Duration) Usage {
	u := p.Usage()
	r := p.current()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-r.done:
	case <-time.After(grace):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	return u
}

// Kill ends the process at once (SIGKILL, as `kill -9`) and waits until it
// is gone.
func (p *Process) Kill() {
	p.Usage()
	r := p.current()
	_ = r.cmd.Process.Kill()
	<-r.done
}

// Pause stops the process (SIGSTOP): it keeps its memory, connections and
// leases' local view, and runs on after Resume as if no time had passed.
func (p *Process) Pause() error { return p.current().cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Process) Resume() error { return p.current().cmd.Process.Signal(syscall.SIGCONT) }

// Restart starts the process again with the same command, environment and
// log, once its current run has ended (Kill or Stop first). Concurrent
// calls start it once.
func (p *Process) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.run.done:
	default:
		return fmt.Errorf("restart %s: still running", p.Name)
	}
	r, err := p.start()
	if err != nil {
		return err
	}
	p.run = r
	return nil
}

// Tail returns the last n lines of the process's log, for errors.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 1<<24 {
		_, _ = f.Seek(fi.Size()-1<<24, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return LastLines(string(b), n)
}

// LastLines returns the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ErrStalled is returned by WaitProgress when what it waits on stopped
// making progress.
var ErrStalled = errors.New("no progress")

// Remaining is what a wait of WaitProgress still has to see done.
type Remaining struct {
	Done bool
	// Phase names what Left counts ("records", "archiver backlog"): each
	// phase's count falls on its own.
	Phase string
	// Left is the count still to go in Phase; negative: unknown.
	Left int64
	// Status says where the wait is, for errors.
	Status string
}

// WaitProgress polls cond every interval until it reports done or an
// error, or ctx ends, or no phase's count has reached a new low for stall
// (a phase first seen counts as progress once): a large backlog may take
// long to work off, a stuck one is given up on. Only new lows count, never
// a changed status, a count that rises and falls back (messages moving
// between pending and redelivered) or an unknown one, so that noise cannot
// keep a stuck wait alive. The error on ctx's end or a stall carries cond's
// last status.
func WaitProgress(ctx context.Context, interval, stall time.Duration, cond func() (Remaining, error)) error {
	lows, since, last := map[string]int64{}, time.Now(), ""
	err := WaitUntil(ctx, interval, func() (bool, error) {
		r, err := cond()
		last = r.Status
		if err != nil || r.Done {
			return r.Done, err
		}
		if low, seen := lows[r.Phase]; r.Left >= 0 && (!seen || r.Left < low) {
			lows[r.Phase], since = r.Left, time.Now()
		} else if time.Since(since) > stall {
			return false, fmt.Errorf("%w for %s: %s", ErrStalled, stall, r.Status)
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (last: %s)", err, last)
	}
	return err
}

// WaitUntil polls cond every interval until it returns true or an error,
// or ctx ends.
func WaitUntil(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
