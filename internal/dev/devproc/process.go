package devproc

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Process is a child process that leads a process group of its own, so
// that Terminate reaches everything it spawned (e.g. Elasticsearch's CLI
// launcher and its server JVM). It owns the closers handed to StartProcess
// and closes them once the process has exited. All methods are safe for
// concurrent use.
type Process struct {
	pid  int
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // the exit error, set before done is closed
}

// StartProcess starts cmd as the leader of a new process group. A nil
// cmd.SysProcAttr becomes SysProcAttr(nil); a set one must have Setpgid
// (SysProcAttr makes such). closers (log files, locks) are closed once the
// process has exited, or before StartProcess returns when cmd fails to
// start.
func StartProcess(cmd *exec.Cmd, closers ...io.Closer) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = SysProcAttr(nil)
	}
	if !cmd.SysProcAttr.Setpgid {
		closeAll(closers)
		return nil, errors.New("devproc: cmd.SysProcAttr must set Setpgid")
	}
	if err := cmd.Start(); err != nil {
		closeAll(closers)
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		closeAll(closers)
		close(p.done)
	}()
	return p, nil
}

func closeAll(closers []io.Closer) {
	for _, c := range closers {
		c.Close()
	}
}

// PID is the process id of the group leader, which is also the group id.
func (p *Process) PID() int { return p.pid }

// Done is closed once the process has exited (its closers closed).
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the process exits and returns its exit error. It may be
// called any number of times.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Terminate SIGTERMs the process group, SIGKILLs it after grace, and
// returns once the leader has been reaped and no member of the group is
// left. It is safe to call on a process that has already exited.
func (p *Process) Terminate(grace time.Duration) error {
	pgid := p.pid
	deadline := time.Now().Add(grace)
	if GroupAlive(pgid) {
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("SIGTERM: %w", err)
		}
	}
	// A launcher that leads the group may exit after what it supervises;
	// wait for the leader, then for any stragglers.
	select {
	case <-p.done:
	case <-time.After(time.Until(deadline)):
	}
	for GroupAlive(pgid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if GroupAlive(pgid) {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("SIGKILL: %w", err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		return errors.New("process did not exit after SIGKILL")
	}
	for end := time.Now().Add(10 * time.Second); GroupAlive(pgid); {
		if time.Now().After(end) {
			return errors.New("process group still alive after SIGKILL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
