package faults

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"
)

// ingestProbe measures how long ingest takes to answer 202 again after a
// NATS node is killed: it posts one record every 100 ms to every ingest
// replica (a record ingest already took, so the answer is a duplicate
// that changes nothing) until each has answered 202 once.
type ingestProbe struct {
	urls []string
	body []byte
	from time.Time

	mu   sync.Mutex
	at   time.Time // when the last replica first answered 202
	done bool
}

func newIngestProbe(urls []string, body []byte, from time.Time) *ingestProbe {
	return &ingestProbe{urls: urls, body: body, from: from}
}

// start probes in the background until every replica answered or ctx
// ends.
func (p *ingestProbe) start(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	go func() {
		defer cancel()
		client := &http.Client{Timeout: 2 * time.Second}
		left := map[string]bool{}
		for _, u := range p.urls {
			left[u] = true
		}
		for len(left) > 0 && ctx.Err() == nil {
			for u := range left {
				res, err := client.Post(u, "application/x-ndjson", bytes.NewReader(p.body))
				if err != nil {
					continue
				}
				res.Body.Close()
				if res.StatusCode == http.StatusAccepted {
					delete(left, u)
				}
			}
			if len(left) > 0 {
				sleep(ctx, 100*time.Millisecond)
			}
		}
		p.mu.Lock()
		p.at, p.done = time.Now(), ctx.Err() == nil
		p.mu.Unlock()
	}()
}

// answered reports when every replica had answered 202.
func (p *ingestProbe) answered() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at, p.done
}
