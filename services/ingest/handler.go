package ingest

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/telemetry"
)

// Content types of the push API.
const (
	ContentTypeNDJSON   = "application/x-ndjson"
	ContentTypeProtobuf = "application/x-protobuf"
)

// Response is the body of a 202 answer.
type Response struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Dropped counts records that are not events (when EventsOnly).
	Dropped int `json:"dropped,omitempty"`
}

// errorBody is the body of every 4xx/5xx answer.
type errorBody struct {
	Error    string    `json:"error"`
	Problems []problem `json:"errors,omitempty"`
}

// Handler is the push API: POST /v1/records.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/records", s.handleRecords)
	return mux
}

func (s *Service) handleRecords(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := telemetry.HTTPPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, "ingest POST /v1/records", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	code, body := s.ingest(ctx, r)
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	if code >= 400 {
		span.SetStatus(codes.Error, fmt.Sprint(body))
	}
	label := strconv.Itoa(code)
	s.metrics.requests.WithLabelValues(label).Inc()
	if code >= 500 {
		s.metrics.errors.Inc()
	}
	defer func() { s.metrics.duration.WithLabelValues(label).Observe(time.Since(start).Seconds()) }()
	w.Header().Set("Content-Type", "application/json")
	switch code {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="flowline"`)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func fail(code int, format string, args ...any) (int, any) {
	return code, errorBody{Error: fmt.Sprintf(format, args...)}
}

// ingest handles one request and returns its status and body.
func (s *Service) ingest(ctx context.Context, r *http.Request) (int, any) {
	started := time.Now()
	token := s.token.Load()
	if token == nil {
		return fail(http.StatusServiceUnavailable, "starting: the bearer token file is not read yet; retry")
	}
	if *token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(*token)) != 1 {
			return fail(http.StatusUnauthorized, "missing or wrong bearer token")
		}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != ContentTypeNDJSON && mediaType != ContentTypeProtobuf) {
		return fail(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: send %s (one Zeebe JSON record per line) or %s (a flowline.record.v1.RecordBatch)",
			r.Header.Get("Content-Type"), ContentTypeNDJSON, ContentTypeProtobuf)
	}
	held := &hold{b: s.budget}
	defer held.release() // after the buffers below went back to the pool
	body, code, err := s.readBody(r, held)
	if err != nil {
		return fail(code, "%v", err)
	}
	defer s.bufs.Put(body) // items alias it until the records are stored

	var items []item
	var problems []problem
	if mediaType == ContentTypeNDJSON {
		want := len(body) / 2 // protobuf is about half the size of the JSON
		if err := held.take(int64(want)); err != nil {
			return s.busy()
		}
		arena := s.bufs.Get(want)
		held.force(int64(cap(arena) - want))
		reserved := cap(arena)
		items, problems, arena, err = parseNDJSON(body, s.cfg.MaxRecords, arena)
		held.force(int64(cap(arena) - reserved)) // the arena grew while encoding
		defer s.bufs.Put(arena)
	} else {
		items, problems, err = parseProtobuf(body, s.cfg.MaxRecords)
	}
	held.force(int64(cap(items)) * int64(unsafe.Sizeof(item{})))
	if err != nil {
		return fail(http.StatusRequestEntityTooLarge, "%v", err)
	}
	if len(problems) == 0 && len(items) == 0 {
		return fail(http.StatusBadRequest, "request holds no records")
	}

	events := items[:0]
	dropped := 0
	for _, it := range items {
		if s.cfg.EventsOnly && !it.env.Event {
			dropped++
			continue
		}
		events = append(events, it)
	}
	problems = append(problems, checkLimits(s.cfg.RecordStore, events)...)
	groups, orderProblems := byPartition(events)
	problems = append(problems, orderProblems...)
	if len(problems) > 0 {
		s.metrics.records.WithLabelValues("invalid").Add(float64(len(problems)))
		sort.SliceStable(problems, func(i, j int) bool {
			return problems[i].Line+problems[i].Record < problems[j].Line+problems[j].Record
		})
		if len(problems) > maxReportedErrors {
			problems = problems[:maxReportedErrors]
		}
		msgs := make([]string, 0, len(problems))
		code := http.StatusRequestEntityTooLarge // when every problem is a record too large to store
		for _, p := range problems {
			msgs = append(msgs, p.String())
			if !p.tooLarge {
				code = http.StatusBadRequest
			}
		}
		return code, errorBody{
			Error:    fmt.Sprintf("%d records refused, nothing stored: %s", len(problems), strings.Join(msgs, "; ")),
			Problems: problems,
		}
	}
	records := s.records.Load()
	if records == nil {
		return fail(http.StatusServiceUnavailable, "not connected to JetStream yet; retry")
	}

	// Storing must end in time to answer before the write deadline.
	_, write := s.cfg.timeouts()
	storeCtx, cancel := context.WithDeadline(ctx, started.Add(write-minStoreTime/2))
	defer cancel()
	res, err := records.AppendAll(storeCtx, groups)
	s.metrics.records.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.records.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	s.metrics.records.WithLabelValues("dropped").Add(float64(dropped))
	if err != nil {
		s.log.WarnContext(ctx, "storing records failed; client should retry", "error", err)
		return fail(http.StatusServiceUnavailable, "storing records failed, retry the request (records already stored count as duplicates): %v", err)
	}
	return http.StatusAccepted, Response{Accepted: res.Accepted, Duplicates: res.Duplicates, Dropped: dropped}
}

// busy is the answer while the requests in flight hold the byte budget.
func (s *Service) busy() (int, any) { return fail(http.StatusTooManyRequests, "%v", s.busyError()) }

func (s *Service) busyError() error {
	return fmt.Errorf("%w: ingest holds its limit of %d bytes of requests in flight (FLOWLINE_INGEST_MAX_INFLIGHT_BYTES); retry after the Retry-After delay",
		errBusy, s.budget.limit)
}

// Sizes of the body buffer: the first holds at most firstRead bytes
// whatever the Content-Length says (a client may claim much and send
// little), and the buffer doubles as the bytes arrive.
const (
	firstRead    = 1 << 20
	firstUnknown = 64 << 10 // when the size is unknown (no Content-Length, or gzip)
)

// readBody reads the request body, gunzipping when Content-Encoding is gzip,
// up to MaxBodyBytes. Its buffer is taken from held's budget as it grows
// (gzip inflation included), so a request can never hold more memory than
// the budget admits; errBusy answers 429.
func (s *Service) readBody(r *http.Request, held *hold) ([]byte, int, error) {
	limit := int64(s.cfg.MaxBodyBytes)
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes exceeds the limit of %d bytes (FLOWLINE_INGEST_MAX_BODY_BYTES)", r.ContentLength, limit)
	}
	var src io.Reader = http.MaxBytesReader(nil, r.Body, int64(limit))
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if isTimeout(err) {
				return nil, http.StatusRequestTimeout, s.timeoutError()
			}
			return nil, http.StatusBadRequest, fmt.Errorf("body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src, gzipped = zr, true
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q: use gzip or none", enc)
	}
	first := int64(firstUnknown)
	if r.ContentLength > 0 && !gzipped {
		first = min(r.ContentLength+1, firstRead) // +1: reading up to EOF needs room for one more read
	}
	b, err := s.readAll(io.LimitReader(src, int64(limit+1)), first, int64(limit+1), held)
	if err == nil && int64(len(b)) <= limit {
		return b, 0, nil
	}
	s.bufs.Put(b)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, errBusy):
		return nil, http.StatusTooManyRequests, s.busyError()
	case errors.As(err, &tooLarge) || errors.Is(err, errOverLimit) || int64(len(b)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds the limit of %d bytes (FLOWLINE_INGEST_MAX_BODY_BYTES)", limit)
	case isTimeout(err):
		return nil, http.StatusRequestTimeout, s.timeoutError()
	default:
		if gzipped {
			return nil, http.StatusBadRequest, fmt.Errorf("reading body: not valid gzip: %v", err)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading body: %v", err)
	}
}

// timeoutError says that the body did not arrive in time.
func (s *Service) timeoutError() error {
	read, _ := s.cfg.timeouts()
	return fmt.Errorf("request not received within %s (FLOWLINE_INGEST_READ_TIMEOUT); send it again, faster or smaller", read)
}

// isTimeout reports whether err is a read deadline that passed.
func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

// errOverLimit is readAll's answer when src holds more than most bytes and
// its buffer could not grow to show it.
var errOverLimit = errors.New("body over the limit")

// readAll reads src to the end into a pooled buffer of first bytes that
// doubles while it fills, up to most bytes; every buffer's capacity is
// taken from held before the buffer is allocated (errBusy when it does not
// fit; errOverLimit when src holds more than most bytes and the buffer is
// full below most). On an error it returns the buffer read so far.
func (s *Service) readAll(src io.Reader, first, most int64, held *hold) ([]byte, error) {
	if err := held.take(first); err != nil {
		return nil, err
	}
	buf := s.bufs.Get(int(first))
	held.force(int64(cap(buf)) - first) // the pool may give a larger one
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= most { // the caller sees it is over the limit
				return buf, nil
			}
			// A body that exactly fills the buffer may be whole: look for
			// its end before taking twice the memory (a largest-size body
			// must fit in twice FLOWLINE_INGEST_MAX_BODY_BYTES).
			var probe [1]byte
			n, err := src.Read(probe[:])
			if n == 0 {
				if err == io.EOF {
					return buf, nil
				}
				if err != nil {
					return buf, err
				}
				continue
			}
			if int64(len(buf))+1 >= most { // one byte more than the buffer holds is over the limit
				return buf, errOverLimit
			}
			size := min(2*int64(cap(buf)), most)
			if err := held.take(size); err != nil {
				return buf, err
			}
			grown := s.bufs.Get(int(size))
			held.force(int64(cap(grown)) - size)
			grown = append(append(grown, buf...), probe[0])
			s.bufs.Put(buf)
			held.give(int64(cap(buf)))
			buf = grown
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return buf, err
			}
			continue
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
