// Package c7engine provisions and runs a real Camunda 7 Community Edition
// engine (7.24, with its REST API) for development and tests, without
// Docker.
//
// The engine is a small Spring Boot application (app/: pom.xml, Engine.java,
// application.yaml; H2, history level full) embedded in this package. Build
// turns it into an executable jar once per content hash (SourceHash) under
// os.UserCacheDir()/flowline/c7engine/, with Maven; Start runs that jar with
// a local JDK 17+ and returns once the REST API answers. Each engine is a
// process of its own, on 127.0.0.1 only, without authentication.
package c7engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
)

const (
	defaultHeapMB       = 512
	defaultStartTimeout = 5 * time.Minute // a first build downloads Maven dependencies
	stopGrace           = 20 * time.Second
	logTailLines        = 40
	logName             = "engine.log"
)

// Errors of Start, wrapped with the details.
var (
	// ErrOptions: Options holds an invalid value.
	ErrOptions = errors.New("invalid options")
	// ErrPortInUse: the explicit Options.Port cannot be bound on 127.0.0.1.
	ErrPortInUse = errors.New("port already in use")
	// ErrDataDirInUse: another engine runs on Options.DataDir.
	ErrDataDirInUse = errors.New("data dir in use by another engine")
	// ErrExited: the engine process exited before its REST API answered.
	ErrExited = errors.New("engine process exited before it answered")
	// ErrNotReady: the REST API did not answer before the start deadline.
	ErrNotReady = errors.New("engine did not answer in time")
)

// Options configures Start. The zero value is valid: an engine on a free
// port with H2 in memory.
type Options struct {
	// Port is the HTTP port on 127.0.0.1; 0 picks a free one. An explicit
	// port that is already in use fails Start at once (ErrPortInUse).
	Port int
	// HeapMB is the JVM's maximum heap (-Xmx) in MiB; default 512.
	HeapMB int
	// JavaHome is the JDK (17+) that builds and runs the engine. Default
	// (callers read FLOWLINE_C7_JAVA_HOME with LoadConfig): $JAVA_HOME when
	// it is 17+, else the oldest 17+ JDK under /usr/lib/jvm, else the JDK of
	// `java` on PATH.
	JavaHome string
	// DataDir, when set, keeps the engine's state: an H2 file database in
	// DataDir/h2, so a later Start on the same DataDir finds its deployments,
	// instances and history again; the log is DataDir/engine.log (appended).
	// It is created when missing; one engine at a time may use it
	// (ErrDataDirInUse); removing it is the caller's business. Empty: H2 in
	// memory, and a private directory (for the log) that Stop removes.
	DataDir string
	// ExtraArgs are passed to the application after the jar: Spring Boot
	// arguments such as --camunda.bpm.job-execution.enabled=false. They may
	// not set what Start manages (server.port, server.address, and with
	// DataDir spring.datasource.url).
	ExtraArgs []string
}

// Engine is a running engine started by Start. It owns the JVM process and
// its directory (a private one, or Options.DataDir, which outlives it); the
// caller must call Stop. Should the calling process die without Stop, the
// JVM gets SIGTERM (Linux parent-death signal). All methods are safe for
// concurrent use.
type Engine struct {
	url     string
	dir     string // the engine's directory: log, tmp, and with DataDir the database
	persist bool   // dir is Options.DataDir: Stop keeps it
	logPath string
	proc    *devproc.Process

	stopOnce sync.Once
	stopErr  error
}

// URL returns the REST API's base URL, e.g.
// http://127.0.0.1:41234/engine-rest.
func (e *Engine) URL() string { return e.url }

// PID is the engine's process id (the JVM).
func (e *Engine) PID() int { return e.proc.PID() }

// LogPath is the file holding the engine's stdout and stderr.
func (e *Engine) LogPath() string { return e.logPath }

// Wait blocks until the engine process exits (on its own or through Stop)
// and returns its exit error. It may be called any number of times.
func (e *Engine) Wait() error { return e.proc.Wait() }

// Stop shuts the engine down: SIGTERM (Spring's graceful shutdown), up to
// 20 s for it to exit, then SIGKILL. Then it removes the engine's private
// directory, log included; with Options.DataDir only its temp files, so the
// database and log stay for a later Start. It is idempotent: later calls
// return the first call's result. The exit status of an engine that Stop
// terminated is not an error (see Wait for it).
func (e *Engine) Stop() error {
	e.stopOnce.Do(func() { e.stopErr = e.stop() })
	return e.stopErr
}

func (e *Engine) stop() error {
	if err := e.proc.Terminate(stopGrace); err != nil {
		return fmt.Errorf("c7engine: stop engine %s (pid %d): %w; dir %s left in place", e.url, e.PID(), err, e.dir)
	}
	target := e.dir
	if e.persist {
		target = filepath.Join(e.dir, "tmp")
	}
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("c7engine: remove %s: %w", target, err)
	}
	return nil
}

// Start builds the jar (once, see Build), starts an engine and returns once
// GET /engine-rest/engine lists the default engine. It fails with a clear
// error (what failed, where the log is, its last lines) if the process
// exits (ErrExited) or does not answer within ctx's deadline (ErrNotReady;
// 5 minutes when ctx has none, which also bounds a first build). ctx bounds
// only the start: cancelling it later does not stop the engine; call
// Engine.Stop.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	if opts.HeapMB == 0 {
		opts.HeapMB = defaultHeapMB
	}
	if opts.HeapMB < 0 {
		return nil, fmt.Errorf("c7engine: %w: HeapMB %d", ErrOptions, opts.HeapMB)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("c7engine: %w: Port %d", ErrOptions, opts.Port)
	}
	if opts.Port != 0 && !devproc.PortAvailable(opts.Port) {
		return nil, fmt.Errorf("c7engine: %w: %d on 127.0.0.1", ErrPortInUse, opts.Port)
	}
	if err := checkExtraArgs(opts.ExtraArgs, opts.DataDir != ""); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("c7engine: DataDir: %w", err)
		}
		opts.DataDir = abs
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	javaHome, err := findJava(opts.JavaHome)
	if err != nil {
		return nil, err
	}
	jar, err := Build(ctx, javaHome)
	if err != nil {
		return nil, err
	}
	// Auto-picked ports can be taken between picking and binding; retry then.
	for attempt := 1; ; attempt++ {
		retryable := opts.Port == 0 && attempt < 3
		e, err := startOnce(ctx, opts, jar, javaHome, retryable)
		var be *bindError
		if errors.As(err, &be) && retryable && ctx.Err() == nil {
			continue
		}
		return e, err
	}
}

// managedArgs are the application properties Start sets itself.
func managedArgs(persist bool) []string {
	m := []string{"server.port", "server.address"}
	if persist {
		m = append(m, "spring.datasource.url")
	}
	return m
}

// checkExtraArgs rejects arguments that set a managed property: Spring
// would join both values, not let one win.
func checkExtraArgs(args []string, persist bool) error {
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		for _, m := range managedArgs(persist) {
			if strings.HasPrefix(a, "--") && name == m {
				return fmt.Errorf("c7engine: %w: ExtraArgs: %s is managed by c7engine (use Options.Port or Options.DataDir)", ErrOptions, a)
			}
		}
	}
	return nil
}

// bindError marks a start that failed because the port was taken.
type bindError struct{ err error }

func (e *bindError) Error() string { return e.err.Error() }
func (e *bindError) Unwrap() error { return e.err }

// startOnce starts one engine. On failure it stops the process and removes
// what it made, except the log, which the error names (a private directory
// is removed whole when the caller will retry a port clash).
func startOnce(ctx context.Context, opts Options, jar, javaHome string, retryable bool) (_ *Engine, err error) {
	persist := opts.DataDir != ""
	dir := opts.DataDir
	var lock *os.File // held while the engine runs on a DataDir
	if persist {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("c7engine: DataDir: %w", err)
		}
		if lock, err = devproc.TryLock(filepath.Join(dir, "c7engine.lock")); err != nil {
			if errors.Is(err, devproc.ErrLocked) {
				return nil, fmt.Errorf("c7engine: %w: %s (%w)", ErrDataDirInUse, dir, err)
			}
			return nil, fmt.Errorf("c7engine: DataDir: %w", err)
		}
	} else if dir, err = os.MkdirTemp("", "flowline-c7engine-"); err != nil {
		return nil, fmt.Errorf("c7engine: %w", err)
	}
	logPath := filepath.Join(dir, logName)
	tmp := filepath.Join(dir, "tmp")
	lockHandedOver := false // StartProcess closes the lock (and the log file)
	keepLog := false        // the log of a failed private engine, named in the error
	defer func() {
		if err == nil {
			return
		}
		if !lockHandedOver && lock != nil {
			lock.Close()
		}
		if persist || keepLog {
			_ = os.RemoveAll(tmp)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	// Temp files (Tomcat's, the JVM's) are per run.
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("c7engine: %w", err)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("c7engine: %w", err)
	}

	port := opts.Port
	if port == 0 {
		ports, err := devproc.FreePorts(1)
		if err != nil {
			return nil, fmt.Errorf("c7engine: %w", err)
		}
		port = ports[0]
	}
	args := []string{
		fmt.Sprintf("-Xmx%dm", opts.HeapMB),
		"-Djava.io.tmpdir=" + tmp,
		"-jar", jar,
		"--server.address=127.0.0.1",
		"--server.port=" + strconv.Itoa(port),
	}
	if persist {
		args = append(args, "--spring.datasource.url=jdbc:h2:file:"+filepath.Join(dir, "h2", "flowline-c7")+";LOCK_TIMEOUT=10000")
	}
	args = append(args, opts.ExtraArgs...)
	cmd := exec.Command(filepath.Join(javaHome, "bin", "java"), args...)
	cmd.Dir = dir
	cmd.Env = append(devproc.FilteredEnv(os.Environ(), "JAVA_HOME"), "JAVA_HOME="+javaHome)
	cmd.SysProcAttr = devproc.SysProcAttr(nil)

	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("c7engine: log: %w", err)
	}
	tail := devproc.NewTailBuffer(64 << 10)
	cmd.Stdout = io.MultiWriter(logFile, tail)
	cmd.Stderr = cmd.Stdout
	// A header per start: a DataDir's log is appended to across restarts.
	fmt.Fprintf(cmd.Stdout, "=== c7engine: %s: starting on port %d: %s %s\n",
		time.Now().UTC().Format(time.RFC3339), port, cmd.Path, strings.Join(args, " "))
	closers := []io.Closer{logFile}
	if lock != nil {
		closers = append(closers, lock) // released once the process has exited
	}
	lockHandedOver = true // from here on StartProcess closes it, also when it fails
	proc, err := devproc.StartProcess(cmd, closers...)
	if err != nil {
		return nil, fmt.Errorf("c7engine: %w", err)
	}
	keepLog = true
	e := &Engine{
		url:     "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/engine-rest",
		dir:     dir,
		persist: persist,
		logPath: logPath,
		proc:    proc,
	}
	if err := e.waitReady(ctx); err != nil {
		if terr := proc.Terminate(10 * time.Second); terr != nil {
			err = fmt.Errorf("%w; stopping it failed too: %v (pid %d)", err, terr, proc.PID())
		}
		lines := tail.LastLines(logTailLines)
		err = fmt.Errorf("c7engine: Camunda 7 engine at %s (jar %s, java %s): %w; log: %s; last lines:\n%s",
			e.url, jar, javaHome, err, logPath, devproc.Indent(lines))
		if strings.Contains(lines, "was already in use") || strings.Contains(lines, "Address already in use") {
			keepLog = !retryable
			return nil, &bindError{err}
		}
		return nil, err
	}
	return e, nil
}

// waitReady polls GET /engine until it lists the default engine, the
// process exits, or ctx ends.
func (e *Engine) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	last := "no answer yet"
	for {
		err := checkReady(ctx, client, e.url)
		if err == nil {
			return nil
		}
		last = err.Error()
		select {
		case <-e.proc.Done():
			return fmt.Errorf("%w (%v)", ErrExited, e.proc.Wait())
		case <-ctx.Done():
			return fmt.Errorf("%w (%w; last check: %s)", ErrNotReady, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// CheckReady reports (nil) whether the REST API at url (an Engine's URL,
// ending in /engine-rest) answers GET /engine with a list holding the
// engine named default, as Start waits for. It is how a caller handed the
// URL of an engine it did not start checks that it is there.
func CheckReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	return checkReady(ctx, client, url)
}

func checkReady(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/engine", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /engine: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var engines []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &engines); err != nil {
		return fmt.Errorf("GET /engine: %w", err)
	}
	for _, en := range engines {
		if en.Name == "default" {
			return nil
		}
	}
	return fmt.Errorf("GET /engine: no default engine in %s", strings.TrimSpace(string(body)))
}
