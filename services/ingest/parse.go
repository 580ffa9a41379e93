package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/wire"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// maxReportedErrors caps the problems listed in one 400 response.
const maxReportedErrors = 100

// problem is one invalid input item: Line counts NDJSON lines from 1, Record
// counts protobuf batch entries from 1; Partition and Position are set
// once the record's envelope was read, Field names the offending field.
type problem struct {
	Line      int    `json:"line,omitempty"`
	Record    int    `json:"record,omitempty"`
	Partition *int32 `json:"partition,omitempty"`
	Position  *int64 `json:"position,omitempty"`
	Field     string `json:"field,omitempty"`
	Reason    string `json:"error"`
	tooLarge  bool   // the record is over FLOWLINE_INGEST_MAX_RECORD_BYTES
}

func (p problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
	} else {
		fmt.Fprintf(&b, "record %d", p.Record)
	}
	if p.Partition != nil && p.Position != nil {
		fmt.Fprintf(&b, " (partition %d, position %d)", *p.Partition, *p.Position)
	}
	if p.Reason != "" {
		b.WriteString(": ")
		b.WriteString(p.Reason)
	}
	return b.String()
}

// located is p's place with the record's envelope.
func (p problem) located(env wire.Envelope) problem {
	p.Partition, p.Position = &env.Partition, &env.Position
	return p
}

// recordProblem turns wire.CheckRecord's error into a problem at where,
// naming the field as the client wrote it (by its Zeebe JSON path in an
// NDJSON line, by its protobuf path in a protobuf record).
func recordProblem(where problem, env wire.Envelope, err error, jsonNames bool) problem {
	var rerr *wire.RecordError
	if !errors.As(err, &rerr) {
		where.Reason = err.Error()
		return where
	}
	if !rerr.Wire {
		where = where.located(env)
	}
	where.Field = rerr.Field
	if jsonNames {
		where.Field = rerr.JSONField
	}
	where.Reason = rerr.Error()
	if where.Field != "" && !rerr.Wire {
		where.Reason = "field " + where.Field + ": " + rerr.Reason
	}
	return where
}

// checkLimits checks every item against the record store's limits (the
// partition id cap, the record size): what recordlog.Check refuses can
// never be stored.
func checkLimits(cfg config.RecordStore, items []item) []problem {
	var problems []problem
	for _, it := range items {
		err := recordlog.Check(cfg, it.env.Partition, len(it.record.Data))
		if err == nil || len(problems) >= maxReportedErrors {
			continue
		}
		p := it.at.located(it.env)
		p.Reason, p.tooLarge = err.Error(), errors.Is(err, recordlog.ErrRecordTooLarge)
		if p.tooLarge {
			p.Field = ""
		} else {
			p.Field = "partitionId"
			if it.at.Record > 0 {
				p.Field = "partition_id"
			}
		}
		problems = append(problems, p)
	}
	return problems
}

// item is a parsed record: its envelope, its encoding, and where it came
// from.
type item struct {
	env    wire.Envelope
	record wire.Record
	at     problem // Line or Record set, Reason empty
}

// errTooManyRecords: the request holds more than MaxRecords records.
type errTooManyRecords struct{ limit int }

func (e errTooManyRecords) Error() string {
	return fmt.Sprintf("request holds more than %d records (FLOWLINE_INGEST_MAX_RECORDS)", e.limit)
}

// parseNDJSON decodes one Zeebe JSON record per line; blank lines are
// skipped. It returns every invalid line (up to maxReportedErrors). Records
// are encoded into arena, which is returned (grown if need be) and which the
// items alias.
func parseNDJSON(body []byte, maxRecords int, arena []byte) ([]item, []problem, []byte, error) {
	items := make([]item, 0, min(maxRecords, len(body)/512+1)) // lines are most often longer
	var problems []problem
	report := func(line int, reason string) {
		if len(problems) < maxReportedErrors {
			problems = append(problems, problem{Line: line, Reason: reason})
		}
	}
	for line := 1; len(body) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			l, body = body, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if len(items) >= maxRecords {
			return nil, nil, arena, errTooManyRecords{maxRecords}
		}
		r, err := zeebejson.DecodeLenient(l)
		if err != nil {
			report(line, err.Error())
			continue
		}
		// The same rules as a protobuf record's (JSON-text fields such as
		// a variable's value must hold JSON, positions must not be
		// negative), on the decoded record: the encoding is the decoder's.
		env, err := wire.CheckDecoded(r)
		if err != nil {
			if len(problems) < maxReportedErrors {
				problems = append(problems, recordProblem(problem{Line: line}, env, err, true))
			}
			continue
		}
		var rec wire.Record
		if arena, rec, err = wire.EncodeRecord(arena, r); err != nil {
			report(line, err.Error())
			continue
		}
		items = append(items, item{env: env, record: rec, at: problem{Line: line}})
	}
	return items, problems, arena, nil
}

// parseProtobuf decodes a RecordBatch record by record and checks each
// record's envelope; valid records keep the client's encoding.
func parseProtobuf(body []byte, maxRecords int) ([]item, []problem, error) {
	items := make([]item, 0, min(maxRecords, len(body)/256+1)) // records are a few hundred bytes
	var problems []problem
	report := func(i int, reason string) {
		if len(problems) < maxReportedErrors {
			problems = append(problems, problem{Record: i, Reason: reason})
		}
	}
	count := 0
	err := wire.SplitBatch(body, func(i int, data []byte) {
		if count++; count > maxRecords {
			return
		}
		env, err := wire.CheckRecord(data)
		if err != nil {
			if len(problems) < maxReportedErrors {
				problems = append(problems, recordProblem(problem{Record: i}, env, err, false))
			}
			return
		}
		items = append(items, item{env: env, record: wire.Record{Position: env.Position, Data: data}, at: problem{Record: i}})
	})
	if count > maxRecords {
		return nil, nil, errTooManyRecords{maxRecords}
	}
	if err != nil {
		report(count+1, "body is not a flowline.record.v1.RecordBatch: "+err.Error())
	}
	return items, problems, nil
}

// byPartition groups items by partition, keeping request order, and checks
// that positions strictly increase within each partition.
func byPartition(items []item) (map[int32][]wire.Record, []problem) {
	type run struct {
		last item
		recs []wire.Record
	}
	runs := map[int32]*run{}
	var problems []problem
	var cur *run // the partition of the item before: requests usually hold one
	for _, it := range items {
		p := it.env.Partition
		if cur == nil || cur.last.env.Partition != p {
			if cur = runs[p]; cur == nil {
				size := 16
				if len(runs) == 0 {
					size = len(items)
				}
				cur = &run{recs: make([]wire.Record, 0, size)}
				runs[p] = cur
			}
		}
		if len(cur.recs) > 0 && it.env.Position <= cur.last.env.Position {
			if len(problems) < maxReportedErrors {
				last := cur.last
				pr := it.at.located(it.env)
				pr.Reason = fmt.Sprintf("partition %d goes backwards: position %d is not after position %d (%s)",
					p, it.env.Position, last.env.Position, strings.TrimSuffix(last.at.String(), ": "))
				problems = append(problems, pr)
			}
			continue
		}
		cur.last = it
		cur.recs = append(cur.recs, it.record)
	}
	groups := make(map[int32][]wire.Record, len(runs))
	for p, r := range runs {
		if len(r.recs) > 0 {
			groups[p] = r.recs
		}
	}
	return groups, problems
}
