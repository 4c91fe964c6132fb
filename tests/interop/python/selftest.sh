#!/usr/bin/env bash
# Self-test of the interop peers without Fleet: python client and node client against the
# python (grpcio) server. Usage: tests/interop/python/selftest.sh
# Needs /usr/bin/python3 with python3-grpcio + python3-protobuf, protoc (PATH, $PROTOC or the
# Grpc.Tools NuGet package) and, for the node part, `npm ci` done in tests/interop/node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/../node"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$here/fleet_protos.py" --out "$work/fleet.pb"
/usr/bin/python3 "$here/echo_server.py" --port 0 --descriptor-set "$work/fleet.pb" --ignore-stdin \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^LISTENING ' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
port="$(awk '/^LISTENING /{print $2; exit}' "$work/server.out")"
[[ -n "$port" ]] || { echo "server did not start"; cat "$work/server.err"; exit 1; }
echo "python server on 127.0.0.1:$port"

rc=0
echo "== python client"
start=$(date +%s.%N)
/usr/bin/python3 "$here/echo_client.py" --target "127.0.0.1:$port" --descriptor-set "$work/fleet.pb" || rc=1
echo "python client: $(echo "$(date +%s.%N) - $start" | bc) s"

if [[ -d "$node_dir/node_modules" ]]; then
  echo "== node client"
  start=$(date +%s.%N)
  node "$node_dir/echo_client.js" --target "127.0.0.1:$port" || rc=1
  echo "node client: $(echo "$(date +%s.%N) - $start" | bc) s"
else
  echo "== node client skipped (run 'npm ci' in $node_dir)"
fi
if [[ -s "$work/server.err" ]]; then echo "== server stderr"; cat "$work/server.err"; fi
exit $rc
