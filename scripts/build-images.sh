#!/usr/bin/env bash
# Builds the fleet-aggregator and fleet-agent container images (Dockerfile.aggregator, Dockerfile.agent) with
# podman, or docker when podman is absent, and prints their names and sizes.
#   scripts/build-images.sh [TAG]          (default tag: dev)
# Environment: CONTAINER_ENGINE (podman|docker), PG_MAJOR (the agent's PostgreSQL tools, default 15),
# FLEET_IMAGE_PREFIX (default: none; e.g. registry.example/fleet/).
# The applications are published on the host first (the aggregator self-contained, the agent as Native AOT)
# and copied into the images; no SDK image is needed. The base image (debian:bookworm-slim) must exist
# locally or be pullable; where no registry is reachable, scripts/make-base-image.sh makes it from Debian's
# packages.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-dev}
engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || { echo "build-images: neither podman nor docker is installed" >&2; exit 2; }
prefix=${FLEET_IMAGE_PREFIX:-}
pg_major=${PG_MAJOR:-15}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=$(git describe --tags --always 2>/dev/null || echo 0.0.0-dev)

log() { printf 'build-images: %s\n' "$*" >&2; }

log "publishing fleet-aggregator (self-contained, trimmed, linux-x64)"
rm -rf artifacts/images/aggregator
dotnet publish aggregator/Fleet.Aggregator/Fleet.Aggregator.csproj --nologo -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true \
  -o artifacts/images/aggregator --artifacts-path artifacts/build-images >&2
log "publishing fleet-agent (Native AOT, linux-x64)"
scripts/publish-agent-aot.sh artifacts/images/agent >/dev/null

pull=()
if [ "$(basename "$engine")" = podman ]; then pull=(--pull=never --format docker); fi  # docker format keeps HEALTHCHECK
common=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision")
log "building ${prefix}fleet-aggregator:$tag"
"$engine" build -q "${pull[@]}" "${common[@]}" -f Dockerfile.aggregator -t "${prefix}fleet-aggregator:$tag" . >/dev/null
log "building ${prefix}fleet-agent:$tag (PostgreSQL $pg_major tools)"
"$engine" build -q "${pull[@]}" "${common[@]}" --build-arg "PG_MAJOR=$pg_major" -f Dockerfile.agent -t "${prefix}fleet-agent:$tag" . >/dev/null
"$engine" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "fleet-(aggregator|agent):$tag " || true
