// Package progress draws the progress line of Flowline's command-line tools
// (replay, generate, bench): on a terminal one line redrawn in place, in a
// log or a pipe a line of its own now and then. Callers render the text;
// Rate and ETA help them with the figures.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

const (
	// RedrawEvery is how often Follow redraws the line on a terminal.
	RedrawEvery = 200 * time.Millisecond
	// PrintEvery is how often the line is printed when w is not a terminal.
	PrintEvery = 5 * time.Second
)

// Line is a progress line on w. On a terminal it is redrawn in place;
// elsewhere each state shown is printed as a line of its own, at most every
// PrintEvery. Notes go on lines of their own. Safe for concurrent use; a nil
// *Line does nothing.
type Line struct {
	w        io.Writer
	terminal bool

	mu      sync.Mutex
	open    bool      // a line drawn in place awaits its end
	printed time.Time // when a state was last printed (not a terminal)
}

// New returns a Line on w (nil: no progress, a nil *Line); terminal says w
// is a terminal.
func New(w io.Writer, terminal bool) *Line {
	if w == nil {
		return nil
	}
	return &Line{w: w, terminal: terminal}
}

// Show shows text as the current state: drawn in place on a terminal,
// otherwise printed if PrintEvery has passed since the last print.
func (l *Line) Show(text string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.terminal && time.Since(l.printed) < PrintEvery {
		return
	}
	l.draw(text)
}

// Final shows text as the last state and ends the line: on a terminal it
// replaces the line drawn in place; otherwise it is printed, however soon
// after the last print.
func (l *Line) Final(text string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.draw(text)
	l.end()
}

// Note prints text on a line of its own. On a terminal it takes the place of
// the line drawn in place, which the next Show draws again below it.
func (l *Line) Note(text string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.terminal {
		fmt.Fprintf(l.w, "\r%s\033[K\n", text)
		l.open = false
		return
	}
	fmt.Fprintln(l.w, text)
}

// End ends the line drawn in place, leaving it on the screen; the next Show
// starts a new one.
func (l *Line) End() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.end()
}

// Follow shows text() every RedrawEvery on a terminal and every PrintEvery
// otherwise, until stop, which shows it a last time with Final.
func (l *Line) Follow(text func() string) (stop func()) {
	if l == nil {
		return func() {}
	}
	every := PrintEvery
	if l.terminal {
		every = RedrawEvery
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				l.mu.Lock()
				l.draw(text()) // the ticker is the throttle: a tick a little early still prints
				l.mu.Unlock()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		l.Final(text())
	}
}

// draw draws text in place on a terminal, as a line otherwise. l.mu held.
func (l *Line) draw(text string) {
	if l.terminal {
		fmt.Fprintf(l.w, "\r%s\033[K", text)
		l.open = true
		return
	}
	fmt.Fprintln(l.w, text)
	l.printed = time.Now()
}

// end ends a line drawn in place. l.mu held.
func (l *Line) end() {
	if l.open {
		fmt.Fprintln(l.w)
		l.open = false
	}
}

// Rate is n per second over elapsed.
func Rate(n int64, elapsed time.Duration) float64 {
	return float64(n) / max(elapsed.Seconds(), 1e-3)
}

// ETA is the time left, to the second, when the share done (0..1) of the
// work took elapsed; "?" before anything is done.
func ETA(elapsed time.Duration, done float64) string {
	if done <= 0 {
		return "?"
	}
	return (time.Duration(float64(elapsed)/done) - elapsed).Round(time.Second).String()
}
