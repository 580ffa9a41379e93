// Package deploy holds Flowline's deployment files: deploy/compose (Docker
// Compose) and deploy/k8s (a kustomize base, and the component deploy/k8s/c7
// adding the Camunda 7 import), with the repository's
// Dockerfile. It has no code; its tests load those files with their real
// loaders (compose-go, kustomize and the Kubernetes API types) and check them
// against the variables the flowline binary reads.
package deploy
