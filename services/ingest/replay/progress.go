package replay

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress shows a replay's progress: records sent, share of the file read,
// rate and ETA; redrawn in place on a terminal (every 200 ms), a line every
// 5 s otherwise. A nil *progress does nothing.
type progress struct {
	w        io.Writer
	terminal bool
	name     string
	size     int64
	read     *int64 // bytes of the file read, atomic
	stats    *Stats
	start    time.Time
	stopc    chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
}

func startProgress(w io.Writer, terminal bool, name string, size int64, read *int64, stats *Stats) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, terminal: terminal, name: name, size: size, read: read, stats: stats, start: time.Now(), stopc: make(chan struct{})}
	every := 5 * time.Second
	if terminal {
		every = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stopc:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// line renders the progress line.
func (p *progress) line() string {
	sent := atomic.LoadInt64(&p.stats.Sent)
	read := atomic.LoadInt64(p.read)
	el := time.Since(p.start)
	rate := float64(sent) / max(el.Seconds(), 1e-3)
	frac := 1.0
	if p.size > 0 {
		frac = min(float64(read)/float64(p.size), 1)
	}
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	}
	return fmt.Sprintf("%s: %d records sent, %5.1f%% of the file, %.0f records/s, ETA %s (accepted %d, duplicates %d, rejected %d)",
		p.name, sent, 100*frac, rate, eta, atomic.LoadInt64(&p.stats.Accepted), atomic.LoadInt64(&p.stats.Duplicates), atomic.LoadInt64(&p.stats.Rejected))
}

func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.line()
	switch {
	case p.terminal && final:
		fmt.Fprintf(p.w, "\r%s\033[K\n", l)
	case p.terminal:
		fmt.Fprintf(p.w, "\r%s\033[K", l)
	default:
		fmt.Fprintln(p.w, l)
	}
}

// note prints a message (a retry) on its own line.
func (p *progress) note(msg string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\033[K\n", b.String())
	} else {
		fmt.Fprintln(p.w, b.String())
	}
}

func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.stopc)
	p.wg.Wait()
	p.draw(true)
}
