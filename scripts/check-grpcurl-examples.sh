#!/usr/bin/env bash
# Runs every grpcurl example in README.md, docs/*.md and the welcome text of `fleetctl local` once,
# as written, against a local fleet on the default ports, with tests/interop/python/grpcurl_compat.py
# standing in for grpcurl (not installable here). Prints a table: example, exit code, verdict, output.
#
#   ./scripts/check-grpcurl-examples.sh        (needs ports 7300, 8080, 7400-7402, 8008-8010 free)
#
# Examples are lines starting with `grpcurl` (continuation lines ending in `\` joined) and inline
# `grpcurl ...` code spans. Skipped: examples needing TLS files (-cacert/-cert/-key) or another
# address than 127.0.0.1. Watch streams never end: `-max-time 3` is added when an example has none.
# Role-changing examples (Switchover, Failover, Promote, Fence, Follow, Rejoin) run last, in the
# docs' order, and the cluster's primary is shown after each. Outputs stay in the work directory.
# Exit code: 0 if no example FAILED, 1 if one did, 2 if the fleet could not be started.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
COMPAT="$PY tests/interop/python/grpcurl_compat.py"
WORK=$(mktemp -d /tmp/fleet-grpcurl-check.XXXXXX)
LOG=$WORK/fleet.log
ADDR=127.0.0.1:7300
say() { printf 'check-grpcurl-examples: %s\n' "$*" >&2; }

# --- 1. default ports free? ------------------------------------------------------------------------
for port in 7300 8080 7400 7401 7402 8008 8009 8010; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "port $port is in use on 127.0.0.1; the docs' examples assume the default ports" \
        "(aggregator 7300/8080, agents 7400-7402/8008-8010). Stop what uses it and run again."
    exit 2
  fi
done

# --- 2. start the local fleet and wait until every agent reports --------------------------------------
FLEET_PID=
stop_fleet() {
  [ -n "$FLEET_PID" ] || return 0
  if kill -0 "$FLEET_PID" 2>/dev/null; then
    say "stopping the local fleet (pid $FLEET_PID)"
    kill -TERM "$FLEET_PID" 2>/dev/null
    for _ in $(seq 1 90); do kill -0 "$FLEET_PID" 2>/dev/null || break; sleep 1; done
    kill -0 "$FLEET_PID" 2>/dev/null && { say "still running after 90 s; killing it"; kill -KILL "$FLEET_PID"; }
  fi
  wait "$FLEET_PID" 2>/dev/null
  FLEET_PID=
  tail -n 2 "$LOG" | sed 's/^/  /' >&2
}
trap stop_fleet EXIT
trap 'exit 130' INT TERM

say "starting ./scripts/run-local.sh (log: $LOG)"
./scripts/run-local.sh --exit-after 00:30:00 >"$LOG" 2>&1 &
FLEET_PID=$!
for _ in $(seq 1 600); do
  grep -q '^Fleet is running' "$LOG" && break
  if ! kill -0 "$FLEET_PID" 2>/dev/null; then
    say "run-local.sh exited before the fleet was up (a failing build? retry in a few minutes):"
    grep -E 'error|fleetctl local:' "$LOG" | sort -u | head -n 10 >&2
    FLEET_PID=; exit 2
  fi
  sleep 1
done
grep -q '^Fleet is running' "$LOG" || { say "the fleet did not come up within 10 minutes"; exit 2; }
say "fleet up; waiting until the aggregator sees 3 connected nodes, a primary and 2 streaming replicas"
ready=
for _ in $(seq 1 90); do
  if $COMPAT -plaintext -max-time 5 -d '{"cluster":"demo"}' $ADDR fleet.v1.FleetService/GetCluster 2>/dev/null |
     $PY -c 'import json,sys; s=json.load(sys.stdin)["summary"]; sys.exit(not (s.get("primary") and
             s.get("connectedNodeCount")==3 and s.get("streamingReplicaCount")==2))' 2>/dev/null; then
    ready=1; break
  fi
  sleep 2
done
[ -n "$ready" ] || { say "the cluster did not become ready within 3 minutes"; exit 2; }

# --- 3. the examples ----------------------------------------------------------------------------------
# helper.py extract: one TSV line per example: source, action (run|role|skip), note, command.
# helper.py judge: verdict and a one-line summary of an example's outcome.
cat >"$WORK/helper.py" <<'EOF'
import glob, json, re, shlex, sys

ROLE = ("Switchover", "Failover", "Promote", "Fence", "Follow", "Rejoin")
VALUE_FLAGS = {"-d", "-max-time", "-connect-timeout", "-cacert", "-cert", "-key", "-H", "-authority",
               "-servername", "-rpc-header", "-reflect-header", "-format", "-import-path", "-proto",
               "-protoset"}

def examples(path, label, fenced=True):
    """(where, command) for each `grpcurl` line in a code block (or anywhere, fenced=False), with
    continuation lines joined, and each inline `grpcurl ...` code span."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i, in_code = 0, not fenced
    while i < len(lines):
        start, line = i, lines[i]
        if fenced and line.strip().startswith("```"):
            in_code = not in_code
        elif in_code and line.strip().startswith("grpcurl "):
            cmd = line.strip()
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            yield "%s:%d" % (label, start + 1), cmd
        elif not in_code:
            for m in re.finditer(r"`(grpcurl [^`]+)`", line):
                yield "%s:%d" % (label, start + 1), m.group(1)
        i += 1

def classify(cmd):
    try:
        words = shlex.split(cmd)[1:]
    except ValueError as e:
        return "skip", "cannot parse: %s" % e
    rest, i = [], 0
    flags = set()
    while i < len(words):
        w = words[i]
        if w.startswith("-") and not rest:
            name = w.split("=")[0]
            flags.add(name)
            i += 2 if name in VALUE_FLAGS and "=" not in w else 1
            continue
        rest.append(w)
        i += 1
    if flags & {"-cacert", "-cert", "-key"}:
        return "skip", "needs TLS files (-cacert/-cert/-key)"
    if len(rest) < 2 or not re.fullmatch(r"[\w.\[\]:-]+:\d+", rest[0]):
        return None, None  # not an example: `grpcurl -max-time`, "grpcurl (server reflection ...):"
    address = rest[0]
    if not address.startswith("127.0.0.1:"):
        return "skip", "address %s is not on this machine" % address
    method = rest[1] if len(rest) > 1 else ""
    if method.split("/")[-1] in ROLE:
        return "role", ""
    if method.endswith("/Watch") and "-max-time" not in flags:
        return "run", "added -max-time 3 (Watch never ends)"
    return "run", ""

def extract(welcome_log):
    found = []
    for path in ["README.md"] + sorted(glob.glob("docs/*.md")):
        found += list(examples(path, path))
    # the welcome text as fleetctl local printed it (source: cli/Fleet.Cli/Commands/LocalCommand.cs)
    found += [("fleetctl local (LocalCommand.cs)", c) for _, c in examples(welcome_log, "x", fenced=False)]
    for where, cmd in found:
        action, note = classify(cmd)
        if action:
            print("\t".join([where, action, note or "-", cmd]))  # "-": read splits on runs of tabs

def messages(text):
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        try:
            obj, pos = dec.raw_decode(text, pos)
        except ValueError:
            return out
        out.append(obj)

def judge(rc, out_path, err_path, action, cmd):
    rc = int(rc)
    out = open(out_path, encoding="utf-8", errors="replace").read()
    err = open(err_path, encoding="utf-8", errors="replace").read()
    err_line = " ".join(l.strip() for l in err.splitlines()  # minus grpc core's own log lines
                        if l.strip() and not re.match(r"[EWI]\d{4} ", l))
    msgs = messages(out) if out.lstrip().startswith("{") else []
    first = json.dumps(msgs[0], separators=(",", ":")) if msgs else (out.splitlines() or [""])[0]
    if len(first) > 110:
        first = first[:107] + "..."
    if rc == 124:
        return "FAILED", "timed out " + (err_line or first)
    if "/Watch" in cmd and rc == 68 and "DeadlineExceeded" in err and msgs:
        init = any("initialStateComplete" in m for m in msgs)
        return "ok", "%d messages until -max-time (DeadlineExceeded)%s; first %s" % (
            len(msgs), ", initial state complete" if init else ", NO initialStateComplete", first)
    if rc != 0:
        return "FAILED", err_line[:160] or first
    if action == "role" and msgs:
        d = msgs[0].get("decision", {})
        outcome = d.get("outcome", "?").replace("DECISION_OUTCOME_", "")
        summary = "%s: %s -> %s, epoch %s; %s" % (outcome, d.get("oldPrimary", ""), d.get("newPrimary", ""),
                                                 d.get("epoch", "0"), " | ".join(d.get("reasons", []))[:200])
        return ("ok" if outcome == "COMPLETED" else outcome), summary
    if len(msgs) > 1:
        first = "%d messages; first %s" % (len(msgs), first)
    return "ok", first

if __name__ == "__main__":
    if sys.argv[1] == "extract":
        extract(sys.argv[2])
    elif sys.argv[1] == "judge":
        print("\t".join(judge(*sys.argv[2:])))
    elif sys.argv[1] == "table":
        rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
        print("| # | where | example | exit | verdict | output (first message or line) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for n, where, cmd, rc, verdict, summary in rows:
            print("| %s | %s | `%s` | %s | %s | %s |" % (n, where, cmd.replace("|", "\\|"), rc, verdict,
                                                      summary.replace("|", "\\|")))
EOF

sed -n '/^Fleet is running/,/^Press Ctrl-C/p' "$LOG" >"$WORK/welcome.txt"
$PY "$WORK/helper.py" extract "$WORK/welcome.txt" >"$WORK/examples.tsv"
: >"$WORK/results.tsv"
n=0
run_example() {  # where action note cmd
  local where=$1 action=$2 note=$3 cmd=$4 run rc verdict summary
  n=$((n + 1))
  run="$COMPAT ${cmd#grpcurl }"
  case "$note" in added\ -max-time*) run="$COMPAT -max-time 3 ${cmd#grpcurl }" ;; esac
  say "[$n] $where: $cmd"
  timeout 150 bash -c "$run" >"$WORK/$n.out" 2>"$WORK/$n.err"
  rc=$?
  IFS=$'\t' read -r verdict summary < <($PY "$WORK/helper.py" judge "$rc" "$WORK/$n.out" "$WORK/$n.err" "$action" "$cmd")
  [ "$note" != - ] && summary="($note) $summary"
  if [ "$action" = role ]; then  # what the fleet looks like now
    sleep 5
    summary="$summary; now: $($COMPAT -plaintext -max-time 10 -d '{"cluster":"demo"}' $ADDR fleet.v1.FleetService/GetCluster 2>&1 |
      $PY -c 'import json,sys; c=json.load(sys.stdin); s=c["summary"]
print("primary %s epoch %s, %s connected, %s streaming" % (s.get("primary"), s.get("epoch", "0"),
      s.get("connectedNodeCount", 0), s.get("streamingReplicaCount", 0)))' 2>&1 | tail -n 1)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$where" "$cmd" "$rc" "$verdict" "$summary" >>"$WORK/results.tsv"
}
while IFS=$'\t' read -r where action note cmd; do
  case "$action" in
    skip) printf -- '-\t%s\t%s\t-\tSKIPPED\t%s\n' "$where" "$cmd" "$note" >>"$WORK/results.tsv" ;;
    run) run_example "$where" "$action" "$note" "$cmd" ;;
  esac
done <"$WORK/examples.tsv"
while IFS=$'\t' read -r where action note cmd; do  # role changes last, in the docs' order
  [ "$action" = role ] && run_example "$where" "$action" "$note" "$cmd"
done <"$WORK/examples.tsv"

# --- 4. report and stop -------------------------------------------------------------------------------
stop_fleet
echo
$PY "$WORK/helper.py" table "$WORK/results.tsv"
echo
echo "outputs: $WORK/<#>.out and <#>.err; fleet log: $LOG"
failed=$(cut -f5 "$WORK/results.tsv" | grep -c '^FAILED')
echo "$(wc -l <"$WORK/results.tsv") examples: $(cut -f5 "$WORK/results.tsv" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')"
[ "$failed" -eq 0 ]
