#!/usr/bin/python3
"""grpcio interop client for fleet.testing.v1.EchoService, grpc.health.v1.Health and
grpc.reflection v1/v1alpha.

Runs named scenarios against --target and prints one JSON object per scenario per line:
    {"scenario": "<name>", "ok": true|false, "detail": "<text>"}
Exit code 0 if every scenario passed, 1 if any failed, 2 on usage errors. See ../README.md.
"""

import argparse
import json
import os
import queue
import sys
import time

import grpc
from google.protobuf import descriptor_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet_protos  # noqa: E402

PKG = "fleet.testing.v1"
SVC = "/" + fleet_protos.ECHO_SERVICE + "/"
MiB = 1024 * 1024
CALL_TIMEOUT = 10.0  # seconds; every call has a deadline so no scenario can hang
BIDI_TIMEOUT = 5.0
ERROR_MESSAGE = "no such node: \u00fcn\u00efcode \u2713 100%"
ECHO_BIN = bytes(range(256))


class ScenarioFailed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise ScenarioFailed(message)


def expect_rpc_error(fn, code, details=None):
    """Run fn(); it must raise grpc.RpcError with `code` (and `details` if given)."""
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "expected %s, got %s (%r)" % (code.name, e.code(), e.details()))
        if details is not None:
            check(e.details() == details, "details %r != expected %r" % (e.details(), details))
        return e
    raise ScenarioFailed("expected %s, call succeeded" % code.name)


class Client:
    def __init__(self, args, protos):
        self.args = args
        self.p = protos
        m = protos.msg
        self.EchoRequest = m(PKG + ".EchoRequest")
        self.EchoReply = m(PKG + ".EchoReply")
        self.ExpandRequest = m(PKG + ".ExpandRequest")
        self.CollectReply = m(PKG + ".CollectReply")
        self.StatsRequest = m(PKG + ".StatsRequest")
        self.StatsReply = m(PKG + ".StatsReply")
        self.channel = self.make_channel()

    def make_channel(self, compression=None):
        options = [
            ("grpc.max_send_message_length", 16 * MiB),
            ("grpc.max_receive_message_length", self.args.max_receive_bytes),
            # Keep channels independent of each other (no shared subchannel pool).
            ("grpc.use_local_subchannel_pool", 1),
        ]
        if self.args.ca:
            with open(self.args.ca, "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            if self.args.server_name:
                options.append(("grpc.ssl_target_name_override", self.args.server_name))
            return grpc.secure_channel(self.args.target, creds, options=options, compression=compression)
        return grpc.insecure_channel(self.args.target, options=options, compression=compression)

    # --- stubs -------------------------------------------------------------------------------
    def echo(self, ch=None):
        return (ch or self.channel).unary_unary(SVC + "Echo", request_serializer=_ser,
                                                response_deserializer=self.EchoReply.FromString)

    def expand(self, ch=None):
        return (ch or self.channel).unary_stream(SVC + "Expand", request_serializer=_ser,
                                                 response_deserializer=self.EchoReply.FromString)

    def collect(self, ch=None):
        return (ch or self.channel).stream_unary(SVC + "Collect", request_serializer=_ser,
                                                 response_deserializer=self.CollectReply.FromString)

    def chat(self, ch=None):
        return (ch or self.channel).stream_stream(SVC + "Chat", request_serializer=_ser,
                                                  response_deserializer=self.EchoReply.FromString)

    def stats(self):
        return self.channel.unary_unary(SVC + "Stats", request_serializer=_ser,
                                        response_deserializer=self.StatsReply.FromString)(
            self.StatsRequest(), timeout=CALL_TIMEOUT)

    def wait_cancelled_increase(self, before, budget_s=3.0):
        end = time.monotonic() + budget_s
        last = before
        while time.monotonic() < end:  # bounded by budget_s
            last = self.stats().cancelled_calls
            if last > before:
                return last
            time.sleep(0.05)
        raise ScenarioFailed("Stats.cancelled_calls stayed %d (before %d) for %.1fs" % (last, before, budget_s))

    # --- scenarios ---------------------------------------------------------------------------
    def s_unary(self):
        r = self.echo()(self.EchoRequest(text="hello fleet", payload=b"\x00\x01\x02", reply_payload_size=1000),
                        timeout=CALL_TIMEOUT)
        check(r.text == "hello fleet", "text %r" % r.text)
        check(r.payload == b"a" * 1000, "payload len %d / content mismatch" % len(r.payload))
        check(r.index == 0, "index %d" % r.index)
        return "text and 1000-byte payload ok"

    def s_server_streaming(self):
        replies = list(self.expand()(self.ExpandRequest(count=100, payload_size=10, text="expand"),
                                     timeout=CALL_TIMEOUT))
        check(len(replies) == 100, "got %d replies" % len(replies))
        for i, r in enumerate(replies):
            check(r.index == i, "reply %d has index %d" % (i, r.index))
            check(r.text == "expand", "reply %d text %r" % (i, r.text))
            check(r.payload == b"a" * 10, "reply %d payload %r" % (i, r.payload))
        return "100 replies, index 0..99 in order"

    def s_client_streaming(self):
        reqs = [self.EchoRequest(text=str(i), payload=b"p" * (i * 10)) for i in range(10)]
        r = self.collect()(iter(reqs), timeout=CALL_TIMEOUT)
        check(r.count == 10, "count %d" % r.count)
        check(r.text == "0,1,2,3,4,5,6,7,8,9", "text %r" % r.text)
        check(r.payload_bytes == 450, "payload_bytes %d" % r.payload_bytes)
        return "count=10 text=0,..,9 payload_bytes=450"

    def s_bidi(self):
        q = queue.Queue()
        done = object()

        def requests():
            for _ in range(21):  # bounded: 20 messages + end marker
                item = q.get(timeout=CALL_TIMEOUT)
                if item is done:
                    return
                yield item

        call = self.chat()(requests(), timeout=BIDI_TIMEOUT)
        try:
            for i in range(20):
                q.put(self.EchoRequest(text="msg-%d" % i, reply_payload_size=i))
                try:
                    r = next(call)  # the next request is only sent after this reply arrived
                except grpc.RpcError as e:
                    raise ScenarioFailed("no reply to msg-%d (server not interleaving?): %s %s"
                                         % (i, e.code(), e.details()))
                check(r.text == "msg-%d" % i, "reply %d text %r" % (i, r.text))
                check(r.index == i, "reply %d index %d" % (i, r.index))
                check(r.payload == b"a" * i, "reply %d payload len %d" % (i, len(r.payload)))
            q.put(done)
            rest = list(call)
            check(rest == [], "%d extra replies after half-close" % len(rest))
            check(call.code() == grpc.StatusCode.OK, "status %s" % call.code())
        finally:
            q.put(done)
            call.cancel()
        return "20 request/reply round trips interleaved"

    def s_error_status(self):
        e = expect_rpc_error(
            lambda: self.echo()(self.EchoRequest(text="x", fail_code=5, fail_message=ERROR_MESSAGE),
                                timeout=CALL_TIMEOUT),
            grpc.StatusCode.NOT_FOUND, ERROR_MESSAGE)
        return "NOT_FOUND with details %s" % json.dumps(e.details())

    def s_error_after_messages(self):
        call = self.expand()(self.ExpandRequest(count=10, fail_after=3, text="f"), timeout=CALL_TIMEOUT)
        got = []
        try:
            for r in call:
                got.append(r.index)
                check(len(got) <= 10, "too many replies")
            raise ScenarioFailed("stream ended OK after %s" % got)
        except grpc.RpcError as e:
            check(got == [0, 1, 2], "replies before error: %s" % got)
            check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "code %s (%r)" % (e.code(), e.details()))
            check(e.details() == "failed after 3", "details %r" % e.details())
        return "3 replies then FAILED_PRECONDITION 'failed after 3'"

    def s_deadline(self):
        before = self.stats().cancelled_calls
        t0 = time.monotonic()
        expect_rpc_error(lambda: self.echo()(self.EchoRequest(text="slow", delay_ms=5000), timeout=0.3),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        elapsed = time.monotonic() - t0
        check(elapsed < 2.0, "DEADLINE_EXCEEDED took %.2fs" % elapsed)
        after = self.wait_cancelled_increase(before)
        return "DEADLINE_EXCEEDED after %.2fs; cancelled_calls %d -> %d" % (elapsed, before, after)

    def s_cancellation(self):
        before = self.stats().cancelled_calls
        call = self.expand()(self.ExpandRequest(count=1000, delay_ms=50, text="c"), timeout=CALL_TIMEOUT)
        a, b = next(call), next(call)
        check((a.index, b.index) == (0, 1), "first indexes %d, %d" % (a.index, b.index))
        call.cancel()
        try:
            for _ in range(1000):  # bounded; must raise promptly
                next(call)
            raise ScenarioFailed("stream continued after cancel")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.CANCELLED, "after cancel: %s" % e.code())
        check(call.code() == grpc.StatusCode.CANCELLED, "call.code() %s" % call.code())
        after = self.wait_cancelled_increase(before)
        return "CANCELLED locally; cancelled_calls %d -> %d" % (before, after)

    def s_metadata(self):
        md = (("x-echo-text", "hello"), ("x-echo-data-bin", ECHO_BIN))
        r, call = self.echo().with_call(self.EchoRequest(text="md"), metadata=md, timeout=CALL_TIMEOUT)
        check(r.text == "md", "text %r" % r.text)
        for where, got in (("initial", call.initial_metadata()), ("trailing", call.trailing_metadata())):
            got = list(got or ())
            texts = [v for k, v in got if k == "x-echo-text"]
            bins = [v for k, v in got if k == "x-echo-data-bin"]
            check(texts == ["hello"], "%s metadata x-echo-text = %r" % (where, texts))
            check(bins == [ECHO_BIN], "%s metadata x-echo-data-bin = %r" % (where, bins))
        return "x-echo-text and x-echo-data-bin (256 bytes) in headers and trailers"

    def s_large_message(self):
        n = 4 * MiB - 64
        r = self.echo()(self.EchoRequest(text="large", payload=b"\x5a" * n, reply_payload_size=n),
                        timeout=CALL_TIMEOUT)
        check(r.text == "large", "text %r" % r.text)
        check(len(r.payload) == n and r.payload == b"a" * n, "reply payload len %d" % len(r.payload))
        return "%d-byte request and reply" % n

    def s_oversized_message(self):
        expect_rpc_error(lambda: self.echo()(self.EchoRequest(text="big", payload=b"\x5a" * (5 * MiB)),
                                             timeout=CALL_TIMEOUT),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        return "5 MiB request -> RESOURCE_EXHAUSTED"

    def s_oversized_reply(self):
        expect_rpc_error(lambda: self.echo()(self.EchoRequest(text="big", reply_payload_size=5 * MiB),
                                             timeout=CALL_TIMEOUT),
                         grpc.StatusCode.RESOURCE_EXHAUSTED)
        return "5 MiB reply -> RESOURCE_EXHAUSTED"

    def s_gzip(self):
        n = 100 * 1000
        ch = self.make_channel(compression=grpc.Compression.Gzip)
        try:
            r = self.echo(ch)(self.EchoRequest(text="gz", payload=b"a" * n, reply_payload_size=n),
                              timeout=CALL_TIMEOUT, compression=grpc.Compression.Gzip)
            check(r.text == "gz" and r.payload == b"a" * n, "unary reply mismatch (len %d)" % len(r.payload))
            reqs = [self.EchoRequest(text=str(i), payload=b"a" * n) for i in range(3)]
            c = self.collect(ch)(iter(reqs), timeout=CALL_TIMEOUT, compression=grpc.Compression.Gzip)
            check((c.count, c.text, c.payload_bytes) == (3, "0,1,2", 3 * n), "collect %r" % c)
        finally:
            ch.close()
        return "gzip Echo (100 KB each way) and Collect (3 x 100 KB) ok"

    def s_health(self):
        check(self.p.has_service(fleet_protos.HEALTH_SERVICE), "descriptor set lacks " + fleet_protos.HEALTH_FILE)
        Req = self.p.msg("grpc.health.v1.HealthCheckRequest")
        Resp = self.p.msg("grpc.health.v1.HealthCheckResponse")
        check_rpc = self.channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=_ser,
                                             response_deserializer=Resp.FromString)
        r = check_rpc(Req(service=""), timeout=CALL_TIMEOUT)
        check(r.status == 1, "Check('') status %d, expected SERVING(1)" % r.status)
        expect_rpc_error(lambda: check_rpc(Req(service="no.such.Service"), timeout=CALL_TIMEOUT),
                         grpc.StatusCode.NOT_FOUND)
        return "'' SERVING; 'no.such.Service' NOT_FOUND"

    def s_reflection(self):
        return "; ".join(self._reflection(v) for v in ("v1", "v1alpha"))

    def _reflection(self, v):
        svc = fleet_protos.REFLECTION_SERVICES[v]
        check(self.p.has_service(svc), "descriptor set lacks " + fleet_protos.REFLECTION_FILES[v])
        Req = self.p.msg("grpc.reflection.%s.ServerReflectionRequest" % v)
        Resp = self.p.msg("grpc.reflection.%s.ServerReflectionResponse" % v)
        info = self.channel.stream_stream("/%s/ServerReflectionInfo" % svc, request_serializer=_ser,
                                          response_deserializer=Resp.FromString)
        q = queue.Queue()
        done = object()

        def requests():
            for _ in range(4):
                item = q.get(timeout=CALL_TIMEOUT)
                if item is done:
                    return
                yield item

        call = info(requests(), timeout=CALL_TIMEOUT)
        try:
            # 1. list_services
            q.put(Req(list_services=""))
            r = next(call)
            check(r.WhichOneof("message_response") == "list_services_response",
                  "%s list_services answered with %s" % (v, r.WhichOneof("message_response")))
            names = [s.name for s in r.list_services_response.service]
            for need in (fleet_protos.ECHO_SERVICE, fleet_protos.HEALTH_SERVICE):
                check(need in names, "%s list_services lacks %s: %s" % (v, need, names))
            check(any(n in names for n in fleet_protos.REFLECTION_SERVICES.values()),
                  "%s list_services lists no reflection service: %s" % (v, names))

            # 2. file_containing_symbol
            q.put(Req(file_containing_symbol=fleet_protos.ECHO_SERVICE))
            r = next(call)
            check(r.WhichOneof("message_response") == "file_descriptor_response",
                  "%s file_containing_symbol answered with %s %s" % (v, r.WhichOneof("message_response"),
                                                                    r.error_response))
            files = []
            for raw in r.file_descriptor_response.file_descriptor_proto:
                fdp = descriptor_pb2.FileDescriptorProto()
                fdp.ParseFromString(raw)
                files.append(fdp)
            echo = [f for f in files if f.name == fleet_protos.ECHO_FILE]
            check(echo, "%s: no %s among %s" % (v, fleet_protos.ECHO_FILE, [f.name for f in files]))
            f = echo[0]
            check(f.package == PKG, "%s: package %r" % (v, f.package))
            svcs = [s for s in f.service if s.name == "EchoService"]
            check(svcs, "%s: no service EchoService in %s" % (v, [s.name for s in f.service]))
            methods = {m.name: m for m in svcs[0].method}
            expected = {
                "Echo": (".fleet.testing.v1.EchoRequest", ".fleet.testing.v1.EchoReply", False, False),
                "Expand": (".fleet.testing.v1.ExpandRequest", ".fleet.testing.v1.EchoReply", False, True),
                "Collect": (".fleet.testing.v1.EchoRequest", ".fleet.testing.v1.CollectReply", True, False),
                "Chat": (".fleet.testing.v1.EchoRequest", ".fleet.testing.v1.EchoReply", True, True),
                "Stats": (".fleet.testing.v1.StatsRequest", ".fleet.testing.v1.StatsReply", False, False),
            }
            check(sorted(methods) == sorted(expected), "%s: methods %s" % (v, sorted(methods)))
            for name, (inp, out, cs, ss) in expected.items():
                m = methods[name]
                got = (m.input_type, m.output_type, m.client_streaming, m.server_streaming)
                check(got == (inp, out, cs, ss), "%s: method %s is %s" % (v, name, got))

            # 3. unknown symbol -> error_response NOT_FOUND (5)
            q.put(Req(file_containing_symbol="no.such.Symbol"))
            r = next(call)
            check(r.WhichOneof("message_response") == "error_response",
                  "%s unknown symbol answered with %s" % (v, r.WhichOneof("message_response")))
            check(r.error_response.error_code == 5, "%s unknown symbol error_code %d" % (v, r.error_response.error_code))

            q.put(done)
            rest = list(call)
            check(rest == [], "%s: %d extra responses" % (v, len(rest)))
        finally:
            q.put(done)
            call.cancel()
        return "%s: %d services listed, EchoService descriptor with 5 methods" % (v, len(names))


def _ser(msg):
    return msg.SerializeToString()


SCENARIOS = [
    "unary", "server_streaming", "client_streaming", "bidi", "error_status", "error_after_messages",
    "deadline", "cancellation", "metadata", "large_message", "oversized_message", "oversized_reply",
    "gzip", "health", "reflection",
]


def main(argv=None):
    ap = argparse.ArgumentParser(description="grpcio interop client for Fleet EchoService")
    ap.add_argument("--target", required=True, help="host:port, e.g. 127.0.0.1:5000")
    ap.add_argument("--scenarios", default="all", help="comma-separated scenario names or 'all' (default)")
    ap.add_argument("--descriptor-set", default=None,
                    help="serialized FileDescriptorSet (echo, health, reflection protos); default: generate with protoc")
    ap.add_argument("--max-receive-bytes", type=int, default=4 * MiB,
                    help="client grpc.max_receive_message_length (default 4194304)")
    ap.add_argument("--ca", help="PEM root certificate(s): use TLS")
    ap.add_argument("--server-name", help="TLS name to verify (grpc.ssl_target_name_override)")
    ap.add_argument("--list", action="store_true", help="print scenario names and exit")
    args = ap.parse_args(argv)

    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    names = SCENARIOS if args.scenarios in ("", "all") else [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.stderr.write("unknown scenario(s): %s; known: %s\n" % (",".join(unknown), ",".join(SCENARIOS)))
        return 2

    try:
        client = Client(args, fleet_protos.load(args.descriptor_set))
    except Exception as e:  # setup error: no scenario ran
        sys.stderr.write("setup failed: %s: %s\n" % (type(e).__name__, e))
        return 2
    all_ok = True
    for name in names:
        t0 = time.monotonic()
        try:
            detail, ok = getattr(client, "s_" + name)(), True
        except ScenarioFailed as e:
            detail, ok = str(e), False
        except grpc.RpcError as e:
            detail, ok = "unexpected RPC error %s: %s" % (e.code(), e.details()), False
        except Exception as e:  # report, never crash: one line per scenario
            detail, ok = "%s: %s" % (type(e).__name__, e), False
        all_ok &= ok
        line = {"scenario": name, "ok": ok, "detail": detail, "ms": int((time.monotonic() - t0) * 1000)}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    client.channel.close()
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
