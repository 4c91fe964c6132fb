#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs every test
# (unit, real PostgreSQL of every supported major, interop with python3-grpcio and grpc-js, end to end).
# Used by CI as is.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Interop").
set -euo pipefail
cd "$(dirname "$0")/.."
# --pg-versions fetches PostgreSQL 13, 14, 16, 17 and 18 (15 is Debian's) for the version-matrix tests
# (trait Postgres=Matrix, about 5 s per major); once all are fetched a missing one fails instead of skipping.
# As root the servers run as the postgres OS user, which may not reach a checkout under a closed directory:
# the fetched binaries then live in a cache every user can read (install-deps and the tests both read it).
if [ "$(id -u)" -eq 0 ] && [ -z "${FLEET_PG_CACHE:-}" ]; then export FLEET_PG_CACHE=/var/cache/fleet/postgres; fi
scripts/install-deps.sh --pg-versions
if [ "${FLEET_PG_VERSIONS:-all}" = all ]; then export FLEET_PG_VERSIONS_REQUIRED=${FLEET_PG_VERSIONS_REQUIRED:-1}; fi
dotnet build Fleet.sln --nologo -c Release --no-restore

# The container images (Dockerfile.agent, Dockerfile.aggregator) and the PostgreSQL image the container tests
# run beside them, built with podman; the base image is made from Debian's packages when none exists.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/tests/containers/containers.conf}
scripts/make-base-image.sh
scripts/build-images.sh dev
podman build -q --pull=never --format docker -f tests/containers/Dockerfile.postgres -t fleet-test-postgres:dev . >/dev/null

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Test assemblies start real PostgreSQL clusters: one assembly at a time (-m:1; dotnet test otherwise runs the
# solution's test projects in parallel) keeps a 2-core machine responsive and timing-sensitive tests honest.
set +e
dotnet test Fleet.sln --nologo -c Release --no-build -m:1 "$@" -- RunConfiguration.MaxCpuCount=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Second pass: fleet-agent published as Native AOT (what the image ships), and every test that runs the
# agent executable (trait Agent=Executable) run again against that binary. Skipped when the caller filters.
if [ "$#" -eq 0 ]; then
  aot=$(scripts/publish-agent-aot.sh)
  set +e
  FLEET_TEST_AGENT_EXECUTABLE="$aot" dotnet test Fleet.sln --nologo -c Release --no-build -m:1 \
    --filter "Agent=Executable" -- RunConfiguration.MaxCpuCount=1 2>&1 | tee -a "$log"
  aot_status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 0 ]; then status=$aot_status; fi
fi

# One closing line over all assemblies.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
