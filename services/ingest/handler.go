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
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/bufpool"
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
	ctx := telemetry.HTTPPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, "ingest POST /v1/records", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	code, body := s.ingest(ctx, r)
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	if code >= 400 {
		span.SetStatus(codes.Error, fmt.Sprint(body))
	}
	s.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
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
	if s.cfg.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
			return fail(http.StatusUnauthorized, "missing or wrong bearer token")
		}
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != ContentTypeNDJSON && mediaType != ContentTypeProtobuf) {
		return fail(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: send %s (one Zeebe JSON record per line) or %s (a flowline.record.v1.RecordBatch)",
			r.Header.Get("Content-Type"), ContentTypeNDJSON, ContentTypeProtobuf)
	}
	body, code, err := s.readBody(r)
	if err != nil {
		return fail(code, "%v", err)
	}
	defer s.bufs.Put(body) // items alias it until the records are stored

	var items []item
	var problems []problem
	if mediaType == ContentTypeNDJSON {
		arena := s.bufs.Get(len(body) / 2) // protobuf is about half the size of the JSON
		items, problems, arena, err = parseNDJSON(body, s.cfg.MaxRecords, arena)
		defer s.bufs.Put(arena)
	} else {
		items, problems, err = parseProtobuf(body, s.cfg.MaxRecords)
	}
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
	groups, orderProblems := byPartition(events)
	problems = append(problems, orderProblems...)
	if len(problems) > 0 {
		s.metrics.records.WithLabelValues("invalid").Add(float64(len(problems)))
		sort.SliceStable(problems, func(i, j int) bool {
			return problems[i].Line+problems[i].Record < problems[j].Line+problems[j].Record
		})
		msgs := make([]string, 0, len(problems))
		for _, p := range problems {
			msgs = append(msgs, p.String())
		}
		return http.StatusBadRequest, errorBody{
			Error:    fmt.Sprintf("%d invalid records, nothing stored: %s", len(problems), strings.Join(msgs, "; ")),
			Problems: problems,
		}
	}
	records := s.records.Load()
	if records == nil {
		return fail(http.StatusServiceUnavailable, "not connected to JetStream yet; retry")
	}

	res, err := records.AppendAll(ctx, groups)
	s.metrics.records.WithLabelValues("accepted").Add(float64(res.Accepted))
	s.metrics.records.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	s.metrics.records.WithLabelValues("dropped").Add(float64(dropped))
	if err != nil {
		s.log.WarnContext(ctx, "storing records failed; client should retry", "error", err)
		return fail(http.StatusServiceUnavailable, "storing records failed, retry the request (records already stored count as duplicates): %v", err)
	}
	return http.StatusAccepted, Response{Accepted: res.Accepted, Duplicates: res.Duplicates, Dropped: dropped}
}

// readBody reads the request body, gunzipping when Content-Encoding is gzip,
// up to MaxBodyBytes.
func (s *Service) readBody(r *http.Request) ([]byte, int, error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes exceeds the limit of %d bytes (FLOWLINE_INGEST_MAX_BODY_BYTES)", r.ContentLength, limit)
	}
	var src io.Reader = http.MaxBytesReader(nil, r.Body, limit)
	gzipped := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src, gzipped = zr, true
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q: use gzip or none", enc)
	}
	b, err := s.readAll(io.LimitReader(src, limit+1), r.ContentLength, gzipped)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || int64(len(b)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds the limit of %d bytes (FLOWLINE_INGEST_MAX_BODY_BYTES)", limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading body: %v", err)
	}
	return b, 0, nil
}

// readAll reads src to the end into a pooled buffer sized from the
// request's Content-Length (a gzip body usually inflates about eightfold),
// so a large body is not copied over and over while its buffer grows.
func (s *Service) readAll(src io.Reader, contentLength int64, gzipped bool) ([]byte, error) {
	size := contentLength + 1 // +1: reading up to EOF needs room for one more read
	if gzipped {
		size = contentLength * 8
	}
	if contentLength <= 0 || size > bufpool.MaxPooled {
		return io.ReadAll(src)
	}
	buf := s.bufs.Get(int(size))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow (only when gzip inflated more)
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
