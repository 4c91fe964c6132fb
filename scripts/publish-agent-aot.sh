#!/usr/bin/env bash
# Publishes fleet-agent as a Native AOT executable (linux-x64) and prints its path. The build has its own
# artifacts directory, so the JIT build's bin/ and obj/ stay as they are; a second run is incremental.
# Usage: scripts/publish-agent-aot.sh [OUTPUT_DIR]   (default: artifacts/agent-aot)
# Needs clang and zlib1g-dev (the native linker step); scripts/install-deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/agent-aot}
dotnet publish agent/Fleet.Agent/Fleet.Agent.csproj --nologo -c Release -r linux-x64 -p:PublishAot=true \
  -o "$out" --artifacts-path artifacts/build-aot >&2
echo "$(cd "$out" && pwd)/fleet-agent"
