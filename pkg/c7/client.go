package c7

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Errors of a request, to tell what to do about them:
var (
	// ErrUnavailable: the engine did not answer, answered 5xx or 429, or
	// sent a body that is not the JSON array expected; retry with backoff.
	ErrUnavailable = errors.New("camunda 7 engine unavailable")
	// ErrAuth: the engine refused the credentials (401, 403); retrying
	// helps only once an operator fixes them.
	ErrAuth = errors.New("camunda 7 engine refused the credentials")
	// ErrNotFound: the endpoint does not exist (404): a wrong REST base or
	// engine name, or an engine without the Optimize endpoints.
	ErrNotFound = errors.New("camunda 7 endpoint not found")
	// ErrPageTooLarge: a response exceeded Options.MaxResponseBytes.
	ErrPageTooLarge = errors.New("camunda 7 response too large")
)

// Options configures a Client.
type Options struct {
	// URL is the engine's REST base, e.g. http://host:8080/engine-rest.
	URL string
	// Engine is the process engine's name ("default").
	Engine string
	// Username and Password, when set, are sent as basic auth.
	Username, Password string
	// Timeout bounds each request (0: 60 s).
	Timeout time.Duration
	// MaxResponseBytes bounds a response body (0: 256 MiB).
	MaxResponseBytes int64
	// HTTP is the client to use (nil: a new one).
	HTTP *http.Client
}

// Client fetches pages of a Camunda 7 engine. Safe for concurrent use.
type Client struct {
	base     string // <URL>/engine/<engine>/
	opts     Options
	http     *http.Client
	redacted string
}

// New returns a client of the engine at o.URL; it does no I/O.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("c7: engine REST URL %q is not an http(s) URL", config.Redact(o.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("c7: engine REST URL %q has a query or fragment; give the REST base only, e.g. http://host:8080/engine-rest", config.Redact(o.URL))
	}
	if o.Engine == "" {
		o.Engine = "default"
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 256 << 20
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	base := strings.TrimRight(o.URL, "/") + "/engine/" + url.PathEscape(o.Engine) + "/"
	return &Client{base: base, opts: o, http: hc, redacted: config.Redact(o.URL)}, nil
}

// Entity is one entity of a page: its JSON as the engine sent it, its id
// and its kind's timestamp in epoch milliseconds.
type Entity struct {
	ID   string
	Time int64
	Raw  json.RawMessage
}

// Invalid is an entity of a page that cannot be imported (no id, no
// timestamp the page is ordered by, a deployment whose definitions are
// gone), with the reason. Before is how many of the page's Entities come
// before it: an index that moves past Entities[Before] has passed it.
type Invalid struct {
	Raw    json.RawMessage
	Reason string
	Before int
}

// Page is what one request returned.
type Page struct {
	// Entities in the engine's order (by the kind's timestamp).
	Entities []Entity
	// Invalid entities, left out of Entities.
	Invalid []Invalid
	// Fetched is the number of entities the engine returned (Entities and
	// Invalid): a page is full when it equals the requested maximum.
	Fetched int
	// ServerTime is the engine's clock at the answer (its Date header,
	// second precision; zero when absent).
	ServerTime time.Time
}

// After fetches at most max entities of kind k whose timestamp is strictly
// after the epoch milliseconds after, oldest first; after < 0 fetches from
// the first one. max must be positive (the engine treats 0 as unlimited).
func (c *Client) After(ctx context.Context, k Kind, after int64, max int) (Page, error) {
	if max <= 0 {
		return Page{}, fmt.Errorf("c7: page size %d: must be positive", max)
	}
	q := url.Values{}
	if k.deployment {
		if after >= 0 {
			q.Set("after", FormatDate(after))
		}
		return c.deployments(ctx, k, q, max, nil)
	}
	if after >= 0 {
		q.Set(k.Param+"After", FormatDate(after))
	}
	q.Set("maxResults", strconv.Itoa(max))
	return c.page(ctx, k, q, nil)
}

// At fetches every entity of kind k whose timestamp is exactly at (epoch
// milliseconds), without a limit (entities sharing one millisecond are few
// in practice, and a page boundary must never split them), except those
// whose ids known holds: those are counted in Fetched only (and a known
// deployment's definitions are not fetched again).
func (c *Client) At(ctx context.Context, k Kind, at int64, known map[string]bool) (Page, error) {
	q := url.Values{}
	if k.deployment {
		// /deployment has after and before (both strict), no "at".
		q.Set("after", FormatDate(at-1))
		q.Set("before", FormatDate(at+1))
		return c.deployments(ctx, k, q, 0, known)
	}
	q.Set(k.Param+"At", FormatDate(at))
	q.Set("maxResults", "0")
	return c.page(ctx, k, q, known)
}

// page fetches one Optimize endpoint page.
func (c *Client) page(ctx context.Context, k Kind, q url.Values, known map[string]bool) (Page, error) {
	for name, v := range k.Query {
		q[name] = v
	}
	return c.fetch(ctx, k, k.Path, q, known, nil)
}

// fetch GETs path with q, a JSON array of k's entities, and sorts them into
// a page: each valid entity whose id known does not hold, passed through
// expand when given (which may replace its JSON, or say why the entity
// cannot be imported), or an Invalid one with the reason.
func (c *Client) fetch(ctx context.Context, k Kind, path string, q url.Values, known map[string]bool,
	expand func(Entity) (json.RawMessage, string, error)) (Page, error) {
	var raws []json.RawMessage
	hdr, err := c.get(ctx, path, q, &raws)
	if err != nil {
		return Page{}, err
	}
	p := Page{Fetched: len(raws), ServerTime: serverTime(hdr)}
	invalid := func(raw json.RawMessage, reason string) {
		p.Invalid = append(p.Invalid, Invalid{Raw: raw, Reason: fmt.Sprintf("%s entity: %s", k.Name, reason), Before: len(p.Entities)})
	}
	for _, raw := range raws {
		id, ts, err := entityHead(raw, k.TimeField)
		if err != nil {
			invalid(raw, err.Error())
			continue
		}
		if known[id] {
			continue
		}
		e := Entity{ID: id, Time: ts, Raw: raw}
		if expand != nil {
			expanded, reason, err := expand(e)
			if err != nil {
				return Page{}, err
			}
			if reason != "" {
				invalid(raw, "id "+id+": "+reason)
				continue
			}
			e.Raw = expanded
		}
		p.Entities = append(p.Entities, e)
	}
	return p, nil
}

// DeploymentEntity is the entity of the deployment kind: a deployment with the
// process and decision definitions it deployed, each with its XML
// (bpmn20Xml, dmnXml) as the standard API returns it.
type DeploymentEntity struct {
	Deployment          json.RawMessage   `json:"deployment"`
	ProcessDefinitions  []json.RawMessage `json:"processDefinitions"`
	DecisionDefinitions []json.RawMessage `json:"decisionDefinitions"`
}

// deployments fetches deployments (at most max; 0: all) matching q, oldest
// first, except those known holds, each with its definitions and their
// XML. A deployment whose definitions or XML the engine no longer has
// (404: deleted meanwhile) is an Invalid entity, not a failed page.
func (c *Client) deployments(ctx context.Context, k Kind, q url.Values, max int, known map[string]bool) (Page, error) {
	q.Set("sortBy", "deploymentTime")
	q.Set("sortOrder", "asc")
	if max > 0 {
		q.Set("firstResult", "0")
		q.Set("maxResults", strconv.Itoa(max))
	}
	return c.fetch(ctx, k, "deployment", q, known, func(e Entity) (json.RawMessage, string, error) {
		d := DeploymentEntity{Deployment: e.Raw}
		var err error
		if d.ProcessDefinitions, err = c.definitions(ctx, "process-definition", e.ID, "bpmn20Xml"); err == nil {
			d.DecisionDefinitions, err = c.definitions(ctx, "decision-definition", e.ID, "dmnXml")
		}
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, err.Error(), nil
		case err != nil:
			return nil, "", err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, "", fmt.Errorf("c7: deployment %s: %w", e.ID, err)
		}
		return b, "", nil
	})
}

// definitions lists the definitions of one deployment from path
// (process-definition, decision-definition), each with its XML in field
// xmlField added.
func (c *Client) definitions(ctx context.Context, path, deploymentID, xmlField string) ([]json.RawMessage, error) {
	var defs []map[string]json.RawMessage
	if _, err := c.get(ctx, path, url.Values{"deploymentId": {deploymentID}}, &defs); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(defs))
	for _, d := range defs {
		var id string
		if err := json.Unmarshal(d["id"], &id); err != nil || id == "" {
			return nil, fmt.Errorf("%w: %s of deployment %s without an id", ErrUnavailable, path, deploymentID)
		}
		var xml map[string]json.RawMessage
		if _, err := c.get(ctx, path+"/"+url.PathEscape(id)+"/xml", nil, &xml); err != nil {
			return nil, err
		}
		d[xmlField] = xml[xmlField]
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("c7: %s %s: %w", path, id, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// get GETs path (below the engine's base) with query q and decodes the
// JSON answer into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := c.base + path
	if rel, ok := strings.CutPrefix(path, "../../"); ok {
		u = strings.TrimRight(c.opts.URL, "/") + "/" + rel
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	what := "GET " + c.redacted + strings.TrimPrefix(u, strings.TrimRight(c.opts.URL, "/"))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("c7: %s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.Username != "" || c.opts.Password != "" {
		req.SetBasicAuth(c.opts.Username, c.opts.Password)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: %s: no answer within %v", ErrUnavailable, what, c.opts.Timeout)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, redactErr(err, c.opts.URL, c.redacted))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %v", ErrUnavailable, what, err)
	}
	if int64(len(body)) > c.opts.MaxResponseBytes {
		return nil, fmt.Errorf("%w: %s: answer over %d bytes; lower the page size", ErrPageTooLarge, what, c.opts.MaxResponseBytes)
	}
	switch s := res.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return nil, fmt.Errorf("%w: %s: HTTP %d: %s", ErrAuth, what, s, summary(body))
	case s == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s: HTTP 404 (is %s the engine's REST base and %q its name?): %s", ErrNotFound, what, c.redacted, c.opts.Engine, summary(body))
	case s < 200 || s >= 300:
		return nil, fmt.Errorf("%w: %s: HTTP %d: %s", ErrUnavailable, what, s, summary(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("%w: %s: the answer is not the JSON expected: %v", ErrUnavailable, what, err)
	}
	return res.Header, nil
}

// entityHead reads an entity's id and its timeField as epoch ms.
func entityHead(raw json.RawMessage, timeField string) (string, int64, error) {
	var h struct {
		ID             *string `json:"id"`
		StartTime      *string `json:"startTime"`
		EndTime        *string `json:"endTime"`
		Time           *string `json:"time"`
		CreateTime     *string `json:"createTime"`
		Timestamp      *string `json:"timestamp"`
		EvaluationTime *string `json:"evaluationTime"`
		DeploymentTime *string `json:"deploymentTime"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", 0, fmt.Errorf("not a JSON object: %v", err)
	}
	if h.ID == nil || *h.ID == "" {
		return "", 0, errors.New("no id")
	}
	var ts *string
	switch timeField {
	case "startTime":
		ts = h.StartTime
	case "endTime":
		ts = h.EndTime
	case "time":
		ts = h.Time
	case "createTime":
		ts = h.CreateTime
	case "timestamp":
		ts = h.Timestamp
	case "evaluationTime":
		ts = h.EvaluationTime
	case "deploymentTime":
		ts = h.DeploymentTime
	}
	if ts == nil {
		return *h.ID, 0, fmt.Errorf("id %s: no %s", *h.ID, timeField)
	}
	ms, err := ParseDate(*ts)
	if err != nil {
		return *h.ID, 0, fmt.Errorf("id %s: %s: %v", *h.ID, timeField, err)
	}
	return *h.ID, ms, nil
}

// serverTime is the time of an answer's Date header, zero without one.
func serverTime(h http.Header) time.Time {
	t, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	return t
}

// summary shortens a response body for an error message.
func summary(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// redactErr replaces the raw URL (with credentials) in err's text.
func redactErr(err error, raw, redacted string) string {
	return strings.ReplaceAll(err.Error(), raw, redacted)
}

// Ping checks that the REST base answers and serves the configured engine
// (GET <URL>/engine lists the engines).
func (c *Client) Ping(ctx context.Context) error {
	var engines []struct {
		Name string `json:"name"`
	}
	// The engine list is one level above the engine's base.
	if _, err := c.get(ctx, "../../engine", nil, &engines); err != nil {
		return err
	}
	names := make([]string, 0, len(engines))
	for _, e := range engines {
		if e.Name == c.opts.Engine {
			return nil
		}
		names = append(names, e.Name)
	}
	return fmt.Errorf("%w: %s serves the engines %q, not %q", ErrNotFound, c.redacted, names, c.opts.Engine)
}
