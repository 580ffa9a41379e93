// Package devproc holds the mechanics shared by the local dependencies that
// internal/dev provisions and runs as child processes (Elasticsearch in
// esnode, the Camunda 7 engine in c7engine): free ports, lock files, the JDK
// lookup, the tail of a process's output, and a process group's lifecycle
// (Process). It is development tooling: no service links it.
package devproc

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1. They
// are free when it returns; another process may take one before the caller
// binds it.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer ln.Close() // hold all until done so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PortAvailable reports whether port can be bound on 127.0.0.1.
func PortAvailable(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TailBuffer keeps the last bytes written to it (at most its max), for
// quoting the end of a process's output in an error. It is safe for
// concurrent use.
type TailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// NewTailBuffer returns a TailBuffer that keeps the last max bytes.
func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

// Write implements io.Writer; it never fails.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// LastLines returns the last n lines held.
func (t *TailBuffer) LastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return LastLines(string(t.buf), n)
}

// LastLines returns the last n lines of s, without a trailing newline.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Indent indents every line of s by four spaces, for quoting output inside
// an error message; an empty s reads "(empty)".
func Indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// LockFile takes an exclusive flock on path (created if needed), waiting
// (polling, so that ctx can abort the wait) while another process or file
// descriptor holds it. The returned func releases it. It serialises work
// across processes, e.g. test binaries that provision the same cache entry.
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TryLock takes an exclusive flock on path (created if needed) without
// waiting: it fails with ErrLocked while another holder has it. The lock
// lasts until the returned file is closed (or this process exits), so a
// directory guarded by it is never used by two processes at once.
func TryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// FilteredEnv returns env (KEY=value entries) without the given variables.
func FilteredEnv(env []string, drop ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		for _, d := range drop {
			if k == d {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// CheckZip reports whether path is a readable zip (or jar) archive.
func CheckZip(path string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("bad zip %s: %w", path, err)
	}
	return r.Close()
}
