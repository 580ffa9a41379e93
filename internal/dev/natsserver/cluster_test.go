package natsserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/dev/devproc"
)

// startCluster starts three JetStream nodes of one cluster, each with its
// own store and routes to all three (a JetStream cluster node needs its
// routes configured); all are shut down at cleanup.
func startCluster(t *testing.T) []*Server {
	t.Helper()
	ports, err := devproc.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	routes := RouteURLs("127.0.0.1", ports)
	var nodes []*Server
	for i, p := range ports {
		s, err := Start(t.TempDir(), "127.0.0.1", 0, WithCluster(fmt.Sprintf("n%d", i+1), "flowline-test", p, routes))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		nodes = append(nodes, s)
	}
	for _, s := range nodes {
		if err := s.WaitReady(time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// TestClusterReplicatesAndSurvivesANode: three nodes form a JetStream
// cluster; a stream with three replicas takes writes, and keeps taking and
// serving them with one node down.
func TestClusterReplicatesAndSurvivesANode(t *testing.T) {
	nodes := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := nats.Connect(nodes[0].URL()+","+nodes[2].URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var st jetstream.Stream
	for { // the cluster elects its meta leader first
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		st, err = js.CreateStream(actx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3, Storage: jetstream.FileStorage})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create a 3-replica stream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	info, err := st.Info(ctx)
	if err != nil || info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream info %+v, %v; want a leader and two replicas", info, err)
	}
	if _, err := js.Publish(ctx, "r3.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	nodes[1].Shutdown() // one of three: the stream keeps its quorum
	for i := 2; i <= 5; i++ {
		for {
			actx, acancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := js.Publish(actx, "r3.a", []byte(fmt.Sprint(i)), jetstream.WithMsgID(fmt.Sprint(i)))
			acancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("publish %d with a node down: %v", i, err)
			}
			time.Sleep(200 * time.Millisecond) // a new stream leader may be elected
		}
	}
	for {
		info, err = st.Info(ctx)
		if err == nil && info.State.Msgs == 5 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("stream state %+v, %v; want 5 messages", info, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
