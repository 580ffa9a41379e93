package bench

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/search"
)

// The peer is Benthos, the stream processor a user might pick instead of
// Flowline: it reads the raw Zeebe records from NATS JetStream and writes
// each one into Elasticsearch as its own document, as Zeebe's legacy
// Elasticsearch exporter did.

// BenthosVersion is the Benthos release the peer runs; the embedded go.mod
// pins it and go.sum pins its whole module graph.
const BenthosVersion = "v4.27.0"

// benthosSrc is the module BuildBenthos builds: main.go, go.mod and go.sum
// stored as .txt so that they are not part of this module.
//
//go:embed benthos/main.go.txt benthos/go.mod.txt benthos/go.sum.txt
var benthosSrc embed.FS

// Names of the JetStream objects RunPeer creates.
const (
	peerStream   = "BENCH_RAW"
	peerSubjects = "bench.raw.>"
	peerDurable  = "benthos"
)

// BuildBenthos returns the path of the Benthos v4.27.0 binary, building it
// on first use into <cacheDir>/benthos-v4.27.0/: it writes the embedded
// main.go, go.mod and go.sum there and runs `go build -o benthos .` with
// GOFLAGS=-mod=mod (the go.sum pins the graph), which needs the Go toolchain
// and the module proxy. A binary already there is reused. The binary is
// built under a temporary name and renamed into place, so an interrupted
// build never leaves a half-written binary; concurrent callers (in this or
// other processes) wait for one build under a file lock. progress gets
// one-line status messages (may be nil).
func BuildBenthos(ctx context.Context, cacheDir string, progress func(string)) (string, error) {
	if progress == nil {
		progress = func(string) {}
	}
	dir := filepath.Join(cacheDir, "benthos-"+BenthosVersion)
	bin := filepath.Join(dir, "benthos")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		progress("using Benthos " + BenthosVersion + " at " + bin)
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build Benthos: create %s: %w", dir, err)
	}
	// One build at a time (test packages run in parallel and may both
	// need it): the loser of the lock finds the winner's binary.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("build Benthos: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("build Benthos: lock %s: %w", lock.Name(), err)
	}
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		progress("using Benthos " + BenthosVersion + " at " + bin)
		return bin, nil
	}
	for _, name := range []string{"main.go", "go.mod", "go.sum"} {
		b, err := benthosSrc.ReadFile("benthos/" + name + ".txt")
		if err != nil {
			return "", fmt.Errorf("build Benthos: embedded %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("build Benthos: write %s: %w", filepath.Join(dir, name), err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build Benthos %s: the Go toolchain is needed to build it once: %w", BenthosVersion, err)
	}
	progress("building Benthos " + BenthosVersion + " into " + dir + " (first use only, about a minute)")
	start := time.Now()
	tmp := fmt.Sprintf("benthos.tmp%d", os.Getpid())
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(filepath.Join(dir, tmp))
		return "", fmt.Errorf("build Benthos %s in %s: go build: %w\n%s", BenthosVersion, dir, err, procstack.LastLines(string(out), 30))
	}
	if err := os.Rename(filepath.Join(dir, tmp), bin); err != nil {
		return "", fmt.Errorf("build Benthos: install %s: %w", bin, err)
	}
	progress(fmt.Sprintf("built Benthos %s in %s", BenthosVersion, time.Since(start).Round(time.Second)))
	return bin, nil
}

// PeerConfig is one peer run.
type PeerConfig struct {
	Bin     string // BuildBenthos's result
	NATSURL string // a JetStream-enabled server; RunPeer (re)creates stream BENCH_RAW on it
	ESURL   string
	// Index is the index the peer writes. RunPeer creates it (1 shard, 0
	// replicas, dynamic mapping off with the record envelope mapped: the
	// legacy exporter's documents are the record JSON) and fails if it
	// already exists; the caller deletes it when done.
	Index   string
	Lines   [][][]byte // per partition, the records' JSON lines (no newline)
	WorkDir string     // config and log files go here
}

// PeerResult is what RunPeer measured.
type PeerResult struct {
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"` // from the first publish until every record is searchable (count == Records)
	RecordsPerSec float64 `json:"records_per_second"`
	CPUSeconds    float64 `json:"cpu_seconds"` // of the Benthos process over the same window as Seconds
	PeakRSSMB     float64 `json:"peak_rss_mb"` // of the Benthos process over its whole life
}

// Tuning of the peer's run.
const (
	// peerMaxAckPending bounds the messages JetStream pushes to Benthos
	// unacknowledged: above max_in_flight × batch count (64 × 500) so the
	// output can keep every bulk request busy, and small enough (~25 MB of
	// records) to stay inside the subscription's pending limits, past
	// which the client would drop messages and wait ack_wait for their
	// redelivery.
	peerMaxAckPending = 32768
	// peerPubWindow is how many async publishes each partition's publisher
	// keeps unacknowledged.
	peerPubWindow = 2048
	// peerPoll is how often RunPeer counts the index.
	peerPoll = 200 * time.Millisecond
	// peerReadyTimeout bounds Benthos's start; peerStopGrace its stop.
	peerReadyTimeout = 60 * time.Second
	peerStopGrace    = 20 * time.Second
)

// benthosConfig is the peer's Benthos config; fields: HTTP address, NATS URL,
// ES URL, index. String values are JSON-quoted, which YAML reads as is.
const benthosConfig = `http:
  enabled: true
  address: %q
  debug_endpoints: false
input:
  nats_jetstream:
    urls: [%q]
    subject: %q
    stream: %q
    durable: %q
    deliver: all
    ack_wait: 30s
    max_ack_pending: %d
output:
  elasticsearch:
    urls: [%q]
    index: %q
    action: index
    id: '${! json("partitionId") }-${! json("position") }'
    sniff: false
    healthcheck: false
    timeout: 30s
    max_in_flight: 64
    batching:
      count: 500
      period: 1s
logger:
  level: INFO
  format: logfmt
shutdown_timeout: 10s
`

// peerMapping is the peer index: one shard, no replicas, and the legacy
// exporter's record envelope mapped with dynamic mapping off, so the value
// of every record type is kept in _source without growing the mapping.
const peerMapping = `{
  "settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {
    "dynamic": false,
    "properties": {
      "partitionId": {"type": "integer"},
      "position": {"type": "long"},
      "sourceRecordPosition": {"type": "long"},
      "key": {"type": "long"},
      "timestamp": {"type": "date", "format": "epoch_millis"},
      "recordType": {"type": "keyword"},
      "valueType": {"type": "keyword"},
      "intent": {"type": "keyword"},
      "rejectionType": {"type": "keyword"},
      "brokerVersion": {"type": "keyword"}
    }
  }
}`

// RunPeer runs the peer once and measures it. It (re)creates the JetStream
// stream BENCH_RAW (file storage, subjects bench.raw.>) and creates
// cfg.Index, starts Benthos with cfg.WorkDir/benthos.yaml (input
// nats_jetstream with a durable push consumer delivering all; output
// elasticsearch, one document per record with id <partitionId>-<position>
// so a redelivery overwrites, batches of 500 or 1 s, 64 in flight), waits
// for its /ready, then publishes every line as its own message with
// PublishAsync (one goroutine per partition onto bench.raw.<P>, every ack
// awaited) and counts the index (after a refresh) every 200 ms until it
// holds every line. It stops Benthos before returning, also on error;
// Benthos logs to cfg.WorkDir/benthos.log, whose tail errors include.
// RunPeer is not safe to run concurrently on the same NATS server.
func RunPeer(ctx context.Context, cfg PeerConfig) (PeerResult, error) {
	total := 0
	for _, p := range cfg.Lines {
		total += len(p)
	}
	if total == 0 {
		return PeerResult{}, errors.New("peer: no records to publish")
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return PeerResult{}, fmt.Errorf("peer: work dir: %w", err)
	}
	esURL := strings.TrimRight(cfg.ESURL, "/")
	hc := &http.Client{Timeout: 30 * time.Second}
	es, err := search.NewClient(config.Search{ES: config.Elasticsearch{URL: esURL}})
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer: Elasticsearch client: %w", err)
	}

	nc, err := nats.Connect(cfg.NATSURL, nats.Name("flowline-bench-peer"), nats.Timeout(10*time.Second))
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer: connect to NATS %s: %w", cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(peerPubWindow*len(cfg.Lines)+1),
		jetstream.WithPublishAsyncTimeout(time.Minute))
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer: JetStream on %s: %w", cfg.NATSURL, err)
	}
	if err := createPeerStream(ctx, js); err != nil {
		return PeerResult{}, err
	}
	if _, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + cfg.Index, Body: []byte(peerMapping), What: "create index " + cfg.Index}); err != nil {
		return PeerResult{}, fmt.Errorf("peer: %w", err)
	}

	port, err := procstack.FreePort()
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer: pick a port for Benthos's HTTP server: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	confPath := filepath.Join(cfg.WorkDir, "benthos.yaml")
	logPath := filepath.Join(cfg.WorkDir, "benthos.log")
	conf := fmt.Sprintf(benthosConfig, addr, cfg.NATSURL, peerSubjects, peerStream, peerDurable,
		peerMaxAckPending, esURL, cfg.Index)
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return PeerResult{}, fmt.Errorf("peer: write %s: %w", confPath, err)
	}
	proc, err := procstack.StartProcess("benthos", cfg.Bin, []string{"-c", confPath}, nil, logPath)
	if err != nil {
		return PeerResult{}, fmt.Errorf("peer: %w", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			proc.Stop(peerStopGrace)
		}
	}()
	fail := func(format string, a ...any) (PeerResult, error) {
		proc.Stop(peerStopGrace)
		stopped = true
		return PeerResult{}, fmt.Errorf("peer: "+format+"\nbenthos log (%s):\n%s",
			append(a, logPath, proc.Tail(30))...)
	}

	readyCtx, cancel := context.WithTimeout(ctx, peerReadyTimeout)
	err = procstack.WaitUntil(readyCtx, 100*time.Millisecond, func() (bool, error) {
		if done, werr := proc.Exited(); done {
			return false, fmt.Errorf("benthos exited: %v", werr)
		}
		req, _ := http.NewRequestWithContext(readyCtx, http.MethodGet, "http://"+addr+"/ready", nil)
		res, err := hc.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	cancel()
	if err != nil {
		return fail("Benthos not ready at http://%s/ready within %s: %v", addr, peerReadyTimeout, err)
	}

	base := proc.Usage()
	start := time.Now()
	pubCtx, pubCancel := context.WithCancel(ctx)
	defer pubCancel() // an early return stops the publishers
	pubErr := make(chan error, 1)
	go func() { pubErr <- publishPeer(pubCtx, js, cfg.Lines) }()

	indexed := 0
	err = procstack.WaitUntil(ctx, peerPoll, func() (bool, error) {
		select {
		case err := <-pubErr:
			if err != nil {
				return false, err
			}
		default:
		}
		if done, werr := proc.Exited(); done {
			return false, fmt.Errorf("benthos exited: %v", werr)
		}
		n, err := count(ctx, es, cfg.Index, nil)
		if err != nil {
			return false, err
		}
		indexed = n
		return n >= total, nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return fail("%d of %d records in index %s after %s: %v", indexed, total, cfg.Index, elapsed.Round(time.Millisecond), err)
	}
	if indexed != total {
		return fail("index %s holds %d documents, want %d", cfg.Index, indexed, total)
	}
	end := proc.Stop(peerStopGrace)
	stopped = true
	secs := elapsed.Seconds()
	return PeerResult{
		Records:       total,
		Seconds:       secs,
		RecordsPerSec: float64(total) / secs,
		CPUSeconds:    (end.CPU - base.CPU).Seconds(),
		PeakRSSMB:     end.PeakRSSMB,
	}, nil
}

// createPeerStream deletes stream BENCH_RAW if a previous run left it, and
// creates it empty, so the durable consumer Benthos creates starts fresh.
func createPeerStream(ctx context.Context, js jetstream.JetStream) error {
	if err := js.DeleteStream(ctx, peerStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("peer: delete old stream %s: %w", peerStream, err)
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     peerStream,
		Subjects: []string{peerSubjects},
		Storage:  jetstream.FileStorage,
		Replicas: 1,
	})
	if err != nil {
		return fmt.Errorf("peer: create stream %s: %w", peerStream, err)
	}
	return nil
}

// publishPeer publishes every line as its own message, one goroutine per
// partition onto bench.raw.<P> (P counting from 1), each keeping at most
// peerPubWindow publishes unacknowledged, and returns once every ack arrived
// or on the first failure.
func publishPeer(ctx context.Context, js jetstream.JetStream, lines [][][]byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(lines))
	for i, part := range lines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subject := fmt.Sprintf("bench.raw.%d", i+1)
			if err := publishPartition(ctx, js, subject, part); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none failed
}

// publishPartition publishes lines onto subject in order, awaiting the
// oldest ack once peerPubWindow are outstanding, and all at the end.
func publishPartition(ctx context.Context, js jetstream.JetStream, subject string, lines [][]byte) error {
	pending := make([]jetstream.PubAckFuture, 0, peerPubWindow)
	awaitOldest := func() error {
		f := pending[0]
		pending = pending[1:]
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return fmt.Errorf("publish to %s: %w", subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, line := range lines {
		if len(pending) == peerPubWindow {
			if err := awaitOldest(); err != nil {
				return err
			}
		}
		f, err := js.PublishAsync(subject, line)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", subject, err)
		}
		pending = append(pending, f)
	}
	for len(pending) > 0 {
		if err := awaitOldest(); err != nil {
			return err
		}
	}
	return nil
}
