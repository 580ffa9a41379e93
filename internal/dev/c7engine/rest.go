package c7engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
)

// Deploy deploys files (resource name -> content, e.g. "order.bpmn") to the
// engine at restURL (…/engine-rest) as one deployment called name, with a
// multipart POST /deployment/create, and returns the deployment's id.
func Deploy(ctx context.Context, restURL, name string, files map[string][]byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("deployment-name", name); err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := mw.CreateFormFile(n, n)
		if err != nil {
			return "", err
		}
		if _, err := w.Write(files[n]); err != nil {
			return "", err
		}
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := call(ctx, http.MethodPost, restURL+"/deployment/create", mw.FormDataContentType(), &body, &out); err != nil {
		return "", fmt.Errorf("c7engine: deployment %q: %w", name, err)
	}
	if out.ID == "" {
		return "", fmt.Errorf("c7engine: deployment %q: no id in the answer", name)
	}
	return out.ID, nil
}

// Count returns the count a REST count endpoint of the engine at restURL
// answers, path with its query, e.g.
// "/history/activity-instance/count?finished=true".
func Count(ctx context.Context, restURL, path string) (int, error) {
	var out struct {
		Count *int `json:"count"`
	}
	if err := call(ctx, http.MethodGet, restURL+path, "", nil, &out); err != nil {
		return 0, fmt.Errorf("c7engine: %w", err)
	}
	if out.Count == nil {
		return 0, fmt.Errorf("c7engine: GET %s: no count in the answer", path)
	}
	return *out.Count, nil
}

// call does one request and decodes a 200 answer's JSON into out; any
// other status is an error quoting the answer.
func call(ctx context.Context, method, u, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w in %s", method, u, err, b)
	}
	return nil
}
