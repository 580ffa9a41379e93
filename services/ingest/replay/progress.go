package replay

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowline/flowline/internal/progress"
)

// replayProgress shows a replay's progress on a progress.Line: records
// sent, share of the file read, rate and ETA. A nil *replayProgress does
// nothing.
type replayProgress struct {
	line  *progress.Line
	name  string
	size  int64
	read  *int64 // bytes of the file read, atomic
	stats *Stats
	start time.Time
	stop  func() // stops following and shows the final line
}

func startProgress(w io.Writer, terminal bool, name string, size int64, read *int64, stats *Stats) *replayProgress {
	if w == nil {
		return nil
	}
	p := &replayProgress{line: progress.New(w, terminal), name: name, size: size, read: read, stats: stats, start: time.Now()}
	p.stop = p.line.Follow(p.text)
	return p
}

// text renders the progress line.
func (p *replayProgress) text() string {
	sent := atomic.LoadInt64(&p.stats.Sent)
	read := atomic.LoadInt64(p.read)
	el := time.Since(p.start)
	frac := 1.0
	if p.size > 0 {
		frac = min(float64(read)/float64(p.size), 1)
	}
	return fmt.Sprintf("%s: %d records sent, %5.1f%% of the file, %.0f records/s, ETA %s (accepted %d, duplicates %d, rejected %d)",
		p.name, sent, 100*frac, progress.Rate(sent, el), progress.ETA(el, frac),
		atomic.LoadInt64(&p.stats.Accepted), atomic.LoadInt64(&p.stats.Duplicates), atomic.LoadInt64(&p.stats.Rejected))
}

// note prints a message (a retry) with its key=value pairs on its own line.
func (p *replayProgress) note(msg string, args ...any) {
	if p == nil {
		return
	}
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	p.line.Note(b.String())
}

func (p *replayProgress) finish() {
	if p != nil {
		p.stop()
	}
}
