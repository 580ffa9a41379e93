package faults

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a `flowline faults` run's result; its JSON form is what
// --out writes.
type Report struct {
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Seed      uint64    `json:"seed"`
	Records   int64     `json:"records"`
	Instances int       `json:"process_instances"`
	// ReferenceInstances is how many process instances the reference run
	// indexed: the workload's, or the comparison proves nothing.
	ReferenceInstances int    `json:"reference_process_instances"`
	Partitions         int    `json:"partitions"`
	LeaseTTL           string `json:"lease_ttl"`
	// Rate is the faulted run's fixed push rate, records/s.
	Rate        float64       `json:"rate"`
	Reference   RunSummary    `json:"reference"`
	Run         RunSummary    `json:"run"`
	Rounds      []RoundResult `json:"rounds,omitempty"`
	Recovery    []Recovery    `json:"recovery,omitempty"`
	Comparison  Comparison    `json:"comparison"`
	DeadLetters DeadLetters   `json:"dead_letters"`
	Ownership   Ownership     `json:"ownership"`
	Soak        *Soak         `json:"soak,omitempty"`
	Verdict     string        `json:"verdict"` // pass or fail
	Failures    []string      `json:"failures,omitempty"`
	// Warnings say where the run proved less than it should, without
	// failing it (a fault that struck after the whole workload was in).
	Warnings []string `json:"warnings,omitempty"`
}

// Recovery is one fault kind's recovery times over the rounds.
type Recovery struct {
	Kind Kind `json:"fault"`
	// Rounds of this kind; Recovered of them recovered within the round
	// timeout.
	Rounds    int `json:"rounds"`
	Recovered int `json:"recovered"`
	// Until every process was ready and nothing open, from the end of the
	// fault: median and maximum.
	MedianSeconds float64 `json:"median_seconds"`
	MaxSeconds    float64 `json:"max_seconds"`
	// The kind's own figure (e.g. partitions owned again after an
	// aggregator was killed), from the strike or from the end of the
	// outage as Measure says: median and maximum.
	Measure              string  `json:"measure,omitempty"`
	MeasureMedianSeconds float64 `json:"measure_median_seconds,omitempty"`
	MeasureMaxSeconds    float64 `json:"measure_max_seconds,omitempty"`
}

// verdict fills Recovery, Failures and Verdict.
func (r *Report) verdict() {
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	c := r.Comparison
	if c.Failed() {
		fail("documents differ from the reference: %d lost, %d duplicated, %d stale, %d extra, %d different, %d archived differently",
			c.Lost, c.Duplicated, c.Stale, c.Extra, c.Different, c.ArchiveDifferent)
	}
	if r.DeadLetters.Unexpected > 0 {
		fail("%d dead letters the reference run did not have", r.DeadLetters.Unexpected)
	}
	if r.DeadLetters.Missing > 0 {
		fail("%d of the reference run's dead letters are not in the run's", r.DeadLetters.Missing)
	}
	if r.ReferenceInstances != r.Instances {
		fail("the reference run indexed %d process instances, the workload started %d", r.ReferenceInstances, r.Instances)
	}
	if r.Ownership.DoubleOwned > 0 {
		fail("%d samples found two aggregators owning one partition", r.Ownership.DoubleOwned)
	}
	if r.Soak == nil && r.Ownership.AllOwned == 0 {
		fail("no sample of the aggregators' leases saw every partition owned (%d samples, %d unanswered): ownership was not checked", r.Ownership.Samples, r.Ownership.Unanswered)
	}
	if o := r.Ownership; o.Samples > 0 && o.Unanswered*10 > o.Samples {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d of %d owner samples left out: a replica the harness had not stopped did not answer", o.Unanswered, o.Samples))
	}
	if r.Ownership.UnownedOverBound > 0 {
		fail("a partition was unowned longer than the lease TTL plus the rebalance time (%.1f s) %d times", r.Ownership.Bound, r.Ownership.UnownedOverBound)
	}
	for _, rd := range r.Rounds {
		if !rd.Recovered {
			fail("round %d (%s) did not recover: %s", rd.Round, rd.Plan, rd.Note)
		}
		if rd.Missed != "" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("round %d (%s) found nothing to strike: %s", rd.Round, rd.Kind, rd.Missed))
		}
		if rd.AfterLoad {
			r.Warnings = append(r.Warnings, fmt.Sprintf("round %d (%s) struck after the whole workload was pushed: give more --records", rd.Round, rd.Kind))
		}
	}
	if s := r.Soak; s != nil {
		if len(s.Growing) > 0 {
			fail("memory grows during the soak: %s", strings.Join(s.Growing, "; "))
		}
		if s.LagUnbounded {
			fail("the backlog grows during the soak (%.0f messages per hour)", s.OpenSlope)
		}
	}
	r.Recovery = recoveryByKind(r.Rounds)
	r.Verdict = "pass"
	if len(r.Failures) > 0 {
		r.Verdict = "fail"
	}
}

func recoveryByKind(rounds []RoundResult) []Recovery {
	var out []Recovery
	for _, k := range Kinds {
		rec := Recovery{Kind: k}
		var times, measures []float64
		for _, rd := range rounds {
			if rd.Kind != k {
				continue
			}
			rec.Rounds++
			if !rd.Recovered {
				continue
			}
			rec.Recovered++
			times = append(times, rd.RecoverySeconds)
			if rd.Measure != "" {
				rec.Measure = rd.Measure
				measures = append(measures, rd.MeasureSeconds)
			}
		}
		if rec.Rounds == 0 {
			continue
		}
		if len(times) > 0 {
			rec.MedianSeconds, rec.MaxSeconds = round1(median(times)), round1(slices.Max(times))
		}
		if len(measures) > 0 {
			rec.MeasureMedianSeconds, rec.MeasureMaxSeconds = round1(median(measures)), round1(slices.Max(measures))
		}
		out = append(out, rec)
	}
	return out
}

// WriteText prints the per-round table, the recovery times, the checks
// and the verdict.
func (r *Report) WriteText(out io.Writer) {
	fmt.Fprintf(out, "flowline faults: seed %d, %d records (%d process instances) on %d partitions, lease TTL %s\n",
		r.Seed, r.Records, r.Instances, r.Partitions, r.LeaseTTL)
	fmt.Fprintf(out, "reference: %.1f s, %.0f records/s; run: %.1f s at %.0f records/s (%d requests, %d re-sent)\n\n",
		r.Reference.Seconds, r.Reference.RecordsPerSec, r.Run.Seconds, r.Rate, r.Run.Requests, r.Run.Resends)
	if len(r.Rounds) > 0 {
		tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "round\tfault\ttarget\tat\theld\tlag at strike\trecovery\tmeasure\t")
		for _, rd := range r.Rounds {
			rec := fmt.Sprintf("%.1f s", rd.RecoverySeconds)
			if !rd.Recovered {
				rec = "NOT RECOVERED"
			}
			m := ""
			if rd.Measure != "" {
				m = fmt.Sprintf("%s %.1f s", rd.Measure, rd.MeasureSeconds)
			}
			lag := fmt.Sprint(rd.LagAtStrike)
			if rd.Missed != "" {
				r.Warnings = append(r.Warnings, fmt.Sprintf("round %d (%s) found nothing to strike: %s", rd.Round, rd.Kind, rd.Missed))
			}
			if rd.AfterLoad {
				lag += " (load over)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.1f s\t%.1f s\t%s\t%s\t%s\t\n", rd.Round, rd.Kind, rd.Target, rd.At, rd.HoldSeconds, lag, rec, m)
		}
		tw.Flush()
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "fault\trounds\trecovered\trecovery median\tmax\tmeasure\tmedian\tmax\t")
		for _, rc := range r.Recovery {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f s\t%.1f s\t%s\t%.1f s\t%.1f s\t\n", rc.Kind, rc.Rounds, rc.Recovered,
				rc.MedianSeconds, rc.MaxSeconds, rc.Measure, rc.MeasureMedianSeconds, rc.MeasureMaxSeconds)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	if s := r.Soak; s != nil {
		fmt.Fprintf(out, "soak: %.0f s at %.0f records/s (maximum %.0f); backlog max %d messages, slope %.0f/h\n",
			s.Seconds, s.Rate, s.MaxRate, s.MaxOpen, s.OpenSlope)
		tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "process\tfirst RSS\tlast RSS\tmax RSS\tslope\t")
		for _, p := range s.Processes {
			fmt.Fprintf(tw, "%s\t%.0f MB\t%.0f MB\t%.0f MB\t%+.1f MB/h\t\n", p.Name, p.FirstMB, p.LastMB, p.MaxMB, p.SlopeMBPerH)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	c := r.Comparison
	fmt.Fprintf(out, "documents: %d in the reference; lost %d, duplicated %d, stale %d, extra %d, different %d; archived instances %d, archived differently %d\n",
		c.Documents, c.Lost, c.Duplicated, c.Stale, c.Extra, c.Different, c.ArchivedInstances, c.ArchiveDifferent)
	for _, e := range c.Examples {
		fmt.Fprintf(out, "  %s\n", e)
	}
	d := r.DeadLetters
	fmt.Fprintf(out, "dead letters: reference %d, run %d, unexpected %d, missing %d\n", d.Reference, d.Run, d.Unexpected, d.Missing)
	for _, e := range d.Examples {
		fmt.Fprintf(out, "  %s\n", e)
	}
	o := r.Ownership
	fmt.Fprintf(out, "ownership: %d samples (%d unanswered, %d with every partition owned), %d with a partition owned twice; longest unowned %.1f s (%s), bound %.1f s\n",
		o.Samples, o.Unanswered, o.AllOwned, o.DoubleOwned, o.LongestUnowned, o.LongestUnownedWhere, o.Bound)
	for _, e := range append(slices.Clone(o.Examples), o.UnownedOverBoundWhere...) {
		fmt.Fprintf(out, "  %s\n", e)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	fmt.Fprintf(out, "\nverdict: %s\n", strings.ToUpper(r.Verdict))
	for _, f := range r.Failures {
		fmt.Fprintf(out, "  %s\n", f)
	}
}
