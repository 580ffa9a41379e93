package bench

import (
	"bufio"
	"bytes"
	"context"
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
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			u.PeakRSSMB = kb / 1024
		}
	}
	return u, sc.Err()
}

// readTreeUsage sums readUsage over pid and its descendants (Elasticsearch's
// launcher runs the server as a child JVM). Peak RSS is the sum of the
// peaks, an upper bound.
func readTreeUsage(pid int) (Usage, error) {
	u, err := readUsage(pid)
	if err != nil {
		return u, err
	}
	for _, cpid := range children(pid) {
		if cu, err := readTreeUsage(cpid); err == nil {
			u.CPU += cu.CPU
			u.PeakRSSMB += cu.PeakRSSMB
		}
	}
	return u, nil
}

// children lists pid's child processes: each thread has its own list (a
// JVM starts processes from other threads than its main one).
func children(pid int) []int {
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
// service, NATS, or the peer). Its output goes to a log file. Stop ends
// it; the owner must call Stop. Methods are safe for concurrent use.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	done    chan struct{}
	err     error

	mu   sync.Mutex
	last Usage // the latest reading, kept for after the process exits
}

// StartProcess runs bin with args and env (added to the harness's own
// environment), its output appended to logPath.
func StartProcess(name, bin string, args, env []string, logPath string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, log: f, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Usage reads the process's usage now (the last reading once it exited).
func (p *Process) Usage() Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return p.last
	default:
	}
	if u, err := readUsage(p.cmd.Process.Pid); err == nil {
		p.last = u
	}
	return p.last
}

// checkAlive fails, naming the process and quoting its log, once it has
// exited.
func (p *Process) checkAlive() error {
	if done, err := p.Exited(); done {
		return fmt.Errorf("%s exited (%v):\n%s", p.Name, err, p.Tail(20))
	}
	return nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop reads the final usage, then ends the process: SIGTERM, and SIGKILL
// after grace.
func (p *Process) Stop(grace time.Duration) Usage {
	u := p.Usage()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
	return u
}

// Tail returns the last n lines of the process's log, for errors.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<24))
	return lastLines(string(b), n)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitUntil polls cond every interval until it returns true or an error,
// or ctx ends.
func waitUntil(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
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
