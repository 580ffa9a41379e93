package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// soakSample is how often the soak reads every process's memory and the
// backlog.
const soakSample = 10 * time.Second

// Soak is a soak run's findings: no faults, half the maximum rate.
type Soak struct {
	Seconds float64 `json:"seconds"`
	// MaxRate is the clean stack's records/s at full speed (the
	// calibration), Rate half of it.
	MaxRate    float64 `json:"max_records_per_second"`
	Rate       float64 `json:"records_per_second"`
	Partitions int     `json:"partitions"`
	// Processes: each process's resident memory, first and last sample
	// and the fitted slope (least squares over the samples after the
	// first quarter, the warm-up).
	Processes []SoakProcess `json:"processes"`
	// MaxOpen is the largest backlog sampled (messages open);
	// LagUnbounded says the backlog's fitted slope did not stay flat.
	MaxOpen   uint64   `json:"max_open_messages"`
	OpenSlope float64  `json:"open_slope_per_hour"`
	Growing   []string `json:"growing,omitempty"` // processes whose memory trends upward
	// SampleHours is when each sample after the warm-up was taken, hours
	// into the soak.
	SampleHours  []float64 `json:"sample_hours"`
	LagUnbounded bool      `json:"lag_unbounded"`
}

// SoakProcess is one process's memory over the soak.
type SoakProcess struct {
	Name        string  `json:"name"`
	FirstMB     float64 `json:"first_rss_mb"`
	LastMB      float64 `json:"last_rss_mb"`
	MaxMB       float64 `json:"max_rss_mb"`
	SlopeMBPerH float64 `json:"slope_mb_per_hour"`
	Samples     int     `json:"samples"`
	// RSSMB is every sample after the warm-up, at the soak's SampleHours,
	// so that another trend can be fitted from the report.
	RSSMB []float64 `json:"rss_mb"`
}

// soakWatch samples a stack during a soak. Used by one goroutine.
type soakWatch struct {
	st    *procstack.Stack
	times []float64 // hours since the start
	rss   map[string][]float64
	open  []float64
}

func newSoakWatch(st *procstack.Stack) *soakWatch {
	return &soakWatch{st: st, rss: map[string][]float64{}}
}

// run samples every soakSample for d (or until the push ends early with
// an error).
func (s *soakWatch) run(ctx context.Context, d time.Duration, pushDone chan error) error {
	start := time.Now()
	t := time.NewTicker(soakSample)
	defer t.Stop()
	watch := pushDone
	for time.Since(start) < d {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-watch:
			pushDone <- err // for the caller
			if err != nil {
				return err
			}
			watch = nil
			continue
		case <-t.C:
		}
		if err := s.st.CheckAlive(); err != nil {
			return err
		}
		b, err := procstack.Pending(ctx, s.st.JS, stream.RecordsStream)
		if err != nil {
			continue // an unreadable backlog is no sample
		}
		s.times = append(s.times, time.Since(start).Hours())
		for _, p := range s.st.Procs {
			s.rss[p.Name] = append(s.rss[p.Name], p.RSSMB())
		}
		s.open = append(s.open, float64(b.Open()))
	}
	return nil
}

// growthLimit is the memory trend over which a process counts as growing:
// the fitted slope must not add more than this share of the process's
// mean memory per hour.
const growthLimit = 0.10

// warmUp is the share of the soak's samples left out of the trends: the
// processes fill their caches and pools first.
const warmUp = 0.25

// finish fits the trends into out, over the samples after the warm-up.
// NATS servers are reported but not judged: they hold the retained
// records stream, which grows by design.
func (s *soakWatch) finish(out *Soak) {
	skip := int(float64(len(s.times)) * warmUp)
	times := s.times[skip:]
	names := make([]string, 0, len(s.rss))
	for name := range s.rss {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		xs := s.rss[name][skip:]
		if len(xs) == 0 {
			continue
		}
		p := SoakProcess{Name: name, FirstMB: xs[0], LastMB: xs[len(xs)-1], MaxMB: slices.Max(xs),
			SlopeMBPerH: slope(times, xs), Samples: len(xs), RSSMB: xs}
		judged := !strings.HasPrefix(name, "nats")
		if mean := meanOf(xs); judged && mean > 0 && p.SlopeMBPerH > growthLimit*mean {
			out.Growing = append(out.Growing, fmt.Sprintf("%s +%.1f MB/h (mean %.0f MB)", name, p.SlopeMBPerH, mean))
		}
		out.Processes = append(out.Processes, p)
	}
	for _, o := range s.open {
		out.MaxOpen = max(out.MaxOpen, uint64(o))
	}
	out.OpenSlope = slope(times, s.open[skip:])
	out.SampleHours = times
	// The backlog is bounded when its trend adds less over the soak than
	// ten seconds' worth of record messages (a message holds a request's
	// records of one partition; the pusher sends one per partition every
	// pushTick).
	perSecond := float64(out.Partitions) / pushTick.Seconds()
	out.LagUnbounded = out.OpenSlope*out.Seconds/3600 > 10*perSecond
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	mx, my := meanOf(xs), meanOf(ys)
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func meanOf(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// calibrationRecords is the size of the calibration workload: large
// enough that the push lasts a minute or more, so that the rate is what
// the stack sustains end to end (Elasticsearch merging included), not what
// the streams' buffers absorb. 200,000 records (13 s) measured 15,321
// records/s where 500,000 measured 11,400.
const calibrationRecords = 1_000_000

// calibrate measures the clean stack's maximum rate with a full-speed
// push of a calibration workload until every consumer is drained, and
// returns half of it and the records a soak of Config.Soak needs at that
// rate.
func (h *harness) calibrate(ctx context.Context) (rate float64, records int64, err error) {
	h.progress("soak: measuring the maximum rate with %d records", calibrationRecords)
	w, err := makeWorkload(ctx, filepath.Join(h.cfg.WorkDir, "calibration"), h.cfg.Seed+1, calibrationRecords, h.cfg.Partitions, soakRunningRate)
	if err != nil {
		return 0, 0, err
	}
	const prefix = "faults-calibration"
	st, err := h.startStack(ctx, prefix)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		st.Stop()
		_ = search.DeleteIndices(context.WithoutCancel(ctx), h.es, prefix+"-*")
	}()
	start := time.Now()
	if err := (&pusher{urls: st.IngestURLs, stats: &pushStats{}}).push(ctx, w, 0); err != nil {
		return 0, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, drainLimit)
	defer cancel()
	if err := procstack.WaitProgress(wctx, 100*time.Millisecond, drainStall, func() (procstack.Remaining, error) {
		ok, open, status := procstack.DrainState(wctx, st.JS, stream.RecordsStream, h.cfg.Partitions)
		return procstack.Remaining{Done: ok, Phase: "messages open", Left: open, Status: status}, st.CheckAlive()
	}); err != nil {
		return 0, 0, fmt.Errorf("calibration did not drain: %w", err)
	}
	maxRate := float64(w.records) / time.Since(start).Seconds()
	rate = maxRate / 2
	h.progress("soak: maximum %.0f records/s; soaking at %.0f", maxRate, rate)
	return rate, max(h.cfg.Records, int64(rate*h.cfg.Soak.Seconds())), nil
}
