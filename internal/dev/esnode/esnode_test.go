package esnode

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/devproc"
	"github.com/flowline/flowline/internal/dev/devproc/devproctest"
)

func TestMinJavaMajor(t *testing.T) {
	for v, want := range map[string]int{"8.19.21": 17, "8.0.0": 17, "9.0.0": 21, "9.2.1": 21, "10.0.0": 21, "7.17.29": 11} {
		got, _, err := elasticsearchFlavor.javaRange(v)
		if err != nil || got != want {
			t.Errorf("minJavaMajor(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"6.8.23", "x.y.z"} {
		if _, _, err := elasticsearchFlavor.javaRange(v); err == nil {
			t.Errorf("minJavaMajor(%q): want error", v)
		}
	}
}

func TestResolveJavaHomeNamesTheVersion(t *testing.T) {
	old := devproctest.FakeJDK(t, t.TempDir(), "java-11", "11.0.2", "")
	_, err := elasticsearchFlavor.resolveJava(old, "8.19.21", devproc.SystemJava)
	if !errors.Is(err, devproc.ErrNoJava) || !strings.Contains(err.Error(), "Elasticsearch 8.19.21 needs Java 17") {
		t.Errorf("resolveJavaHome with Java 11 for 8.19.21: err = %v, want ErrNoJava naming the version and Java 17", err)
	}
}

func TestStartOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{HTTPPort: busy})
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("Start on a busy port: err = %v, want 'already in use'", err)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"8.19.21", "9.0.0", "9.0.0-beta1"} {
		if err := elasticsearchFlavor.checkVersion(v); err != nil {
			t.Errorf("elasticsearchFlavor.checkVersion(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"", "8", "../8.19.21", "8.19.21/x", "latest"} {
		if err := elasticsearchFlavor.checkVersion(v); err == nil {
			t.Errorf("elasticsearchFlavor.checkVersion(%q): want error", v)
		}
	}
}

type zipEntry struct {
	name string
	mode fs.FileMode
	body string
}

func writeZip(t *testing.T, entries []zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUnzip(t *testing.T) {
	zp := writeZip(t, []zipEntry{
		{name: "es-1/", mode: fs.ModeDir | 0o755},
		{name: "es-1/bin/elasticsearch", mode: 0o644, body: "#!/bin/sh\n"}, // in bin/: made executable
		{name: "es-1/lib/tool", mode: 0o750, body: "x"},                    // exec bit kept
		{name: "es-1/config/jvm.options", mode: 0o660, body: "-Xss1m\n"},   // made world-readable
		{name: "es-1/lib/link", mode: fs.ModeSymlink | 0o777, body: "tool"},
	})
	dst := t.TempDir()
	if err := unzip(context.Background(), zp, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{
		"es-1/bin/elasticsearch":  0o755,
		"es-1/lib/tool":           0o755,
		"es-1/config/jvm.options": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dst, "es-1/lib/link")); err != nil || string(b) != "x" {
		t.Errorf("symlink: %q, %v", b, err)
	}
	if home, err := elasticsearchFlavor.findHome(dst); err != nil || home != filepath.Join(dst, "es-1") {
		t.Errorf("findHome = %q, %v", home, err)
	}

	for _, bad := range []zipEntry{
		{name: "../evil", mode: 0o644, body: "x"},
		{name: "a/../../evil", mode: 0o644, body: "x"},
		{name: "/abs", mode: 0o644, body: "x"},
		{name: "a/link", mode: fs.ModeSymlink | 0o777, body: "../../etc/passwd"},
		{name: "a/abslink", mode: fs.ModeSymlink | 0o777, body: "/etc/passwd"},
	} {
		if err := unzip(context.Background(), writeZip(t, []zipEntry{bad}), t.TempDir()); err == nil {
			t.Errorf("unzip accepted escaping entry %q -> %q", bad.name, bad.body)
		}
	}
}

// TestStartStop provisions and runs a real node. It needs Maven (or a cached
// zip) and a JDK 17+; it is skipped with -short.
func TestStartStop(t *testing.T) {
	requireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	t0 := time.Now()
	zipPath, _, err := elasticsearchFlavor.fetch(ctx, DefaultVersion)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	home, err := elasticsearchFlavor.install(ctx, DefaultVersion, zipPath, "")
	if err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	n, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	t.Logf("fetch %v, unpack %v, start to healthy %v; zip %s, home %s, url %s",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond), zipPath, home, n.URL())
	stopped := false
	defer func() {
		if !stopped {
			_ = n.Stop()
		}
	}()

	if !strings.HasPrefix(n.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q", n.URL())
	}
	if os.Geteuid() == 0 {
		if uid := procUID(t, n.pgid); uid != nobodyUID {
			t.Errorf("node runs as uid %d, want %d", uid, nobodyUID)
		}
	}

	var health struct {
		Status        string `json:"status"`
		NumberOfNodes int    `json:"number_of_nodes"`
	}
	doJSON(t, http.MethodGet, n.URL()+"/_cluster/health", "", http.StatusOK, &health)
	if (health.Status != "green" && health.Status != "yellow") || health.NumberOfNodes != 1 {
		t.Errorf("health = %+v", health)
	}

	var put struct {
		Result string `json:"result"`
	}
	doJSON(t, http.MethodPut, n.URL()+"/esnode-test/_doc/1?refresh=true", `{"msg":"hello","n":42}`, http.StatusCreated, &put)
	if put.Result != "created" {
		t.Errorf("index result = %q", put.Result)
	}
	var got struct {
		Found  bool `json:"found"`
		Source struct {
			Msg string `json:"msg"`
			N   int    `json:"n"`
		} `json:"_source"`
	}
	doJSON(t, http.MethodGet, n.URL()+"/esnode-test/_doc/1", "", http.StatusOK, &got)
	if !got.Found || got.Source.Msg != "hello" || got.Source.N != 42 {
		t.Errorf("get = %+v", got)
	}
	var search struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
	}
	doJSON(t, http.MethodPost, n.URL()+"/esnode-test/_search", `{"query":{"match":{"msg":"hello"}}}`, http.StatusOK, &search)
	if search.Hits.Total.Value != 1 {
		t.Errorf("search hits = %d, want 1", search.Hits.Total.Value)
	}

	pgid, dir := n.pgid, n.dir
	port := strings.TrimPrefix(n.URL(), "http://127.0.0.1:")
	t4 := time.Now()
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	t.Logf("stop %v", time.Since(t4).Round(time.Millisecond))
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- n.Wait() }()
	select {
	case err := <-waited:
		t.Logf("Wait after Stop: %v", err)
	case <-time.After(5 * time.Second):
		t.Error("Wait hangs after Stop")
	}
	if devproc.GroupAlive(pgid) {
		t.Errorf("process group %d still alive after Stop", pgid)
	}
	if err := syscallKill0(pgid); err == nil {
		t.Errorf("launcher pid %d still exists after Stop", pgid)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("port %s still open after Stop", port)
	}
	if fileExists(dir) {
		t.Errorf("node dir %s still exists after Stop", dir)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			uid, _ := strconv.Atoi(f[1]) // effective uid
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

func doJSON(t *testing.T, method, url, body string, wantStatus int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, url, err, b)
	}
}

func syscallKill0(pid int) error { return syscall.Kill(pid, 0) }

// worldReadableTempDir is a t.TempDir that the unprivileged node user can
// reach when the test runs as root.
func worldReadableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var logPathRE = regexp.MustCompile(`log: (\S+);`)

// nodeDirFromErr returns the node directory named in a Start error and
// schedules its removal (Start keeps the logs of a failed node).
func nodeDirFromErr(t *testing.T, err error) string {
	t.Helper()
	m := logPathRE.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error does not name the log: %v", err)
	}
	if !fileExists(m[1]) {
		t.Errorf("log %s named in the error does not exist", m[1])
	}
	dir := filepath.Dir(m[1])
	if filepath.Base(dir) == "logs" {
		dir = filepath.Dir(dir)
	}
	if !strings.HasPrefix(filepath.Base(dir), "node-") {
		t.Fatalf("unexpected node dir %s", dir)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// processesUsing lists pids whose command line mentions s.
func processesUsing(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func requireNodePrereqs(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mvn"); err != nil {
		if dir, _ := elasticsearchFlavor.cacheDir(); dir == "" || !fileExists(filepath.Join(dir, "elasticsearch-"+DefaultVersion+".zip")) {
			t.Fatal("neither mvn nor a cached Elasticsearch zip: install Maven (CI has it)")
		}
	}
}

// requireRealNode is requireNodePrereqs plus a JDK that can run the node.
func requireRealNode(t *testing.T) {
	t.Helper()
	requireNodePrereqs(t)
	if _, err := elasticsearchFlavor.resolveJava("", DefaultVersion, devproc.SystemJava); err != nil {
		t.Fatalf("no JDK (install one; CI has OpenJDK 17): %v", err)
	}
}

// TestStartProcessExits: a node whose JVM dies at once yields an error that
// says so and shows the output.
func TestStartProcessExits(t *testing.T) {
	requireNodePrereqs(t)
	script := "#!/bin/sh\necho \"broken-jdk: refusing to start $1\" >&2\nexit 3\n"
	javaHome := devproctest.FakeJDK(t, worldReadableTempDir(t), "broken-jdk", "17.0.99", script)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := Start(ctx, Options{JavaHome: javaHome})
	if err == nil {
		t.Fatal("Start with a broken JDK succeeded")
	}
	t.Logf("error (expected):\n%v", err)
	for _, want := range []string{"process exited", "exit status", "broken-jdk: refusing to start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	nodeDirFromErr(t, err)
}

// TestStartTimeout: a node that is not healthy by the deadline is killed and
// the error names the log.
func TestStartTimeout(t *testing.T) {
	requireRealNode(t)
	// Provision outside the short deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := elasticsearchFlavor.provision(ctx, DefaultVersion); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	n, err := Start(short, Options{})
	if err == nil {
		n.Stop()
		t.Fatal("Start healthy within 2s; cannot test the timeout")
	}
	t.Logf("error (expected):\n%v", err)
	if !strings.Contains(err.Error(), "not healthy in time") {
		t.Errorf("error lacks 'not healthy in time'")
	}
	dir := nodeDirFromErr(t, err)
	if pids := processesUsing(dir); len(pids) > 0 {
		t.Errorf("processes still running from %s: %v", dir, pids)
	}
	if fileExists(filepath.Join(dir, "data")) {
		t.Errorf("data dir of the failed node was kept")
	}
}

func TestNodeSettings(t *testing.T) {
	got, err := elasticsearchFlavor.nodeSettings(map[string]string{"thread_pool.write.queue_size": "1", "xpack.security.enabled": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got["thread_pool.write.queue_size"] != "1" || got["xpack.security.enabled"] != "true" || got["action.destructive_requires_name"] != "false" {
		t.Errorf("nodeSettings = %v", got)
	}
	if elasticsearchFlavor.defaults["xpack.security.enabled"] != "false" {
		t.Error("nodeSettings changed the defaults")
	}
	for _, bad := range []map[string]string{
		{"http.port": "9200"},
		{"path.data": "/x"},
		{"cluster.name": "x"},
		{"": "x"},
		{"a=b": "x"},
		{" a": "x"},
		{"a": "x\ny"},
	} {
		if _, err := elasticsearchFlavor.nodeSettings(bad); err == nil {
			t.Errorf("elasticsearchFlavor.nodeSettings(%q): want error", bad)
		}
	}
	// Start refuses them before doing anything.
	_, err = Start(context.Background(), Options{Settings: map[string]string{"http.port": "1"}})
	if err == nil || !strings.Contains(err.Error(), "managed by esnode") {
		t.Errorf("Start with a managed setting: err = %v", err)
	}
}

func TestSearchableByOthers(t *testing.T) {
	dir := worldReadableTempDir(t)
	if err := searchableByOthers(filepath.Join(dir, "not", "yet")); err != nil {
		t.Errorf("world-searchable path: %v", err)
	}
	closed := filepath.Join(dir, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := searchableByOthers(filepath.Join(closed, "data")); err == nil || !strings.Contains(err.Error(), closed) {
		t.Errorf("path under a 0700 dir: err = %v", err)
	}
}

// nodeJSON GETs path from n and decodes the answer into out.
func nodeJSON(t *testing.T, n *Node, path string, out any) {
	t.Helper()
	doJSON(t, http.MethodGet, n.URL()+path, "", http.StatusOK, out)
}

// TestRestartOnDataDir: a node stopped and started again on the same DataDir
// and HTTPPort comes back healthy at the same URL with its cluster, indices,
// documents and settings; the DataDir survives Stop and cannot be shared by
// two nodes at once.
func TestRestartOnDataDir(t *testing.T) {
	requireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	ports, err := devproc.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(worldReadableTempDir(t), "node")
	opts := Options{
		DataDir:  dataDir,
		HTTPPort: ports[0],
		HeapMB:   512,
		Settings: map[string]string{"thread_pool.write.queue_size": "77"},
	}
	start := func() *Node {
		t.Helper()
		t0 := time.Now()
		n, err := Start(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Stop() })
		t.Logf("started %s in %v", n.URL(), time.Since(t0).Round(time.Millisecond))
		return n
	}
	type state struct {
		ClusterName string `json:"cluster_name"`
		Metadata    struct {
			ClusterUUID string `json:"cluster_uuid"`
		} `json:"metadata"`
	}
	const docs = 500

	n1 := start()
	wantURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if n1.URL() != wantURL {
		t.Errorf("URL = %s, want %s", n1.URL(), wantURL)
	}
	// The extra setting is in force.
	var settings struct {
		Nodes map[string]struct {
			Settings struct {
				ThreadPool struct {
					Write struct {
						QueueSize string `json:"queue_size"`
					} `json:"write"`
				} `json:"thread_pool"`
			} `json:"settings"`
		} `json:"nodes"`
	}
	nodeJSON(t, n1, "/_nodes/_local/settings", &settings)
	for id, nd := range settings.Nodes {
		if nd.Settings.ThreadPool.Write.QueueSize != "77" {
			t.Errorf("node %s: thread_pool.write.queue_size = %q, want 77", id, nd.Settings.ThreadPool.Write.QueueSize)
		}
	}
	if len(settings.Nodes) != 1 {
		t.Errorf("%d nodes in _nodes/_local/settings", len(settings.Nodes))
	}
	// A second node on the same DataDir is refused at once.
	if n, err := Start(ctx, Options{DataDir: dataDir}); err == nil {
		n.Stop()
		t.Error("a second node started on a DataDir in use")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second node on the DataDir: err = %v, want 'in use'", err)
	}

	var before state
	nodeJSON(t, n1, "/_cluster/state/metadata?filter_path=cluster_name,metadata.cluster_uuid", &before)
	var body strings.Builder
	for i := range docs {
		fmt.Fprintf(&body, `{"index":{"_index":"restart-test","_id":"%d","version":%d,"version_type":"external"}}`+"\n"+`{"n":%d}`+"\n", i, 10+i, i)
	}
	var bulk struct {
		Errors bool `json:"errors"`
		Items  []any
	}
	req, _ := http.NewRequest(http.MethodPost, n1.URL()+"/_bulk", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &bulk); err != nil || bulk.Errors || len(bulk.Items) != docs {
		t.Fatalf("bulk: %v errors=%v items=%d: %.500s", err, bulk.Errors, len(bulk.Items), b)
	}
	// No refresh: the documents must survive in the translog.

	if err := n1.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, sub := range []string{"data", "config", "logs", "cluster.name"} {
		if !fileExists(filepath.Join(dataDir, sub)) {
			t.Errorf("%s missing from the DataDir after Stop", sub)
		}
	}
	if fileExists(filepath.Join(dataDir, "tmp")) {
		t.Errorf("temp dir kept after Stop")
	}
	if !devproc.PortAvailable(ports[0]) {
		t.Fatalf("port %d still taken after Stop", ports[0])
	}

	n2 := start()
	if n2.URL() != wantURL {
		t.Errorf("URL after restart = %s, want %s", n2.URL(), wantURL)
	}
	var health struct {
		Status string `json:"status"`
	}
	// Yellow: the index has the default replica, which a single node cannot
	// assign; the primary is what matters.
	nodeJSON(t, n2, "/_cluster/health/restart-test?wait_for_status=yellow&timeout=30s", &health)
	if health.Status != "yellow" && health.Status != "green" {
		t.Errorf("index health after restart = %q", health.Status)
	}
	var after state
	nodeJSON(t, n2, "/_cluster/state/metadata?filter_path=cluster_name,metadata.cluster_uuid", &after)
	if after != before || after.Metadata.ClusterUUID == "" {
		t.Errorf("cluster after restart %+v, before %+v", after, before)
	}
	var count struct {
		Count int `json:"count"`
	}
	doJSON(t, http.MethodPost, n2.URL()+"/restart-test/_refresh", "", http.StatusOK, &struct{}{})
	nodeJSON(t, n2, "/restart-test/_count", &count)
	if count.Count != docs {
		t.Errorf("%d documents after restart, want %d", count.Count, docs)
	}
	var got struct {
		Found   bool `json:"found"`
		Version int  `json:"_version"`
		Source  struct {
			N int `json:"n"`
		} `json:"_source"`
	}
	nodeJSON(t, n2, "/restart-test/_doc/123", &got)
	if !got.Found || got.Version != 133 || got.Source.N != 123 {
		t.Errorf("document 123 after restart: %+v", got)
	}
	nodeJSON(t, n2, "/_nodes/_local/settings", &settings)
	for id, nd := range settings.Nodes {
		if nd.Settings.ThreadPool.Write.QueueSize != "77" {
			t.Errorf("after restart, node %s: thread_pool.write.queue_size = %q", id, nd.Settings.ThreadPool.Write.QueueSize)
		}
	}
	if err := n2.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if !fileExists(filepath.Join(dataDir, "data")) {
		t.Error("data gone after the second Stop")
	}
}

func TestConfigDefaultsToDefaultVersion(t *testing.T) {
	t.Setenv("FLOWLINE_ES_VERSION", "") // restored at cleanup
	os.Unsetenv("FLOWLINE_ES_VERSION")
	c, err := LoadConfig()
	if err != nil || c.Version != DefaultVersion {
		t.Fatalf("unset: %+v, %v; want %s", c, err, DefaultVersion)
	}
	t.Setenv("FLOWLINE_ES_VERSION", "")
	if c, err = LoadConfig(); err != nil || c.Version != DefaultVersion {
		t.Fatalf("empty: %+v, %v; want %s", c, err, DefaultVersion)
	}
	t.Setenv("FLOWLINE_ES_VERSION", "9.1.0")
	if c, err = LoadConfig(); err != nil || c.Version != "9.1.0" {
		t.Fatalf("set: %+v, %v; want 9.1.0", c, err)
	}
	t.Setenv("FLOWLINE_ES_VERSION", "latest")
	if _, err = LoadConfig(); err == nil || !strings.Contains(err.Error(), "FLOWLINE_ES_VERSION") {
		t.Fatalf("invalid: %v, want an error naming FLOWLINE_ES_VERSION", err)
	}
}
