#!/usr/bin/env bash
# Installs what Fleet's tests and local fleet need, only where it is missing:
#   apt:  PostgreSQL server binaries, python3-grpcio + python3-protobuf (interop peer),
#         prometheus (promtool), chromium (dashboard test), prometheus-postgres-exporter (benchmarks),
#         iproute2 + iptables (the network-namespace chaos tests),
#         etcd-server (the aggregators' leader election tests: a real three-member cluster),
#         prometheus-alertmanager (alert delivery tests: a real Alertmanager on a loopback port),
#         e2fsprogs + util-linux (the storage-stall tests: an ext4 loop volume frozen with fsfreeze),
#         a C toolchain (clang or gcc) + zlib1g-dev (the Native AOT agent's link step),
#         podman + runc + debootstrap (the container images and their tests; the base image is made from
#         Debian's packages where no registry is reachable)
#   npm:  the grpc-js interop client (tests/interop/node) and the Kubernetes manifest validator
#         (tests/deploy), each from its lock file
#   dotnet: NuGet restore of the solution
#   postgres: with --pg-versions or FLEET_PG_VERSIONS="13 14 ..." (or "all"), pinned server binaries for the
#             version-matrix tests (scripts/fetch-postgres.sh); skipped by default to keep installs fast
# Safe to run repeatedly; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'install-deps: %s\n' "$*"; }

for arg in "$@"; do
  case "$arg" in
    --pg-versions) FLEET_PG_VERSIONS=${FLEET_PG_VERSIONS:-all} ;;
    *) log "unknown argument '$arg' (known: --pg-versions)"; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    log "need root (or sudo) to run: $*"; return 1; fi
}

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
/usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1 || missing+=(python3-grpcio python3-protobuf)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || [ -x /sbin/iptables ] || missing+=(iptables)
command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing+=(clang)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || missing+=(etcd-server)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
[ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
{ [ -x /usr/sbin/fsfreeze ] || [ -x /sbin/fsfreeze ]; } && { [ -x /usr/sbin/losetup ] || [ -x /sbin/losetup ]; } || missing+=(util-linux)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if [ "${FLEET_SKIP_BROWSER:-0}" != 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
if [ "${FLEET_WITH_BENCH_DEPS:-0}" = 1 ]; then
  command -v prometheus-postgres-exporter >/dev/null 2>&1 || [ -x /usr/bin/prometheus-postgres-exporter ] || missing+=(prometheus-postgres-exporter)
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "apt packages missing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged services on install; Fleet starts its own instances on free ports.
  for svc in postgresql prometheus prometheus-postgres-exporter etcd; do
    if command -v systemctl >/dev/null 2>&1; then as_root systemctl stop "$svc" >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then as_root service "$svc" stop >/dev/null 2>&1 || true; fi
  done
else
  log "apt packages: all present"
fi

# The grpc-js interop peer, and the Kubernetes manifest validator (kubernetes-models, @kubernetes/client-node).
for node_dir in tests/interop/node tests/deploy; do
  stamp="$node_dir/node_modules/.fleet-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$node_dir/package-lock.json" "$stamp"; then
    log "npm ci in $node_dir"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$node_dir/package-lock.json" "$stamp"
  else
    log "npm packages in $node_dir: up to date"
  fi
done

if [ -n "${FLEET_PG_VERSIONS:-}" ]; then
  versions=$FLEET_PG_VERSIONS
  [ "$versions" = all ] && versions="13 14 16 17 18"
  log "PostgreSQL majors $versions (scripts/fetch-postgres.sh)"
  # shellcheck disable=SC2086 # a list of majors
  scripts/fetch-postgres.sh $versions >/dev/null
fi

log "dotnet restore"
dotnet restore Fleet.sln --nologo -v quiet
