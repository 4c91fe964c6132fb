#!/usr/bin/env bash
# Takes a PNG screenshot of the fleet-aggregator dashboard with headless Chromium (Debian `chromium`),
# for docs, for a look at a fleet from a headless machine, and as a smoke check of the page.
#
#   scripts/dashboard-screenshot.sh [URL] [OUTPUT.png] [EXPECTED TEXT ...]
#     URL            default http://127.0.0.1:8080/ (what `fleetctl local` / scripts/run-local.sh serve)
#     OUTPUT.png     default dashboard.png in the current directory
#     EXPECTED TEXT  optional: each must appear in the page's text, e.g. "node appeared" "PRIMARY";
#                    the script fails (exit 1, after writing the PNG) when one is missing
#
# Environment: WINDOW_SIZE (default 1400,900; the PNG covers the whole page, so it may be taller),
# WAIT_MS (how long the page gets after loading to fetch its data and open its live feed, default
# 3000), CHROMIUM (default: chromium on PATH). Loopback or any URL Chromium can reach; nothing is
# installed or left behind. Needs python3 (standard library only) to talk to Chromium.
#
# Why not `chromium --screenshot`: it shoots as soon as the HTML has loaded, before the page's
# fetches have filled the tables, and --virtual-time-budget never ends because the page keeps a
# server-sent-events stream open. So this drives Chromium over the DevTools protocol (through a pipe,
# no port opened): navigate, wait, capture the full page, read its text.
set -euo pipefail

url="${1:-http://127.0.0.1:8080/}"
out="${2:-dashboard.png}"
shift $(($# < 2 ? $# : 2))
window_size="${WINDOW_SIZE:-1400,900}"
wait_ms="${WAIT_MS:-3000}"
chromium="${CHROMIUM:-$(command -v chromium || true)}"

if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "dashboard-screenshot: chromium not found; install it with: apt-get install -y chromium (or scripts/install-deps.sh)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "dashboard-screenshot: python3 not found (apt-get install -y python3)" >&2
  exit 1
fi

case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"
rm -f "$out"

# A throw-away profile and config dir (where Chromium keeps crash reports): nothing is left behind.
profile=$(mktemp -d "${TMPDIR:-/tmp}/fleet-dashboard-shot.XXXXXX")
trap 'rm -rf "$profile"' EXIT

XDG_CONFIG_HOME="$profile/config" XDG_CACHE_HOME="$profile/cache" \
  timeout --kill-after=10 90 python3 - "$chromium" "$profile" "$url" "$out" "$window_size" "$wait_ms" "$@" <<'PY'
import base64, fcntl, json, os, signal, subprocess, sys, time

chromium, profile, url, out, window_size, wait_ms, *expected = sys.argv[1:]
width, height = (int(v) for v in window_size.split(","))
# `timeout` sends SIGTERM: leave through `finally`, which stops Chromium.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

# Chromium reads DevTools commands from fd 3 and writes replies to fd 4, NUL-terminated JSON.
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()

def child_fds():
    # Copy above 10 first: a pipe may already sit on 3 or 4, and dup2 onto itself keeps close-on-exec.
    reads = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
    writes = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
    os.dup2(reads, 3)
    os.dup2(writes, 4)

args = [chromium, "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-quic",
        "--disable-breakpad", "--user-data-dir=" + os.path.join(profile, "profile"),
        f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"]
if os.geteuid() == 0:
    args.insert(2, "--no-sandbox")  # Chromium's sandbox refuses to run as root (containers, CI).
log_path = os.path.join(profile, "chromium.log")
with open(log_path, "wb") as log:
    # Its own session, so that one killpg reaches the browser and every helper it started.
    browser = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               preexec_fn=child_fds, close_fds=False, start_new_session=True)
os.close(to_chrome_r)
os.close(from_chrome_w)
reader = os.fdopen(from_chrome_r, "rb")
buffered = b""
next_id = 0

class Failure(Exception):
    pass

def send(method, params=None, session=None):
    global next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    return next_id

def call(method, params=None, session=None):
    global buffered
    id = send(method, params, session)
    while True:
        while b"\0" not in buffered:
            chunk = reader.read1(1 << 20)
            if not chunk:
                with open(log_path, errors="replace") as log:
                    raise Failure(f"chromium closed the DevTools pipe during {method}; its output:\n{log.read()}")
            buffered += chunk
        raw, buffered = buffered.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == id:
            if "error" in reply:
                raise Failure(f"{method}: {reply['error'].get('message')}")
            return reply.get("result", {})

def evaluate(session, expression):
    result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    return result.get("result", {}).get("value")

status = 0
try:
    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Page.enable", session=session)
    navigation = call("Page.navigate", {"url": url}, session)
    if navigation.get("errorText"):
        raise Failure(f"cannot load {url}: {navigation['errorText']}")
    deadline = time.monotonic() + 30
    while evaluate(session, "document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise Failure(f"{url} did not finish loading within 30 s")
        time.sleep(0.1)
    # The page fetches its data and opens its live feed after loading.
    time.sleep(int(wait_ms) / 1000)
    size = call("Page.getLayoutMetrics", session=session)["cssContentSize"]
    shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
        "x": 0, "y": 0, "width": max(width, size["width"]), "height": max(height, size["height"]), "scale": 1}}, session)
    with open(out, "wb") as png:
        png.write(base64.b64decode(shot["data"]))
    print(out)
    text = evaluate(session, "document.body ? document.body.innerText : ''") or ""
    missing = [e for e in expected if e not in text]
    if missing:
        raise Failure("the page lacks " + ", ".join(repr(m) for m in missing) + "; its text:\n" + text)
except Failure as failure:
    sys.stderr.write(f"dashboard-screenshot: {failure}\n")
    status = 1
finally:
    if browser.poll() is None:
        try:
            send("Browser.close")
        except OSError:
            pass
        try:
            browser.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait(timeout=10)
sys.exit(status)
PY
