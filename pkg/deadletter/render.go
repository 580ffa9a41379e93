package deadletter

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/wire"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// What names the payload of l in one word: index/id of a document, the
// failed message (subject#sequence) otherwise, "-" when neither is known.
func (l Letter) What() string {
	switch {
	case l.Document != nil:
		if l.Document.Family != "" {
			return l.Document.Family + "/" + l.Document.ID
		}
		return l.Document.Index + "/" + l.Document.ID
	case l.Kind == stream.KindZeebeRecord && l.Header.Get(stream.HeaderDLQIndex) != "":
		return l.Header.Get(stream.HeaderDLQIndex) + "/" + l.Header.Get(stream.HeaderDLQID)
	case l.Subject != "":
		return l.Subject + "#" + strconv.FormatUint(l.Sequence, 10)
	}
	return "-"
}

// Summary is the JSON form of a listed dead letter (`dlq list --json`).
type Summary struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Service   string    `json:"service"`
	Kind      string    `json:"kind"`
	Partition *int32    `json:"partition"` // null when the dead letter names none
	What      string    `json:"what"`
	Reason    string    `json:"reason"`
	Bytes     int       `json:"bytes"`
}

// Summarize returns l's summary.
func (l Letter) Summarize() Summary {
	s := Summary{Seq: l.Seq, Time: l.Time.UTC(), Service: l.Service, Kind: string(l.Kind), What: l.What(), Reason: l.Reason, Bytes: len(l.Data)}
	if l.Partition >= 0 {
		p := l.Partition
		s.Partition = &p
	}
	return s
}

// WriteList writes one line per dead letter: sequence, time, service,
// kind, partition, what failed and the reason; with asJSON one Summary
// object per line instead.
func WriteList(w io.Writer, letters []Letter, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, l := range letters {
			if err := enc.Encode(l.Summarize()); err != nil {
				return err
			}
		}
		return nil
	}
	for _, l := range letters {
		s := l.Summarize()
		part, kind := "-", s.Kind
		if s.Partition != nil {
			part = strconv.Itoa(int(*s.Partition))
		}
		if kind == "" {
			kind = "-"
		}
		if _, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Seq, s.Time.Format(time.RFC3339Nano), s.Service, kind, part, s.What, s.Reason); err != nil {
			return err
		}
	}
	return nil
}

// WriteShow writes l's headers (sorted) and its payload, decoded by kind
// (DecodePayload); a payload that does not decode is written raw (as text
// if it is UTF-8, else as a hex dump) after the reason it did not decode.
func WriteShow(w io.Writer, l Letter) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "dead letter %d of %s, stored %s\n", l.Seq, l.Service, l.Time.UTC().Format(time.RFC3339Nano))
	keys := make([]string, 0, len(l.Header))
	for k := range l.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range l.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if l.BodyErr != nil {
		fmt.Fprintf(&b, "\npayload: cannot be read: %v\n", l.BodyErr)
		_, err := w.Write(b.Bytes())
		return err
	}
	decoded, err := DecodePayload(l)
	if err != nil {
		fmt.Fprintf(&b, "\npayload (%d bytes, raw: %v):\n", len(l.Data), err)
		if utf8.Valid(l.Data) {
			b.Write(l.Data)
			b.WriteByte('\n')
		} else {
			b.WriteString(hex.Dump(l.Data))
		}
	} else {
		fmt.Fprintf(&b, "\npayload (%s, %d bytes):\n", l.Kind, len(l.Data))
		b.Write(decoded)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// DecodePayload renders l's payload for people: a document or a Zeebe
// record as indented JSON; records as Zeebe JSON, one indented record
// after the other; a documents message as one indented object per
// document (family, id, version, partition, source). It fails when the
// payload is not what its kind says, or the kind is unknown.
func DecodePayload(l Letter) ([]byte, error) {
	var out bytes.Buffer
	indent := func(js []byte) error {
		if err := json.Indent(&out, js, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		return nil
	}
	switch l.Kind {
	case stream.KindDocument, stream.KindZeebeRecord:
		if err := indent(l.Data); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
	case stream.KindRecords:
		var batch recordv1.RecordBatch
		if err := batch.UnmarshalVT(l.Data); err != nil {
			return nil, fmt.Errorf("not a flowline.record.v1.RecordBatch: %w", err)
		}
		for _, r := range batch.Records {
			js, err := zeebejson.Encode(r)
			if err != nil {
				return nil, fmt.Errorf("record at position %d: %w", r.Position, err)
			}
			if err := indent(js); err != nil {
				return nil, fmt.Errorf("record at position %d: %w", r.Position, err)
			}
		}
	case stream.KindDocuments:
		var docs []wire.Document
		if err := wire.DecodeDocuments(l.Data, func(d wire.Document) { docs = append(docs, d) }); err != nil {
			return nil, fmt.Errorf("not a flowline.record.v1.DocumentBatch: %w", err)
		}
		for _, d := range docs {
			src := json.RawMessage(d.Source)
			if !json.Valid(src) {
				src, _ = json.Marshal(string(d.Source)) // shown as a string: it is what the writer could not index
			}
			js, err := json.Marshal(struct {
				Family    string          `json:"family"`
				ID        string          `json:"id"`
				Version   int64           `json:"version"`
				Partition int32           `json:"partition"`
				Source    json.RawMessage `json:"source"`
			}{string(d.Family), d.ID, d.Version, d.Partition, src})
			if err != nil {
				return nil, err
			}
			if err := indent(js); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", l.Kind)
	}
	return out.Bytes(), nil
}
