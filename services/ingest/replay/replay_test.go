package replay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/ingest/replay"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// startIngest runs a real ingest on an embedded NATS server and returns its
// push URL.
func startIngest(t *testing.T, mutate func(*ingest.Config)) string {
	ns := testenv.NATS(t)
	cfg := ingest.Config{
		Addr: "127.0.0.1:0", MaxBodyBytes: 8 << 20, MaxRecords: 10_000,
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 1000, BatchBytes: 768 << 10}, NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s := ingest.New(cfg, testenv.Deps(t))
	testenv.Run(t, s)
	return "http://" + s.Addr() + "/v1/records"
}

// records simulates n demo instances on two partitions and returns their
// records as NDJSON lines.
func records(n int) []string {
	var lines []string
	for _, id := range []int32{1, 2} {
		p := simulate.NewPartition(id, time.UnixMilli(1_763_884_800_000))
		for range n / 2 {
			in := simulate.Start(p, simulate.DemoProcess(int64(id)<<51+1))
			for !in.Done {
				in.Step(time.Second)
			}
		}
		for _, r := range p.Take() {
			lines = append(lines, string(r.JSON()))
		}
	}
	return lines
}

// write writes lines to dir/name, gzip-compressed when name ends in .gz.
func write(t *testing.T, dir, name string, lines []string) string {
	t.Helper()
	var buf bytes.Buffer
	body := strings.Join(lines, "\n") + "\n"
	if strings.HasSuffix(name, ".gz") {
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
	} else {
		buf.WriteString(body)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayGzipFileWithProgressAndCheckpoint(t *testing.T) {
	url := startIngest(t, nil)
	lines := records(40)
	path := write(t, t.TempDir(), "dump.ndjson.gz", lines)
	var progress bytes.Buffer
	opts := replay.Options{Ingest: url, Batch: 97, Progress: &progress}

	st, err := replay.Run(context.Background(), opts, path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != int64(len(lines)) || st.Accepted != int64(len(lines)) || st.Duplicates != 0 || st.Lines != int64(len(lines)) {
		t.Fatalf("stats %+v, want %d records sent and accepted", st, len(lines))
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("%d records sent, 100.0%% of the file", len(lines))) {
		t.Errorf("progress: %q", progress.String())
	}
	// The checkpoint says the whole file is done: a second run sends nothing.
	st, err = replay.Run(context.Background(), opts, path)
	if err != nil || st.Sent != 0 {
		t.Fatalf("second run: %+v %v, want nothing sent", st, err)
	}
	// From line 1 again: everything is a duplicate.
	opts.FromLine = 1
	st, err = replay.Run(context.Background(), opts, path)
	if err != nil || st.Accepted != 0 || st.Duplicates != int64(len(lines)) {
		t.Fatalf("from line 1: %+v %v, want all duplicates", st, err)
	}
}

func TestBadLineStopsThenResumesAfterTheFix(t *testing.T) {
	url := startIngest(t, nil)
	lines := records(20)
	bad := 150
	good := lines[bad-1]
	lines[bad-1] = `{"partitionId":1,"position":"not a number"}`
	dir := t.TempDir()
	path := write(t, dir, "dump.ndjson", lines)
	opts := replay.Options{Ingest: url, Batch: 40}

	st, err := replay.Run(context.Background(), opts, path)
	if !errors.Is(err, replay.ErrInvalidLine) || !strings.Contains(err.Error(), fmt.Sprintf("dump.ndjson:%d:", bad)) || !strings.Contains(err.Error(), "position") {
		t.Fatalf("err = %v, want an invalid line naming dump.ndjson:%d and the field", err, bad)
	}
	if st.Accepted != int64(bad-1) {
		t.Fatalf("accepted %d records before the bad line, want %d", st.Accepted, bad-1)
	}

	// Fixed, the replay resumes at the bad line from its checkpoint.
	lines[bad-1] = good
	write(t, dir, "dump.ndjson", lines)
	st, err = replay.Run(context.Background(), opts, path)
	if err != nil || st.Sent != int64(len(lines)-bad+1) || st.Duplicates != 0 {
		t.Fatalf("resumed: %+v %v, want the %d records from line %d on", st, err, len(lines)-bad+1, bad)
	}
}

func TestSkipInvalidWritesRejectsAndGoesOn(t *testing.T) {
	url := startIngest(t, nil)
	lines := records(10)
	lines = append(lines[:5], append([]string{`{not json`}, lines[5:]...)...)
	// Going backwards within a partition is invalid too.
	lines = append(lines, strings.Replace(lines[0], `"position":1,`, `"position":0,`, 1))
	dir := t.TempDir()
	path := write(t, dir, "dump.ndjson", lines)
	rejects := filepath.Join(dir, "rejects.ndjson")
	st, err := replay.Run(context.Background(), replay.Options{Ingest: url, SkipInvalid: true, RejectFile: rejects, NoCheckpoint: true}, path)
	if err != nil || st.Rejected != 2 || st.Accepted != int64(len(lines)-2) {
		t.Fatalf("%+v %v, want 2 rejected and the rest accepted", st, err)
	}
	got, _ := os.ReadFile(rejects)
	reasons, _ := os.ReadFile(rejects + ".reasons")
	if strings.Count(string(got), "\n") != 2 || !strings.HasPrefix(string(got), "{not json\n") {
		t.Errorf("reject file: %q", got)
	}
	if !strings.Contains(string(reasons), "dump.ndjson:6: ") || !strings.Contains(string(reasons), fmt.Sprintf("dump.ndjson:%d: partition 1 goes backwards", len(lines))) {
		t.Errorf("reasons: %q", reasons)
	}
}

func TestTokenAndTooLargeRequests(t *testing.T) {
	url := startIngest(t, func(c *ingest.Config) { c.Token = "s3cret"; c.MaxRecords = 30 })
	lines := records(10)
	path := write(t, t.TempDir(), "dump.ndjson", lines)
	_, err := replay.Run(context.Background(), replay.Options{Ingest: url, NoCheckpoint: true}, path)
	if !errors.Is(err, replay.ErrRefused) || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("without token: %v, want a refusal that mentions --token-file", err)
	}
	// 200 records per request is over the server's 30: requests are halved
	// until ingest takes them.
	st, err := replay.Run(context.Background(), replay.Options{Ingest: url, Token: "s3cret", Batch: 200, NoCheckpoint: true}, path)
	if err != nil || st.Accepted != int64(len(lines)) {
		t.Fatalf("with token: %+v %v", st, err)
	}
}

// While JetStream is unavailable ingest answers 503 and the replay waits
// and retries; nothing is lost.
func TestRetriesWhileTheBrokerIsDown(t *testing.T) {
	ns := testenv.NATS(t)
	cfg := ingest.Config{
		Addr: "127.0.0.1:0", MaxBodyBytes: 8 << 20, MaxRecords: 10_000,
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 1000, BatchBytes: 768 << 10}, NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
	s := ingest.New(cfg, testenv.Deps(t))
	testenv.Run(t, s)
	js := testenv.Connect(t, ns).JS
	ctx := context.Background()
	// Refuse writes: the records stream is deleted, so publishing fails.
	if err := js.DeleteStream(ctx, stream.RecordsStream); err != nil {
		t.Fatal(err)
	}
	lines := records(10)
	path := write(t, t.TempDir(), "dump.ndjson", lines)
	var progress testenv.Buffer // written by the replay's goroutine
	done := make(chan error, 1)
	var st replay.Stats
	go func() {
		var err error
		st, err = replay.Run(ctx, replay.Options{Ingest: "http://" + s.Addr() + "/v1/records", NoCheckpoint: true, Progress: &progress}, path)
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("replay ended while the broker refused: %v", err)
	default:
	}
	if err := stream.EnsureStreams(ctx, js, testenv.Streams()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || st.Accepted != int64(len(lines)) {
			t.Fatalf("%+v %v", st, err)
		}
		if !strings.Contains(progress.String(), "ingest unavailable, retrying") {
			t.Errorf("no retry was shown: %q", progress.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("replay did not finish after the broker came back")
	}
}

// A record over ingest's FLOWLINE_INGEST_MAX_RECORD_BYTES can never be
// stored: ingest answers 413 naming it, and the replay treats it as an
// invalid line (stops naming the file and line, or with SkipInvalid writes
// it to the reject file and goes on); it never retries it. The records
// around it are stored.
func TestRecordTooLargeForIngestIsAnInvalidLineNotARetry(t *testing.T) {
	url := startIngest(t, func(c *ingest.Config) { c.MaxBodyBytes, c.MaxRecordBytes = 32<<20, 1<<20 })
	lines := records(2)
	big := strings.Replace(lines[3], `"value":{`, `"value":{"huge":"`+strings.Repeat("x", 2<<20)+`",`, 1)
	if big == lines[3] {
		t.Fatal("no value to grow")
	}
	lines[3] = big
	dir := t.TempDir()
	path := write(t, dir, "dump.ndjson", lines)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	st, err := replay.Run(ctx, replay.Options{Ingest: url, Batch: 10, NoCheckpoint: true}, path)
	if !errors.Is(err, replay.ErrInvalidLine) || !strings.Contains(err.Error(), "dump.ndjson:4:") || !strings.Contains(err.Error(), "FLOWLINE_INGEST_MAX_RECORD_BYTES") {
		t.Fatalf("err = %v, want an invalid line naming dump.ndjson:4 and the limit", err)
	}
	if st.Accepted != 3 {
		t.Fatalf("accepted %d records before the large one, want 3", st.Accepted)
	}

	rejects := filepath.Join(dir, "rejects.ndjson")
	st, err = replay.Run(ctx, replay.Options{Ingest: url, Batch: 10, NoCheckpoint: true, SkipInvalid: true, RejectFile: rejects}, path)
	if err != nil || st.Rejected != 1 || st.Accepted+st.Duplicates != int64(len(lines)-1) || st.Accepted != int64(len(lines)-4) {
		t.Fatalf("%+v %v, want the large record rejected and every other one stored", st, err)
	}
	reasons, _ := os.ReadFile(rejects + ".reasons")
	if !strings.Contains(string(reasons), "dump.ndjson:4: ingest cannot store this record") || !strings.Contains(string(reasons), "1048576") {
		t.Errorf("reasons: %q", reasons)
	}
}
