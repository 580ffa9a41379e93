package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/devproc"
	"github.com/flowline/flowline/internal/dev/natsserver"
)

// `flowline nats --cluster-name` run three times, as separate processes,
// forms a JetStream cluster that holds a stream with three replicas.
func TestNATSClusterOfThreeProcesses(t *testing.T) {
	ports, err := devproc.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	routes := natsserver.RouteURLs("127.0.0.1", ports)
	dir := t.TempDir()
	var urlFiles []string
	for i, p := range ports {
		name := fmt.Sprintf("n%d", i+1)
		urlFile := filepath.Join(dir, name+".url")
		urlFiles = append(urlFiles, urlFile)
		cmd := exec.Command(os.Args[0], "nats", "--port", "0", "--store", filepath.Join(dir, name), "--name", name,
			"--cluster-name", "flowline-test", "--cluster-port", fmt.Sprint(p), "--routes", strings.Join(routes, ","), "--url-file", urlFile)
		cmd.Env = append(os.Environ(), asFlowline+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	var urls []string
	deadline := time.Now().Add(time.Minute)
	for _, f := range urlFiles {
		for {
			b, err := os.ReadFile(f)
			if err == nil && strings.HasSuffix(string(b), "\n") {
				urls = append(urls, strings.TrimSpace(string(b)))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never written: the node did not become ready", f)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
		if err == nil {
			info, err := st.Info(ctx)
			cancel()
			if err != nil || info.Cluster == nil || info.Cluster.Name != "flowline-test" || len(info.Cluster.Replicas) != 2 {
				t.Fatalf("stream info %+v, %v; want a leader and two replicas in flowline-test", info, err)
			}
			return
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("create a 3-replica stream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
