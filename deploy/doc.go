// Package deploy holds Flowline's deployment files: deploy/compose (Docker
// Compose, with Prometheus, Grafana and Jaeger), deploy/k8s (the kustomize
// base in k8s/base; components adding the Camunda 7 and Zeebe imports, KEDA
// scaling and Prometheus Operator monitoring; the production overlay with
// its NATS chart values and ECK Elasticsearch), deploy/grafana and
// deploy/prometheus (the dashboard and the alert rules), with the
// repository's Dockerfile. It has no code; its tests load those files with
// their real loaders (compose-go, kustomize, and the API types of
// Kubernetes, KEDA, the Prometheus Operator and ECK) and check them against
// the variables, consumers, ports and metrics the flowline binary has.
package deploy
