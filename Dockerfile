# syntax=docker/dockerfile:1
#
# The flowline image: one static binary; the subcommand picks the service
# (`flowline ingest`, `aggregator`, `writer`, `archiver`). Built by
# deploy/compose/compose.yaml and run by the manifests in deploy/k8s.
# deploy/deploy_test.go checks this file.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# What `flowline version` and flowline_build_info say: pass them when
# building a release (docker build --build-arg VERSION=v1.2.0 --build-arg
# REVISION=$(git rev-parse HEAD) .); .dockerignore keeps .git out, so Go
# cannot stamp the revision itself.
ARG VERSION=devel
ARG REVISION=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/flowline/flowline/pkg/buildinfo.version=${VERSION} -X github.com/flowline/flowline/pkg/buildinfo.revision=${REVISION}" \
      -o /out/flowline ./cmd/flowline

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flowline /flowline
# nonroot's numeric id, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 8080: ingest's push API; 9600: every service's admin server (/healthz, /readyz, /metrics).
EXPOSE 8080 9600
ENTRYPOINT ["/flowline"]
