package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// stack is one scenario's Flowline: a NATS server and the services, each a
// child process of the harness (so that each one's CPU and memory can be
// read apart), writing into a shared Elasticsearch under their own index
// prefix. Started downstream first, stopped upstream first. Owned by one
// goroutine.
type stack struct {
	dir       string
	natsURL   string
	ingestURL string
	cfg       stackConfig
	procs     []*Process        // NATS, writer, aggregators, ingest (or c7-import): start order
	admin     map[string]string // service name → admin base URL
	nc        *nats.Conn        // the harness's client (startStack), for watching consumers
	js        jetstream.JetStream
}

// stackConfig says what to run.
type stackConfig struct {
	bin         string   // the flowline binary
	env         []string // added to every child's environment
	dir         string   // logs, NATS storage
	esURL       string
	prefix      string
	aggregators int
	noIngest    bool // the Camunda 7 run starts c7-import itself, after the clock starts
	// natsNodes is how many NATS servers run: 0 or 1, one; more, a
	// JetStream cluster whose streams and buckets have three replicas.
	natsNodes int
}

const startTimeout = 2 * time.Minute

// startNATS starts a stack holding only a NATS server (storage in dir),
// empty: a previous run's store and URL file in dir are removed first, so
// a rerun in the same work directory neither measures duplicates nor
// dials the previous run's server.
func startNATS(ctx context.Context, bin string, env []string, dir string) (*stack, error) {
	return startNATSNodes(ctx, bin, env, dir, 1)
}

// startNATSNodes is startNATS with nodes servers: more than one form a
// JetStream cluster (`flowline nats --cluster-name`, processes nats-1,
// nats-2, ..., each with its own store), and the stack's NATS URL names
// them all.
func startNATSNodes(ctx context.Context, bin string, env []string, dir string, nodes int) (_ *stack, err error) {
	st := &stack{dir: dir, admin: map[string]string{}}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var clusterPorts []int
	if nodes > 1 {
		for range nodes {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			clusterPorts = append(clusterPorts, p)
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
			args = append(args, "--name", name, "--cluster-name", "flowline-bench",
				"--cluster-port", strconv.Itoa(clusterPorts[i]), "--routes", strings.Join(routes, ","))
		}
		server, err := StartProcess(name, bin, args, env, filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		st.procs = append(st.procs, server)
		urlFiles = append(urlFiles, urlFile)
	}
	var urls []string
	for i, urlFile := range urlFiles {
		server := st.procs[i]
		err = waitUntil(ctx, 50*time.Millisecond, func() (bool, error) {
			if err := server.checkAlive(); err != nil {
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
	st.natsURL = strings.Join(urls, ",")
	return st, nil
}

// startStack starts NATS, the writer, the aggregators and (unless
// cfg.noIngest) ingest, and waits until each is ready (/readyz).
func startStack(ctx context.Context, cfg stackConfig) (_ *stack, err error) {
	if cfg.natsNodes > 1 {
		cfg.env = append(slices.Clone(cfg.env), "FLOWLINE_STREAM_REPLICAS=3")
	}
	st, err := startNATSNodes(ctx, cfg.bin, cfg.env, cfg.dir, max(cfg.natsNodes, 1))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	st.cfg = cfg
	if st.nc, err = nats.Connect(st.natsURL); err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	if st.js, err = jetstream.New(st.nc); err != nil {
		return nil, err
	}
	if err := st.startService(ctx, "writer", "writer"); err != nil {
		return nil, err
	}
	for i := range cfg.aggregators {
		name := "aggregator"
		if cfg.aggregators > 1 {
			name = fmt.Sprintf("aggregator-%d", i+1)
		}
		if err := st.startService(ctx, name, "aggregator", "FLOWLINE_AGGREGATOR_REPLICA_ID="+name); err != nil {
			return nil, err
		}
	}
	if cfg.noIngest {
		return st, nil
	}
	ingestPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ingestPort)
	if err := st.startService(ctx, "ingest", "ingest", "FLOWLINE_INGEST_ADDR="+addr); err != nil {
		return nil, err
	}
	st.ingestURL = "http://" + addr + "/v1/records"
	return st, nil
}

// startService runs the flowline subcommand cmd as the stack's process
// name, configured for the stack's NATS, Elasticsearch and index prefix
// plus extra (FLOWLINE_* settings), with its admin server (metrics, pprof)
// on a free port, and waits until it is ready (/readyz).
func (st *stack) startService(ctx context.Context, name, cmd string, extra ...string) error {
	adminPort, err := freePort()
	if err != nil {
		return err
	}
	env := append(append([]string{}, st.cfg.env...),
		"FLOWLINE_NATS_URL="+st.natsURL,
		"FLOWLINE_ES_URL="+st.cfg.esURL,
		"FLOWLINE_INDEX_PREFIX="+st.cfg.prefix,
		"FLOWLINE_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(adminPort),
		"FLOWLINE_ADMIN_PPROF=true",
		"FLOWLINE_LOG_LEVEL=warn",
		"OTEL_EXPORTER_OTLP_ENDPOINT=", // no trace export: not what is measured
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=")
	env = append(env, extra...)
	p, err := StartProcess(name, st.cfg.bin, []string{cmd}, env, filepath.Join(st.cfg.dir, name+".log"))
	if err != nil {
		return err
	}
	st.procs = append(st.procs, p)
	admin := "http://127.0.0.1:" + strconv.Itoa(adminPort)
	st.admin[name] = admin
	wctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	err = waitUntil(wctx, 100*time.Millisecond, func() (bool, error) {
		if err := p.checkAlive(); err != nil {
			return false, err
		}
		res, err := http.Get(admin + "/readyz")
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

// usage reads every process's usage now, by name.
func (st *stack) usage() map[string]Usage {
	out := map[string]Usage{}
	for _, p := range st.procs {
		out[p.Name] = p.Usage()
	}
	return out
}

// stop ends the processes, upstream first.
func (st *stack) stop() {
	if st.nc != nil {
		st.nc.Close()
		st.nc = nil
	}
	for i := len(st.procs) - 1; i >= 0; i-- {
		st.procs[i].Stop(30 * time.Second)
	}
	st.procs = nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
