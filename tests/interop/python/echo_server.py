#!/usr/bin/python3
"""grpcio implementation of fleet.testing.v1.EchoService (plus grpc.health.v1.Health and
grpc.reflection v1/v1alpha ServerReflection when their protos are in the descriptor set).

Contract: see ../README.md. Prints exactly one line "LISTENING <port>" to stdout when ready;
runs until SIGTERM/SIGINT or until stdin reaches EOF (unless stdin is /dev/null or
--ignore-stdin is given).
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet_protos  # noqa: E402

PKG = "fleet.testing.v1"
ECHO_PREFIX = "x-echo-"
POLL_S = 0.02


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.cancelled_calls = 0
        self.total_calls = 0

    def call_started(self):
        with self.lock:
            self.total_calls += 1

    def cancelled(self):
        with self.lock:
            self.cancelled_calls += 1

    def snapshot(self):
        with self.lock:
            return self.cancelled_calls, self.total_calls


STATS = Stats()


def _terminated_by_cancellation(context):
    """True if grpcio recorded the call as cancelled (RST_STREAM from the client, deadline,
    connection loss), None if that cannot be told (private grpcio state, checked defensively)."""
    client = getattr(getattr(context, "_state", None), "client", None)
    if client is None:
        return None
    return client == "cancelled"  # grpc._server._CANCELLED


class CallTracker:
    """Tracks one EchoService call for StatsReply.cancelled_calls; counts it at most once when
    - `wait` ends early because the call was cancelled or its deadline passed, or
    - the call terminates as cancelled according to grpcio (this catches handlers that were not
      waiting, e.g. a cancelled client stream, which grpcio's request iterator reports as a plain
      end of stream), or - when grpcio's state cannot be read - before the handler finished."""

    def __init__(self, context):
        self.context = context
        self.lock = threading.Lock()
        self.finished = False
        self.counted = False
        self.terminated = threading.Event()
        STATS.call_started()
        if not context.add_callback(self._on_terminated):
            self._on_terminated()

    def _count(self, force=False):
        with self.lock:
            if self.counted or (self.finished and not force):
                return
            self.counted = True
        STATS.cancelled()

    def _on_terminated(self):
        self.terminated.set()
        cancelled = _terminated_by_cancellation(self.context)
        if cancelled is None:
            self._count()
        elif cancelled:
            self._count(force=True)

    def finish(self):
        with self.lock:
            self.finished = True

    def wait(self, ms):
        """Sleep ms milliseconds; return True if the call was cancelled / its deadline passed."""
        if ms <= 0:
            return not self.context.is_active()
        end = time.monotonic() + ms / 1000.0
        # Bounded: at most ms/POLL_S + 1 iterations.
        while True:
            now = time.monotonic()
            if now >= end:
                return False
            remaining = self.context.time_remaining()
            if remaining is not None and remaining <= 0:
                self._count()
                return True
            if self.terminated.wait(min(end - now, POLL_S)) or not self.context.is_active():
                self._count()
                return True


def give_up(context):
    """End a call whose deadline passed or whose client went away. Never reply: grpc-core may still send a
    reply that races the client's own deadline timer, and a client could then see OK for an expired call."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
    context.abort(grpc.StatusCode.CANCELLED, "Cancelled")


def echo_metadata(context):
    return tuple((k, v) for k, v in context.invocation_metadata() if k.lower().startswith(ECHO_PREFIX))


def apply_metadata(context):
    md = echo_metadata(context)
    if md:
        context.send_initial_metadata(md)
        context.set_trailing_metadata(md)


def status_code(n):
    for c in grpc.StatusCode:
        if c.value[0] == n:
            return c
    return grpc.StatusCode.UNKNOWN


class EchoService:
    def __init__(self, protos):
        self.EchoReply = protos.msg(PKG + ".EchoReply")
        self.CollectReply = protos.msg(PKG + ".CollectReply")
        self.StatsReply = protos.msg(PKG + ".StatsReply")

    def _reply(self, req, index):
        return self.EchoReply(text=req.text, payload=b"a" * max(0, req.reply_payload_size), index=index)

    # Every handler calls t.finish() on the paths where it completes by itself (reply or
    # deliberate error). Exits through grpcio exceptions (request iterator abandoned, generator
    # closed mid-stream) leave the call unfinished, so the termination callback counts it.

    def Echo(self, req, context):
        t = CallTracker(context)
        apply_metadata(context)
        if t.wait(req.delay_ms):
            give_up(context)
        t.finish()
        if req.fail_code != 0:
            context.abort(status_code(req.fail_code), req.fail_message)
        return self._reply(req, 0)

    def Expand(self, req, context):
        t = CallTracker(context)
        apply_metadata(context)
        count = max(0, req.count)
        payload = b"a" * max(0, req.payload_size)
        for i in range(count):
            if req.fail_after > 0 and i == req.fail_after:
                break
            if t.wait(req.delay_ms):
                give_up(context)
            yield self.EchoReply(text=req.text, payload=payload, index=i)
        t.finish()
        if 0 < req.fail_after <= count:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "failed after %d" % req.fail_after)

    def Collect(self, request_iterator, context):
        t = CallTracker(context)
        apply_metadata(context)
        count, texts, nbytes = 0, [], 0
        for req in request_iterator:
            count += 1
            texts.append(req.text)
            nbytes += len(req.payload)
        t.finish()
        return self.CollectReply(count=count, text=",".join(texts), payload_bytes=nbytes)

    def Chat(self, request_iterator, context):
        t = CallTracker(context)
        apply_metadata(context)
        index = 0
        for req in request_iterator:
            if t.wait(req.delay_ms):
                give_up(context)
            if req.fail_code != 0:
                t.finish()
                context.abort(status_code(req.fail_code), req.fail_message)
            yield self._reply(req, index)
            index += 1
        t.finish()

    def Stats(self, req, context):
        t = CallTracker(context)
        apply_metadata(context)
        t.finish()
        cancelled, total = STATS.snapshot()
        return self.StatsReply(cancelled_calls=cancelled, total_calls=total)


class HealthService:
    SERVING = 1
    SERVICE_UNKNOWN = 3

    def __init__(self, protos, known):
        self.Response = protos.msg("grpc.health.v1.HealthCheckResponse")
        self.known = set(known) | {""}

    def Check(self, req, context):
        if req.service not in self.known:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service: " + req.service)
        return self.Response(status=self.SERVING)

    def Watch(self, req, context):
        yield self.Response(status=self.SERVING if req.service in self.known else self.SERVICE_UNKNOWN)
        done = threading.Event()
        if context.add_callback(done.set):
            done.wait()  # status never changes; ends when the client cancels or the server stops


class ReflectionService:
    NOT_FOUND = 5
    UNIMPLEMENTED = 12

    def __init__(self, protos, version, served):
        pkg = "grpc.reflection.%s." % version
        self.protos = protos
        self.served = list(served)
        self.Response = protos.msg(pkg + "ServerReflectionResponse")

    def _error(self, resp, code, message):
        resp.error_response.error_code = code
        resp.error_response.error_message = message

    def _file_containing(self, symbol):
        try:
            return self.protos.pool.FindFileContainingSymbol(symbol).name
        except KeyError:
            return None

    def _answer(self, req):
        resp = self.Response(valid_host=req.host)
        resp.original_request.CopyFrom(req)
        which = req.WhichOneof("message_request")
        if which == "list_services":
            for name in self.served:
                resp.list_services_response.service.add(name=name)
        elif which == "file_by_filename":
            if self.protos.has_file(req.file_by_filename):
                resp.file_descriptor_response.file_descriptor_proto.extend(
                    self.protos.file_with_deps(req.file_by_filename))
            else:
                self._error(resp, self.NOT_FOUND, "file not found: " + req.file_by_filename)
        elif which == "file_containing_symbol":
            fname = self._file_containing(req.file_containing_symbol)
            if fname is not None:
                resp.file_descriptor_response.file_descriptor_proto.extend(self.protos.file_with_deps(fname))
            else:
                self._error(resp, self.NOT_FOUND, "symbol not found: " + req.file_containing_symbol)
        elif which == "all_extension_numbers_of_type":
            try:
                self.protos.pool.FindMessageTypeByName(req.all_extension_numbers_of_type)
                resp.all_extension_numbers_response.base_type_name = req.all_extension_numbers_of_type
            except KeyError:
                self._error(resp, self.NOT_FOUND, "type not found: " + req.all_extension_numbers_of_type)
        elif which == "file_containing_extension":
            self._error(resp, self.NOT_FOUND, "extension not found")
        else:
            self._error(resp, self.UNIMPLEMENTED, "unsupported request")
        return resp

    def ServerReflectionInfo(self, request_iterator, context):
        for req in request_iterator:
            yield self._answer(req)


def ser(msg):
    return msg.SerializeToString()


def build_server(protos, args):
    options = [
        ("grpc.max_receive_message_length", args.max_receive_bytes),
        ("grpc.max_send_message_length", args.max_send_bytes),
        ("grpc.so_reuseport", 0),
    ]
    compression = {"none": None, "gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[args.compression]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.max_workers), options=options,
                         compression=compression)
    m = protos.msg
    echo = EchoService(protos)
    req_des = {
        "Echo": m(PKG + ".EchoRequest").FromString,
        "Expand": m(PKG + ".ExpandRequest").FromString,
        "Collect": m(PKG + ".EchoRequest").FromString,
        "Chat": m(PKG + ".EchoRequest").FromString,
        "Stats": m(PKG + ".StatsRequest").FromString,
    }
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo.Echo, req_des["Echo"], ser),
        "Expand": grpc.unary_stream_rpc_method_handler(echo.Expand, req_des["Expand"], ser),
        "Collect": grpc.stream_unary_rpc_method_handler(echo.Collect, req_des["Collect"], ser),
        "Chat": grpc.stream_stream_rpc_method_handler(echo.Chat, req_des["Chat"], ser),
        "Stats": grpc.unary_unary_rpc_method_handler(echo.Stats, req_des["Stats"], ser),
    }
    generic = [grpc.method_handlers_generic_handler(fleet_protos.ECHO_SERVICE, handlers)]
    served = [fleet_protos.ECHO_SERVICE]

    if protos.has_service(fleet_protos.HEALTH_SERVICE):
        health = HealthService(protos, [fleet_protos.ECHO_SERVICE, fleet_protos.HEALTH_SERVICE])
        hreq = m("grpc.health.v1.HealthCheckRequest").FromString
        generic.append(grpc.method_handlers_generic_handler(fleet_protos.HEALTH_SERVICE, {
            "Check": grpc.unary_unary_rpc_method_handler(health.Check, hreq, ser),
            "Watch": grpc.unary_stream_rpc_method_handler(health.Watch, hreq, ser),
        }))
        served.append(fleet_protos.HEALTH_SERVICE)

    versions = [v for v, name in fleet_protos.REFLECTION_SERVICES.items() if protos.has_service(name)]
    served.extend(fleet_protos.REFLECTION_SERVICES[v] for v in versions)
    if not args.no_reflection:
        for v in versions:
            svc = fleet_protos.REFLECTION_SERVICES[v]
            refl = ReflectionService(protos, v, served)
            rreq = m("grpc.reflection.%s.ServerReflectionRequest" % v).FromString
            generic.append(grpc.method_handlers_generic_handler(svc, {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                    refl.ServerReflectionInfo, rreq, ser),
            }))
    else:
        served = [s for s in served if s not in fleet_protos.REFLECTION_SERVICES.values()]

    server.add_generic_rpc_handlers(tuple(generic))

    address = "127.0.0.1:%d" % args.port
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise RuntimeError("--cert and --key go together")
        with open(args.key, "rb") as f:
            key = f.read()
        with open(args.cert, "rb") as f:
            cert = f.read()
        port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError("could not bind " + address)
    return server, port


def stdin_is_devnull():
    try:
        st, dn = os.fstat(0), os.stat(os.devnull)
        return (st.st_dev, st.st_ino) == (dn.st_dev, dn.st_ino) or (st.st_rdev == dn.st_rdev and st.st_rdev != 0)
    except OSError:
        return True


def main(argv=None):
    ap = argparse.ArgumentParser(description="grpcio EchoService peer for Fleet interop tests")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("--descriptor-set", default=None,
                    help="serialized FileDescriptorSet containing echo.proto (+ health, reflection); "
                         "default: generate with protoc")
    ap.add_argument("--max-receive-bytes", type=int, default=4 * 1024 * 1024,
                    help="grpc.max_receive_message_length (default 4194304; -1 = unlimited)")
    ap.add_argument("--max-send-bytes", type=int, default=-1,
                    help="grpc.max_send_message_length (default -1 = unlimited)")
    ap.add_argument("--max-workers", type=int, default=32, help="handler thread pool size")
    ap.add_argument("--compression", choices=("none", "gzip", "deflate"), default="none",
                    help="compress responses (when the client's grpc-accept-encoding allows it); default none")
    ap.add_argument("--cert", help="PEM certificate chain: serve TLS (with --key)")
    ap.add_argument("--key", help="PEM private key")
    ap.add_argument("--no-reflection", action="store_true", help="do not serve ServerReflection")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin reaches EOF")
    args = ap.parse_args(argv)

    try:
        protos = fleet_protos.load(args.descriptor_set)
        server, port = build_server(protos, args)
        server.start()
    except Exception as e:  # setup error: no LISTENING line
        sys.stderr.write("setup failed: %s: %s\n" % (type(e).__name__, e))
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if not args.ignore_stdin and not stdin_is_devnull():
        def watch_stdin():
            try:
                while sys.stdin.buffer.read1(65536):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("LISTENING %d\n" % port)
    sys.stdout.flush()

    while not stop.wait(0.5):
        pass
    server.stop(grace=0.5).wait(2)
    # Do not wait for handler threads still blocked in user code (interpreter exit joins the
    # thread pool); everything the peer needed to say has been flushed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
