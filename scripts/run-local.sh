#!/usr/bin/env bash
# Fleet's main job on the embedded default: a local fleet on this machine (PostgreSQL primary + 2
# streaming replicas with a WAL archive, one fleet-agent per node, one fleet-aggregator), until Ctrl-C.
# Installs what is missing first. Extra arguments go to `fleetctl local` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET_SKIP_BROWSER=1 scripts/install-deps.sh
dotnet build cli/Fleet.Cli --nologo -c Release --no-restore -v quiet
exec dotnet cli/Fleet.Cli/bin/Release/net10.0/fleetctl.dll local "$@"
