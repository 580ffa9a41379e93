// Package esnode provisions and runs a local single-node Elasticsearch for
// development and tests, without Docker.
//
// The distribution is the "integ-test-zip" flavour that Elastic publishes to
// Maven Central, downloaded with `mvn dependency:copy` (Fetch) into
// os.UserCacheDir()/flowline/elasticsearch/ and unpacked once per version. It
// has no bundled JDK (a local one is picked, see Options.JavaHome) and only a
// minimal set of modules (no painless, reindex, ingest processors,
// analysis-common, mapper-extras, data streams, ...), so features that live in
// modules are unavailable.
//
// Elasticsearch refuses to run as root: when this process is root the node
// runs as nobody (65534:65534), and installs and node directories live under
// /var/tmp/flowline-elasticsearch instead of the (root-only) user cache dir.
//
// Nodes run without security by default. Options.Security starts a secured
// node instead: file-realm superusers, and optionally HTTPS with a
// certificate from a CA that esnode generates (Node.CACert). API keys and
// native users cannot be created on this distribution: they live in the
// .security index, whose mappings need the missing analysis-common module.
package esnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// DefaultVersion is the Elasticsearch version provisioned when none is
// configured (the newest 8.19 patch on Maven Central). It is the one place
// the version is written in Go: the commands' FLOWLINE_ES_VERSION default
// (Config) is this constant, and deploy/deploy_test.go checks compose's
// image tag against it.
const DefaultVersion = "8.19.21"

const (
	defaultHeapMB       = 1024
	defaultStartTimeout = 3 * time.Minute
	stopGrace           = 30 * time.Second
	logTailLines        = 40
)

// Options configures Start. The zero value is valid.
type Options struct {
	// Engine is the search engine to run: Elasticsearch (the default, also
	// for "") or OpenSearch.
	Engine string
	// Version is the engine's version; default DefaultVersion
	// (Elasticsearch) or DefaultOpenSearchVersion. Callers read
	// FLOWLINE_ES_VERSION and FLOWLINE_OPENSEARCH_VERSION with LoadConfig
	// (Config.VersionOf).
	Version string
	// JavaHome is the JDK to run the node with. Default: $ES_JAVA_HOME, else
	// $JAVA_HOME (each skipped when too old for Version), else the oldest
	// suitable JDK under /usr/lib/jvm (17+ for 8.x, 21+ for 9.x), else the
	// JDK of `java` on PATH. When running as root the JDK must be readable
	// by nobody.
	JavaHome string
	// HeapMB is the JVM heap (-Xms and -Xmx) in MiB; default 1024.
	HeapMB int
	// HTTPPort is the HTTP port on 127.0.0.1; 0 picks a free port. An
	// explicit port that is already in use fails Start immediately.
	HTTPPort int
	// Log receives the node's stdout and stderr. nil writes them to
	// console.log in the node directory (removed by Stop unless DataDir is
	// set). Writes come from a goroutine owned by the Node and stop before
	// Wait returns.
	Log io.Writer
	// Settings are extra node settings, passed as `-E key=value` (in key
	// order), e.g. {"thread_pool.write.queue_size": "1"}. They may override
	// esnode's defaults (xpack.security.enabled,
	// cluster.routing.allocation.disk.threshold_enabled,
	// action.destructive_requires_name; with Security they may not
	// contradict the security settings it implies) but not the settings esnode manages
	// (see managedSettings: names, discovery, hosts, ports and paths); Start
	// rejects those, and settings the node does not know make it fail to
	// start with Elasticsearch's message.
	Settings map[string]string
	// DataDir, when set, is a persistent node directory instead of a
	// private one under the runtime dir: the node's config (with its
	// keystore), data and logs live in DataDir/config, DataDir/data and
	// DataDir/logs, and Stop leaves them in place. A later Start with the
	// same DataDir restarts the node on its data (same cluster name and
	// UUID, same indices and documents); pass the same HTTPPort too to keep
	// the URL. DataDir is created when missing. One node at a time may use
	// it: Start fails at once while another node runs on it. When this
	// process is root the node runs as nobody: DataDir's contents are handed
	// to nobody, and every directory above DataDir must be searchable by
	// others (Start checks; t.TempDir's are not). Removing DataDir is the
	// caller's business.
	DataDir string
	// Security, when set, runs a secured node: file-realm superusers and,
	// with Security.TLS, HTTPS with a certificate esnode generates (see
	// Security and Node.CACert). nil: security disabled, plain HTTP, no
	// authentication.
	Security *Security
}

// managedSettings are the settings Start sets itself; Options.Settings may
// not name them.
var managedSettings = []string{
	"cluster.name", "node.name", "discovery.type", "network.host", "http.host",
	"http.port", "transport.port", "path.data", "path.logs", "path.home", "path.conf",
}

// nodeSettings merges extra over the flavor's default settings, after
// checking that extra names no managed setting and no malformed key.
func (f *flavor) nodeSettings(extra map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(f.defaults)+len(extra))
	for k, v := range f.defaults {
		out[k] = v
	}
	for k, v := range extra {
		if k == "" || strings.TrimSpace(k) != k || strings.ContainsAny(k, "= \t\n") {
			return nil, fmt.Errorf("esnode: invalid setting name %q", k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return nil, fmt.Errorf("esnode: setting %s: value must be one line", k)
		}
		for _, m := range managedSettings {
			if k == m {
				return nil, fmt.Errorf("esnode: setting %s is managed by esnode and cannot be set in Options.Settings", k)
			}
		}
		out[k] = v
	}
	return out, nil
}

// Node is a running single-node Elasticsearch started by Start. It owns the
// process (a process group: the CLI launcher JVM and the server JVM) and a
// private node directory holding the node's config, data, logs and temp
// files (or Options.DataDir, which outlives it); the caller must call Stop to
// release them. Should the calling
// process die without Stop, the node gets SIGTERM (Linux parent-death
// signal) and its directory is removed by a later Start. All methods are
// safe for concurrent use.
type Node struct {
	url     string
	caPEM   []byte // CA of the HTTPS certificate; nil over plain HTTP
	dir     string // node directory, removed by Stop unless persistent
	persist bool   // dir is Options.DataDir: Stop keeps it
	logPath string // where to look when something goes wrong
	proc    *devproc.Process
	pgid    int // the process group: the launcher's pid

	stopOnce sync.Once
	stopErr  error
}

// URL returns the node's HTTP base URL, e.g. http://127.0.0.1:41234, or
// https://127.0.0.1:41234 with Security.TLS.
func (n *Node) URL() string { return n.url }

// PID is the node's process id (the JVM), for measuring what it uses.
func (n *Node) PID() int { return n.proc.PID() }

// Wait blocks until the node process exits (on its own or through Stop) and
// returns its exit error. It may be called any number of times.
func (n *Node) Wait() error { return n.proc.Wait() }

// Stop shuts the node down: SIGTERM to its process group, up to 30 s for it
// to exit, then SIGKILL. Once nothing of the group is left it removes the
// node directory (data, logs, config); with Options.DataDir it removes only
// the temp files and keeps the rest for a later Start. It is idempotent: later calls return
// the first call's result. The exit status of a node that Stop terminated is
// not an error (see Wait for it).
func (n *Node) Stop() error {
	n.stopOnce.Do(func() { n.stopErr = n.stop() })
	return n.stopErr
}

func (n *Node) stop() error {
	if err := n.proc.Terminate(stopGrace); err != nil {
		return fmt.Errorf("esnode: stop node %s (pgid %d): %w; node dir %s left in place", n.url, n.pgid, err, n.dir)
	}
	if n.persist {
		_ = os.Remove(filepath.Join(n.dir, "es.pgid"))
		if err := os.RemoveAll(filepath.Join(n.dir, "tmp")); err != nil {
			return fmt.Errorf("esnode: remove temp dir: %w", err)
		}
		return nil
	}
	if err := os.RemoveAll(n.dir); err != nil {
		return fmt.Errorf("esnode: remove node dir: %w", err)
	}
	return nil
}

// Start fetches (if not cached), unpacks (if needed) and starts a node, and
// returns once /_cluster/health reports green or yellow. It fails with a
// clear error (what failed, where the log is, the last lines of the log) if
// the process exits or the node is not healthy within ctx's deadline (3
// minutes when ctx has none). ctx bounds only the start: cancelling it later
// does not stop the node; call Node.Stop.
func Start(ctx context.Context, opts Options) (*Node, error) {
	fl, err := flavorOf(opts.Engine)
	if err != nil {
		return nil, err
	}
	if opts.Version == "" {
		opts.Version = fl.defaultVersion
	}
	if err := fl.checkVersion(opts.Version); err != nil {
		return nil, err
	}
	if opts.Security != nil && fl.engine != Elasticsearch {
		return nil, fmt.Errorf("esnode: Options.Security is for Elasticsearch only (the %s integ-test-zip has no security plugin)", fl.product)
	}
	if opts.HeapMB == 0 {
		opts.HeapMB = defaultHeapMB
	}
	if opts.HeapMB < 0 {
		return nil, fmt.Errorf("esnode: invalid HeapMB %d", opts.HeapMB)
	}
	if opts.HTTPPort < 0 || opts.HTTPPort > 65535 {
		return nil, fmt.Errorf("esnode: invalid HTTPPort %d", opts.HTTPPort)
	}
	if opts.HTTPPort != 0 && !devproc.PortAvailable(opts.HTTPPort) {
		return nil, fmt.Errorf("esnode: HTTP port %d on 127.0.0.1 is already in use", opts.HTTPPort)
	}
	if err := opts.Security.validate(); err != nil {
		return nil, err
	}
	if _, err := fl.nodeSettingsFor(opts.Security, opts.Settings); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("esnode: DataDir: %w", err)
		}
		opts.DataDir = abs
		if os.Geteuid() == 0 {
			if err := searchableByOthers(filepath.Dir(abs)); err != nil {
				return nil, fmt.Errorf("esnode: DataDir %s: %w", abs, err)
			}
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	javaHome, err := fl.resolveJava(opts.JavaHome, opts.Version, devproc.SystemJava)
	if err != nil {
		return nil, err
	}
	home, err := fl.provision(ctx, opts.Version)
	if err != nil {
		return nil, err
	}
	root, err := runtimeDir()
	if err != nil {
		return nil, err
	}
	nodes := filepath.Join(root, "nodes")
	if err := os.MkdirAll(nodes, 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if err := os.Chmod(nodes, 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	sweepStaleNodes(nodes)

	// Auto-picked ports can be taken between picking and binding; retry then.
	for attempt := 1; ; attempt++ {
		retryable := opts.HTTPPort == 0 && attempt < 3
		n, err := fl.startOnce(ctx, opts, home, javaHome, nodes, retryable)
		var be *bindError
		if errors.As(err, &be) && retryable && ctx.Err() == nil {
			continue
		}
		return n, err
	}
}

// provision returns the home of version, fetching and unpacking as needed.
// A cached zip that turns out to be corrupt is fetched again once.
func (f *flavor) provision(ctx context.Context, version string) (string, error) {
	zipPath, jarsDir, err := f.fetch(ctx, version)
	if err != nil {
		return "", err
	}
	home, err := f.install(ctx, version, zipPath, jarsDir)
	if err == nil || ctx.Err() != nil || devproc.CheckZip(zipPath) == nil {
		return home, err
	}
	f.forget(zipPath)
	if zipPath, jarsDir, err = f.fetch(ctx, version); err != nil {
		return "", err
	}
	return f.install(ctx, version, zipPath, jarsDir)
}

// bindError marks a start that failed because a port was taken.
type bindError struct{ err error }

func (e *bindError) Error() string { return e.err.Error() }
func (e *bindError) Unwrap() error { return e.err }

// startOnce starts one node in a fresh node directory, or in
// opts.DataDir. On failure a fresh directory is removed, except its logs
// (named in the error) unless the failure is a port clash that the caller
// will retry; of a DataDir only the temp files are removed.
func (f *flavor) startOnce(ctx context.Context, opts Options, home, javaHome, nodes string, retryable bool) (_ *Node, err error) {
	persist := opts.DataDir != ""
	var dir, clusterName string
	var lock *os.File // held while the node runs on a DataDir
	lockHandedOver := false
	if persist {
		dir = opts.DataDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("esnode: DataDir: %w", err)
		}
		if lock, err = lockDataDir(dir); err != nil {
			return nil, err
		}
	} else if dir, err = os.MkdirTemp(nodes, "node-"); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	keepLogs := false
	defer func() {
		if err == nil {
			return
		}
		switch {
		case persist:
			_ = os.RemoveAll(filepath.Join(dir, "tmp"))
			if !lockHandedOver {
				lock.Close()
			}
		case keepLogs:
			for _, sub := range []string{"data", "config", "tmp"} {
				_ = os.RemoveAll(filepath.Join(dir, sub))
			}
		default:
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if persist {
		// Temp files are per run; data, logs and config persist.
		if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	}
	for _, sub := range []string{"data", "logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil && !(persist && errors.Is(err, fs.ErrExist)) {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	}
	// A private config dir (ES_PATH_CONF): the node writes its keystore
	// there, so the shared install stays read-only and nodes stay apart. A
	// DataDir keeps the config (and keystore) of its first start.
	if !persist || !fileExistsAt(filepath.Join(dir, "config", "jvm.options")) {
		if err := copyTree(filepath.Join(home, "config"), filepath.Join(dir, "config")); err != nil {
			return nil, fmt.Errorf("esnode: copy config: %w", err)
		}
		if err := anchorJVMPaths(filepath.Join(dir, "config", "jvm.options"), dir); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	}
	if persist {
		// The cluster name is part of the node's on-disk state: keep it.
		if clusterName, err = persistentClusterName(dir); err != nil {
			return nil, err
		}
	} else {
		clusterName = "flowline-esnode-" + strings.TrimPrefix(filepath.Base(dir), "node-")
	}
	settings, err := f.nodeSettingsFor(opts.Security, opts.Settings)
	if err != nil {
		return nil, err
	}
	caPEM, err := opts.Security.writeFiles(filepath.Join(dir, "config"))
	if err != nil {
		return nil, err
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		if err := chownTree(dir, nobodyUID, nobodyGID); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	}

	httpPort := opts.HTTPPort
	ports, err := devproc.FreePorts(2)
	if err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if httpPort == 0 {
		httpPort = ports[0]
	}
	transportPort := ports[1]
	if transportPort == httpPort {
		transportPort = ports[0]
	}

	args := []string{
		"-E", "cluster.name=" + clusterName,
		"-E", "node.name=" + clusterName,
		"-E", "discovery.type=single-node",
		"-E", "network.host=127.0.0.1",
		"-E", "http.host=127.0.0.1",
		"-E", "http.port=" + strconv.Itoa(httpPort),
		"-E", "transport.port=" + strconv.Itoa(transportPort),
		"-E", "path.data=" + filepath.Join(dir, "data"),
		"-E", "path.logs=" + filepath.Join(dir, "logs"),
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-E", k+"="+settings[k])
	}
	cmd := exec.Command(filepath.Join(home, "bin", f.bin), args...)
	cmd.Dir = dir
	e := f.env
	cmd.Env = append(devproc.FilteredEnv(os.Environ(),
		e+"_JAVA_HOME", "JAVA_HOME", e+"_JAVA_OPTS", e+"_PATH_CONF", e+"_TMPDIR", e+"_HOME"),
		e+"_JAVA_HOME="+javaHome,
		fmt.Sprintf("%s_JAVA_OPTS=-Xms%dm -Xmx%dm", e, opts.HeapMB, opts.HeapMB),
		e+"_PATH_CONF="+filepath.Join(dir, "config"),
		e+"_TMPDIR="+filepath.Join(dir, "tmp"),
	)
	cmd.SysProcAttr = devproc.SysProcAttr(nil)
	if asRoot {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}
	}
	// The server JVM inherits our stdout pipe; do not let Wait hang on it
	// if that process outlives the launcher.
	cmd.WaitDelay = 5 * time.Second

	tail := devproc.NewTailBuffer(64 << 10)
	scheme := "http://"
	if caPEM != nil {
		scheme = "https://"
	}
	n := &Node{
		url:     scheme + net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		caPEM:   caPEM,
		dir:     dir,
		persist: persist,
		logPath: filepath.Join(dir, "logs", clusterName+".log"),
	}
	out := opts.Log
	var closers []io.Closer // closed once the process has exited
	if out == nil {
		n.logPath = filepath.Join(dir, "console.log")
		f, err := os.OpenFile(n.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
		closers = append(closers, f)
		out = f
	}
	cmd.Stdout = io.MultiWriter(out, tail)
	cmd.Stderr = cmd.Stdout

	if lock != nil {
		// Released once the process has exited (or now, if it fails to start).
		closers = append(closers, lock)
		lockHandedOver = true
	}
	if n.proc, err = devproc.StartProcess(cmd, closers...); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	n.pgid = n.proc.PID()
	_ = os.WriteFile(filepath.Join(dir, "es.pgid"), []byte(strconv.Itoa(n.pgid)+"\n"), 0o644)

	if err := n.waitHealthy(ctx, clusterName, opts.Security); err != nil {
		if terr := n.proc.Terminate(10 * time.Second); terr != nil {
			err = fmt.Errorf("%w; stopping it failed too: %v (process group %d)", err, terr, n.pgid)
		}
		keepLogs = true
		lines := tail.LastLines(logTailLines)
		if strings.TrimSpace(lines) == "" {
			if b, rerr := os.ReadFile(filepath.Join(dir, "logs", clusterName+".log")); rerr == nil {
				lines = devproc.LastLines(string(b), logTailLines)
			}
		}
		err = fmt.Errorf("esnode: %s %s at %s (home %s, java %s): %w; log: %s; last lines:\n%s",
			f.product, opts.Version, n.url, home, javaHome, err, n.logPath, devproc.Indent(lines))
		if strings.Contains(lines, "BindException") || strings.Contains(lines, "Address already in use") {
			keepLogs = !retryable
			return nil, &bindError{err}
		}
		return nil, err
	}
	return n, nil
}

// waitHealthy polls /_cluster/health until it reports green or yellow for
// our cluster, the process exits, or ctx ends. A secured node is asked as
// sec's first user, trusting only the node's CA.
func (n *Node) waitHealthy(ctx context.Context, clusterName string, sec *Security) error {
	client, err := healthClient(n.caPEM)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	auth := func(*http.Request) {}
	if sec != nil {
		user, password := sec.healthUser()
		auth = func(r *http.Request) { r.SetBasicAuth(user, password) }
	}
	last := "no answer yet"
	for {
		status, err := clusterHealth(ctx, client, n.url, clusterName, auth)
		if err == nil && (status == "green" || status == "yellow") {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "cluster status " + status
		}
		select {
		case <-n.proc.Done():
			return fmt.Errorf("process exited before the node became healthy (%v)", n.proc.Wait())
		case <-ctx.Done():
			return fmt.Errorf("node not healthy in time (%w; last health check: %s)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func clusterHealth(ctx context.Context, client *http.Client, url, clusterName string, auth func(*http.Request)) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_cluster/health", nil)
	if err != nil {
		return "", err
	}
	auth(req)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /_cluster/health: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var h struct {
		ClusterName string `json:"cluster_name"`
		Status      string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return "", fmt.Errorf("GET /_cluster/health: %w", err)
	}
	if h.ClusterName != clusterName {
		return "", fmt.Errorf("port answered by another cluster %q", h.ClusterName)
	}
	return h.Status, nil
}

// sweepStaleNodes removes node directories left behind by processes that
// died without calling Stop (owner gone and no process left in the group).
func sweepStaleNodes(nodes string) {
	entries, _ := os.ReadDir(nodes)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "node-") {
			continue
		}
		dir := filepath.Join(nodes, e.Name())
		owner := readPid(filepath.Join(dir, "owner.pid"))
		if owner == 0 || owner == os.Getpid() || processAlive(owner) {
			continue
		}
		if pgid := readPid(filepath.Join(dir, "es.pgid")); pgid > 0 && devproc.GroupAlive(pgid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// lockDataDir takes an exclusive lock on dir/esnode.lock without waiting,
// so that two nodes never share a DataDir.
func lockDataDir(dir string) (*os.File, error) {
	f, err := devproc.TryLock(filepath.Join(dir, "esnode.lock"))
	if errors.Is(err, devproc.ErrLocked) {
		return nil, fmt.Errorf("esnode: DataDir %s is in use by another node: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("esnode: DataDir lock: %w", err)
	}
	return f, nil
}

// persistentClusterName returns the cluster name stored in dir/cluster.name,
// choosing and storing a fresh one on first use.
func persistentClusterName(dir string) (string, error) {
	p := filepath.Join(dir, "cluster.name")
	if b, err := os.ReadFile(p); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("esnode: %w", err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	name := "flowline-esnode-" + hex.EncodeToString(rnd[:])
	if err := os.WriteFile(p, []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("esnode: %w", err)
	}
	return name, nil
}

// searchableByOthers checks that every directory from dir up to / can be
// traversed by an unprivileged user (the node runs as nobody under root).
func searchableByOthers(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		} else if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %v) is not searchable by nobody, whom the node runs as; make it (and every directory above the DataDir) o+x or choose another DataDir", d, fi.Mode().Perm())
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func fileExistsAt(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// relativeJVMPathRE matches the JVM options that name files relative to the
// launcher's working directory (OpenSearch's jvm.options: GC log, fatal
// error log, heap dumps), which is the shared, read-only install.
var relativeJVMPathRE = regexp.MustCompile(`(?m)([=:])(logs/|data$)`)

// anchorJVMPaths rewrites the relative paths of the jvm.options file at
// path to the node directory's logs and data.
func anchorJVMPaths(path, nodeDir string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	out := relativeJVMPathRE.ReplaceAllString(string(b), "${1}"+strings.ReplaceAll(nodeDir, "$", "$$")+"/${2}")
	return os.WriteFile(path, []byte(out), 0o644)
}
