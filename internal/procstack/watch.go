package procstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
)

// Backlog is what the pipeline still holds from one stream on.
type Backlog struct {
	Consumers int    // consumers of the source stream
	Records   uint64 // source messages pending or unacknowledged
	Documents uint64 // document messages not yet written
}

// Open is everything still to do.
func (b Backlog) Open() uint64 { return b.Records + b.Documents }

// Pending reads the backlog from the stream from (the records, or the
// Camunda 7 pages) on: its consumers' pending and unacknowledged messages
// (the aggregators' one per partition, the c7 fold's one per source), and
// the documents the writers have not written (their consumer's, or the
// documents work queue's messages, whichever is more).
func Pending(ctx context.Context, js jetstream.JetStream, from string) (Backlog, error) {
	// A request whose answer is lost (a server going down) waits for its
	// context: bound it, and stop the consumer lister with it.
	ctx, cancel := context.WithTimeout(ctx, APITimeout)
	defer cancel()
	var b Backlog
	for _, name := range []string{from, stream.DocsStream} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return b, fmt.Errorf("stream %s: %w", name, err)
		}
		lister := s.ListConsumers(ctx)
		for ci := range lister.Info() {
			open := ci.NumPending + uint64(ci.NumAckPending)
			if name == from {
				b.Consumers++
				b.Records += open
			} else {
				b.Documents += open
			}
		}
		if err := lister.Err(); err != nil {
			return b, fmt.Errorf("listing consumers of %s: %w", name, err)
		}
		if name == stream.DocsStream {
			info, err := s.Info(ctx)
			if err != nil {
				return b, fmt.Errorf("stream %s: %w", name, err)
			}
			b.Documents = max(b.Documents, info.State.Msgs)
		}
	}
	return b, nil
}

// Drained reports whether everything on the stream from was folded into
// documents and every document written: at least consumers consumers of
// from exist and Pending finds nothing open. status says what is still
// open.
func Drained(ctx context.Context, js jetstream.JetStream, from string, consumers int) (bool, string) {
	ok, _, status := DrainState(ctx, js, from, consumers)
	return ok, status
}

// DrainState is Drained with the messages still open (-1 when the
// backlog could not be read), for WaitProgress.
func DrainState(ctx context.Context, js jetstream.JetStream, from string, consumers int) (drained bool, open int64, status string) {
	b, err := Pending(ctx, js, from)
	if err != nil {
		return false, -1, err.Error()
	}
	status = fmt.Sprintf("%d of %d consumer(s) of %s, messages open %d, document messages open %d", b.Consumers, consumers, from, b.Records, b.Documents)
	return b.Consumers >= consumers && b.Open() == 0, int64(b.Open()), status
}

// APITimeout bounds each JetStream API request of the harnesses' watchers.
const APITimeout = 5 * time.Second

// DeadLetters counts the messages on the dead-letter stream (0 when it
// does not exist yet).
func DeadLetters(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	n, err := StreamMsgs(ctx, js, stream.DLQStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	return n, err
}

// StreamMsgs is the number of messages in stream name.
func StreamMsgs(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	st, err := StreamState(ctx, js, name)
	return st.Msgs, err
}

// StreamState reads stream name's state, the request bounded by
// APITimeout.
func StreamState(ctx context.Context, js jetstream.JetStream, name string) (jetstream.StreamState, error) {
	ctx, cancel := context.WithTimeout(ctx, APITimeout)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	return info.State, nil
}

// Sample is one sample of a metric in the Prometheus text format: its
// labels as written between the braces, and its value.
type Sample struct {
	Labels string
	Value  float64
}

// Scrape reads the samples of metric name from a service's /metrics.
func Scrape(ctx context.Context, client *http.Client, admin, name string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: HTTP %d", admin, res.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var out []Sample
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		var labels string
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		out = append(out, Sample{Labels: labels, Value: v})
	}
	return out, nil
}

// ScrapeCounter sums the samples of a counter whose labels contain one of
// labels, from a service's /metrics (Prometheus text format).
func ScrapeCounter(ctx context.Context, admin, name string, labels ...string) (float64, error) {
	samples, err := Scrape(ctx, http.DefaultClient, admin, name)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, s := range samples {
		for _, l := range labels {
			if strings.Contains(s.Labels, l) {
				total += s.Value
				break
			}
		}
	}
	return total, nil
}
