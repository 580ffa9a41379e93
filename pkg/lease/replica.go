package lease

import (
	"os"
	"strconv"
	"strings"
)

// DefaultReplicaID names this process among the replicas of a service: its
// host name (the pod name in Kubernetes) and process id.
func DefaultReplicaID() string {
	host, _ := os.Hostname()
	id := strings.NewReplacer(".", "-", " ", "-").Replace(host) + "-" + strconv.Itoa(os.Getpid())
	return strings.Trim(id, "-")
}
