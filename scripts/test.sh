#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs every test
# (unit, real PostgreSQL, interop with python3-grpcio and grpc-js, end to end). Used by CI as is.
# Extra arguments go to `dotnet test` (e.g. --filter "FullyQualifiedName~Interop").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dotnet build Fleet.sln --nologo -c Release --no-restore

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Test assemblies start real PostgreSQL clusters: one assembly at a time keeps a 2-core machine responsive.
set +e
dotnet test Fleet.sln --nologo -c Release --no-build "$@" -- RunConfiguration.MaxCpuCount=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

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
