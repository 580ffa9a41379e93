package stream_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
)

// jsonLog is a logger whose records a test can read back.
type jsonLog struct{ buf testenv.Buffer }

func (l *jsonLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records logged at level (any level for "").
func (l *jsonLog) records(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if level == "" || r["level"] == level {
			out = append(out, r)
		}
	}
	return out
}

// reasons collects what Open reports while it waits.
type reasons struct {
	mu   sync.Mutex
	errs []error
}

func (r *reasons) report(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }

func (r *reasons) last() (error, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return nil, 0
	}
	return r.errs[len(r.errs)-1], len(r.errs)
}

// freePort returns a port nothing listens on (yet).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts a real nats-server with opts (JetStream as opts says).
func startServer(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.NoSigs = "127.0.0.1", true
	if opts.Port == 0 {
		opts.Port = -1
	}
	if opts.StoreDir == "" {
		opts.StoreDir = t.TempDir()
	}
	s, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

type opened struct {
	conn *stream.Conn
	err  error
}

// openAsync runs stream.Open in the background.
func openAsync(t *testing.T, ctx context.Context, cfg config.NATS, streams config.Streams, log *slog.Logger, waiting func(error)) chan opened {
	done := make(chan opened, 1)
	go func() {
		c, err := stream.Open(ctx, cfg, streams, "test", log, waiting)
		done <- opened{c, err}
	}()
	t.Cleanup(func() {
		if o := <-done; o.conn != nil {
			o.conn.Close()
		}
	})
	return done
}

func natsConfig(url string) config.NATS {
	return config.NATS{URL: url, ConnectTimeout: config.Duration(time.Second)}
}

// requireStreams fails unless Flowline's three streams exist on the server
// behind conn.
func requireStreams(t *testing.T, conn *stream.Conn) {
	t.Helper()
	for _, name := range []string{stream.RecordsStream, stream.DocsStream, stream.DLQStream} {
		if _, err := conn.JS.Stream(context.Background(), name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}

// waitOpen waits for Open to return and hands its connection back to the
// test (openAsync's cleanup closes it).
func waitOpen(t *testing.T, done chan opened) *stream.Conn {
	t.Helper()
	select {
	case o := <-done:
		done <- o
		if o.err != nil {
			t.Fatalf("Open: %v", o.err)
		}
		return o.conn
	case <-time.After(30 * time.Second):
		t.Fatal("Open did not return within 30s of JetStream becoming available")
		return nil
	}
}

func TestOpenWaitsForANATSServerStartedAfterTheService(t *testing.T) {
	port := freePort(t)
	log := &jsonLog{}
	var why reasons
	done := openAsync(t, context.Background(), natsConfig("nats://127.0.0.1:"+itoa(port)), testenv.Streams(), log.logger(), why.report)
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, n := why.last(); n < 2 {
			return errors.New("Open has not yet retried twice")
		}
		return nil
	})
	select {
	case o := <-done:
		t.Fatalf("Open returned before the server started: %v", o.err)
	default:
	}
	if len(log.records(t, "WARN")) == 0 {
		t.Errorf("no WARN while waiting:\n%s", log.buf.String())
	}
	startServer(t, server.Options{Port: port, JetStream: true})
	requireStreams(t, waitOpen(t, done))
}

// TestOpenWaitsForJetStreamToBeEnabled: a server that answers but has no
// JetStream yet (a node restarting, a cluster without its meta leader) is
// waited for, with the reason reported, instead of ending the service.
func TestOpenWaitsForJetStreamToBeEnabled(t *testing.T) {
	s := startServer(t, server.Options{JetStream: false})
	var why reasons
	done := openAsync(t, context.Background(), natsConfig(s.ClientURL()), testenv.Streams(), testenv.Logger(t), why.report)
	testenv.Eventually(t, 10*time.Second, func() error {
		err, n := why.last()
		if n < 2 || !strings.Contains(strings.ToLower(err.Error()), "jetstream") {
			return errors.New("no second reason naming JetStream yet")
		}
		return nil
	})
	select {
	case o := <-done:
		t.Fatalf("Open returned while JetStream was disabled: %v", o.err)
	default:
	}
	if err := s.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	requireStreams(t, waitOpen(t, done))
}

// TestOpenReportsRejectedCredentialsAtErrorAndKeepsRetrying: a wrong
// password is not "not reachable yet": it is logged at ERROR naming the
// settings, reported as ErrCredentialsRejected, retried, and once the
// server accepts the credentials the service goes on.
func TestOpenReportsRejectedCredentialsAtErrorAndKeepsRetrying(t *testing.T) {
	opts := server.Options{JetStream: true, Username: "flow", Password: "right", StoreDir: t.TempDir()}
	s := startServer(t, opts)
	log := &jsonLog{}
	var why reasons
	cfg := natsConfig(s.ClientURL())
	cfg.User, cfg.Password = "flow", "wrong-s3cret"
	done := openAsync(t, context.Background(), cfg, testenv.Streams(), log.logger(), why.report)
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, n := why.last(); n < 2 {
			return errors.New("fewer than two attempts")
		}
		return nil
	})
	err, _ := why.last()
	if !errors.Is(err, stream.ErrCredentialsRejected) || !strings.Contains(err.Error(), "FLOWLINE_NATS_PASSWORD") {
		t.Errorf("reason %v: want ErrCredentialsRejected naming FLOWLINE_NATS_PASSWORD", err)
	}
	errs := log.records(t, "ERROR")
	if len(errs) == 0 || !strings.Contains(errs[0]["msg"].(string), "rejected the credentials") {
		t.Errorf("no ERROR saying the credentials were rejected:\n%s", log.buf.String())
	}
	if strings.Contains(log.buf.String(), "wrong-s3cret") {
		t.Errorf("the password was logged:\n%s", log.buf.String())
	}

	// The operator fixes the server's side: the service gets in.
	opts.Password = "wrong-s3cret"
	opts.Host, opts.Port = "127.0.0.1", s.Addr().(*net.TCPAddr).Port
	if err := s.ReloadOptions(&opts); err != nil {
		t.Fatal(err)
	}
	requireStreams(t, waitOpen(t, done))
}

func TestConnectNeverLogsOrReturnsTheNATSURLPassword(t *testing.T) {
	log := &jsonLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := stream.Connect(ctx, natsConfig("nats://flow:s3cret@127.0.0.1:"+itoa(freePort(t))), "test", log.logger())
	if err == nil {
		t.Fatal("connected to nothing")
	}
	warns := log.records(t, "WARN")
	if len(warns) == 0 {
		t.Fatal("nothing logged while NATS was unreachable")
	}
	if strings.Contains(log.buf.String(), "s3cret") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("password in the log or the error:\nerror: %v\nlog:\n%s", err, log.buf.String())
	}
	if u, _ := warns[0]["url"].(string); !strings.HasPrefix(u, "nats://flow:xxxxx@127.0.0.1:") {
		t.Errorf("logged url %q, want it redacted", u)
	}
}

// TestStreamSettingsAreChangedOnlyByTheirOwner: services started with
// different settings do not flip the streams back and forth; a service
// that does not manage the settings logs each difference at ERROR with
// both values, and only the owner (FLOWLINE_STREAM_MANAGE) applies its
// own.
func TestStreamSettingsAreChangedOnlyByTheirOwner(t *testing.T) {
	ns := testenv.NATS(t)
	ctx := context.Background()
	a := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)}
	b := config.Streams{Replicas: 3, RecordsMaxAge: config.Duration(3 * time.Hour), DLQMaxAge: config.Duration(time.Hour)}
	open := func(cfg config.Streams, log *slog.Logger) *stream.Conn {
		t.Helper()
		octx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		c, err := stream.Open(octx, testenv.NATSConfig(ns), cfg, "test", log, func(err error) { t.Logf("waiting: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	recordsMaxAge := func(c *stream.Conn) time.Duration {
		t.Helper()
		st, err := c.JS.Stream(ctx, stream.RecordsStream)
		if err != nil {
			t.Fatal(err)
		}
		return st.CachedInfo().Config.MaxAge
	}

	c := open(a, testenv.Logger(t))
	for i, cfg := range []config.Streams{b, a, b} {
		log := &jsonLog{}
		open(cfg, log.logger())
		if got := recordsMaxAge(c); got != time.Hour {
			t.Fatalf("start %d: records max age %s, want the first service's 1h kept", i, got)
		}
		if cfg == b {
			diffs := map[string]map[string]any{}
			for _, r := range log.records(t, "ERROR") {
				if r["stream"] == stream.RecordsStream {
					diffs[r["setting"].(string)] = r
				}
			}
			if r := diffs["max_age"]; r == nil || r["stream_value"] != "1h0m0s" || r["config_value"] != "3h0m0s" || r["variable"] != "FLOWLINE_STREAM_RECORDS_MAX_AGE" {
				t.Errorf("start %d: no ERROR naming max_age 1h0m0s vs 3h0m0s and its variable:\n%s", i, log.buf.String())
			}
			if r := diffs["replicas"]; r == nil || r["stream_value"] != "1" || r["config_value"] != "3" {
				t.Errorf("start %d: no ERROR naming replicas 1 vs 3:\n%s", i, log.buf.String())
			}
		} else if errs := log.records(t, "ERROR"); len(errs) > 0 {
			t.Errorf("start %d: matching settings logged ERROR: %v", i, errs)
		}
	}

	owner := a
	owner.RecordsMaxAge, owner.Manage = config.Duration(2*time.Hour), true
	open(owner, testenv.Logger(t))
	if got := recordsMaxAge(c); got != 2*time.Hour {
		t.Errorf("records max age %s after the owner started, want its 2h", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
