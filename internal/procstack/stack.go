package procstack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/natsserver"
)

// Stack is a Flowline of child processes: a NATS server (or a JetStream
// cluster of them) and the services, each a `flowline <service>` process
// with its own admin server, writing into a shared Elasticsearch under an
// index prefix. Started downstream first, stopped upstream first. Owned by
// one goroutine; its processes may be killed, paused and restarted from
// others (Process is safe for concurrent use).
type Stack struct {
	Dir        string
	NATSURL    string   // every server, comma-separated
	IngestURLs []string // each ingest replica's push URL (/v1/records)
	NATS       []*Process
	Procs      []*Process        // NATS, then the services: start order
	Admin      map[string]string // service process name → admin base URL
	NC         *nats.Conn        // the harness's client (Start), for watching consumers
	JS         jetstream.JetStream

	cfg Config
}

// Config says what a Stack runs. Zero counts run one writer and one
// ingest (unless NoIngest), one aggregator and no archiver.
type Config struct {
	Bin    string   // the flowline binary
	Env    []string // added to every child's environment
	Dir    string   // logs, NATS storage
	ESURL  string
	Prefix string
	// NATSNodes is how many NATS servers run: 0 or 1, one; more, a
	// JetStream cluster whose streams and buckets have three replicas.
	NATSNodes   int
	Writers     int
	Aggregators int
	Archivers   int
	Ingests     int
	NoIngest    bool // the Camunda 7 run starts c7-import itself, after the clock starts
}

// IngestURL is the first ingest replica's push URL ("" without ingest).
func (st *Stack) IngestURL() string {
	if len(st.IngestURLs) == 0 {
		return ""
	}
	return st.IngestURLs[0]
}

const startTimeout = 2 * time.Minute

// StartNATS starts a stack holding only NATS (cfg.NATSNodes servers,
// storage in cfg.Dir); StartService adds services to it. It is empty: a
// previous run's store and URL file in dir are removed first, so a rerun
// in the same work directory neither measures duplicates nor dials the
// previous run's server. More than one node form a JetStream cluster
// (`flowline nats --cluster-name`, processes nats-1, nats-2, ..., each
// with its own store, on client and cluster ports fixed at start so that
// a node restarts where the others and the clients look for it), and the
// stack's NATS URL names them all.
func StartNATS(ctx context.Context, cfg Config) (_ *Stack, err error) {
	bin, env, dir, nodes := cfg.Bin, cfg.Env, cfg.Dir, max(cfg.NATSNodes, 1)
	st := &Stack{Dir: dir, Admin: map[string]string{}, cfg: cfg}
	defer func() {
		if err != nil {
			st.Stop()
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var clientPorts, clusterPorts []int
	if nodes > 1 {
		for range 2 * nodes {
			p, err := StablePort()
			if err != nil {
				return nil, err
			}
			if len(clientPorts) < nodes {
				clientPorts = append(clientPorts, p)
			} else {
				clusterPorts = append(clusterPorts, p)
			}
		}
	}
	routes := natsserver.RouteURLs("127.0.0.1", clusterPorts)
	var urlFiles []string
	for i := range nodes {
		name := "nats"
		if nodes > 1 {
			name = fmt.Sprintf("nats-%d", i+1)
		}
		urlFile, store := filepath.Join(dir, name+".url"), filepath.Join(dir, name)
		if err := os.RemoveAll(store); err != nil {
			return nil, err
		}
		if err := os.Remove(urlFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		args := []string{"nats", "--port", "0", "--store", store, "--url-file", urlFile}
		if nodes > 1 {
			args = []string{"nats", "--port", strconv.Itoa(clientPorts[i]), "--store", store, "--url-file", urlFile,
				"--name", name, "--cluster-name", "flowline-stack",
				"--cluster-port", strconv.Itoa(clusterPorts[i]), "--routes", strings.Join(routes, ",")}
		}
		server, err := StartProcess(name, bin, args, env, filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		st.Procs = append(st.Procs, server)
		st.NATS = append(st.NATS, server)
		urlFiles = append(urlFiles, urlFile)
	}
	var urls []string
	for i, urlFile := range urlFiles {
		server := st.Procs[i]
		err = WaitUntil(ctx, 50*time.Millisecond, func() (bool, error) {
			if err := server.CheckAlive(); err != nil {
				return false, err
			}
			b, err := os.ReadFile(urlFile)
			if err == nil && strings.HasSuffix(string(b), "\n") {
				urls = append(urls, strings.TrimSpace(string(b)))
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	st.NATSURL = strings.Join(urls, ",")
	return st, nil
}

// Start starts NATS, the writers, the archivers, the aggregators and
// (unless cfg.NoIngest) ingest, and waits until each is ready (/readyz).
// A service that runs once is named after its command ("writer"); one
// that runs several times is numbered ("aggregator-1", "aggregator-2"),
// which is also its replica id for leases.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.NATSNodes > 1 {
		cfg.Env = append(slices.Clone(cfg.Env), "FLOWLINE_STREAM_REPLICAS=3")
	}
	st, err := StartNATS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Stop()
		}
	}()
	if st.NC, err = nats.Connect(st.NATSURL, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond)); err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	if st.JS, err = jetstream.New(st.NC); err != nil {
		return nil, err
	}
	replicas := func(cmd string, n int, extra func(name string) []string) error {
		for i := range n {
			name := cmd
			if n > 1 {
				name = fmt.Sprintf("%s-%d", cmd, i+1)
			}
			if err := st.StartService(ctx, name, cmd, extra(name)...); err != nil {
				return err
			}
		}
		return nil
	}
	none := func(string) []string { return nil }
	if err := replicas("writer", max(cfg.Writers, 1), none); err != nil {
		return nil, err
	}
	if err := replicas("archiver", cfg.Archivers, func(name string) []string {
		return []string{"FLOWLINE_ARCHIVER_REPLICA_ID=" + name}
	}); err != nil {
		return nil, err
	}
	if err := replicas("aggregator", max(cfg.Aggregators, 1), func(name string) []string {
		return []string{"FLOWLINE_AGGREGATOR_REPLICA_ID=" + name}
	}); err != nil {
		return nil, err
	}
	if cfg.NoIngest {
		return st, nil
	}
	err = replicas("ingest", max(cfg.Ingests, 1), func(string) []string {
		port, perr := FreePort()
		if perr != nil {
			port = 0 // the start fails on it and says so
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		st.IngestURLs = append(st.IngestURLs, "http://"+addr+"/v1/records")
		return []string{"FLOWLINE_INGEST_ADDR=" + addr}
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// StartService runs the flowline subcommand cmd as the stack's process
// name, configured for the stack's NATS, Elasticsearch and index prefix
// plus extra (FLOWLINE_* settings), with its admin server (metrics, pprof)
// on a free port, and waits until it is ready (/readyz).
func (st *Stack) StartService(ctx context.Context, name, cmd string, extra ...string) error {
	adminPort, err := FreePort()
	if err != nil {
		return err
	}
	env := append(append([]string{}, st.cfg.Env...),
		"FLOWLINE_NATS_URL="+st.NATSURL,
		"FLOWLINE_ES_URL="+st.cfg.ESURL,
		"FLOWLINE_INDEX_PREFIX="+st.cfg.Prefix,
		"FLOWLINE_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(adminPort),
		"FLOWLINE_ADMIN_PPROF=true",
		"FLOWLINE_LOG_LEVEL=warn",
		"OTEL_EXPORTER_OTLP_ENDPOINT=", // no trace export: not what is measured
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	env = append(env, extra...)
	p, err := StartProcess(name, st.cfg.Bin, []string{cmd}, env, filepath.Join(st.cfg.Dir, name+".log"))
	if err != nil {
		return err
	}
	st.Procs = append(st.Procs, p)
	st.Admin[name] = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	return st.WaitReady(ctx, name, startTimeout)
}

// WaitReady waits up to timeout until the service name answers 200 on
// /readyz.
func (st *Stack) WaitReady(ctx context.Context, name string, timeout time.Duration) error {
	p, admin := st.Proc(name), st.Admin[name]
	if p == nil || admin == "" {
		return fmt.Errorf("no service %q in the stack", name)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	err := WaitUntil(wctx, 100*time.Millisecond, func() (bool, error) {
		if err := p.CheckAlive(); err != nil {
			return false, err
		}
		res, err := client.Get(admin + "/readyz")
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\n%s", name, err, p.Tail(20))
	}
	return nil
}

// Proc is the process called name (nil if none).
func (st *Stack) Proc(name string) *Process {
	for _, p := range st.Procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Usage reads every process's usage now, by name.
func (st *Stack) Usage() map[string]Usage {
	out := map[string]Usage{}
	for _, p := range st.Procs {
		out[p.Name] = p.Usage()
	}
	return out
}

// CheckAlive fails when a process of the stack has exited.
func (st *Stack) CheckAlive() error {
	for _, p := range st.Procs {
		if err := p.CheckAlive(); err != nil {
			return err
		}
	}
	return nil
}

// Stop ends the processes, upstream first.
func (st *Stack) Stop() {
	if st.NC != nil {
		st.NC.Close()
		st.NC = nil
	}
	for i := len(st.Procs) - 1; i >= 0; i-- {
		st.Procs[i].Stop(30 * time.Second)
	}
	st.Procs, st.NATS = nil, nil
}

// StablePort picks a free TCP port on 127.0.0.1 below the kernel's
// ephemeral range, for a process that restarts on the same port: a port
// the kernel hands out could meanwhile become some connection's local
// port, and the restart would fail with "address in use".
func StablePort() (int, error) {
	low := 32768 // Linux's default start of ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low <= 11000 {
		return FreePort() // nothing sensible below it
	}
	for range 200 {
		port := 10000 + rand.IntN(low-11000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("procstack: no free port below the ephemeral range")
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
