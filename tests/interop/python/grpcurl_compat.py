#!/usr/bin/python3
"""A small grpcurl-compatible client (the subset Fleet's docs use), for machines without grpcurl.

    grpcurl_compat.py [-plaintext] [-d JSON] [-max-time S] [-connect-timeout S]
                      [-cacert F -cert F -key F] ADDRESS (list [SERVICE] | describe [SYMBOL] | SERVICE/METHOD)

Like grpcurl it knows nothing in advance: every service, method and message comes from the server's
reflection (grpc.reflection.v1, falling back to v1alpha). Requests are parsed from -d with the
protobuf JSON mapping; each response is printed as one indented JSON object, as it arrives; server
streams run until they end or -max-time passes. Exit codes as grpcurl (1.6+): 0 OK; 1 a local failure
(dial, unknown symbol, bad JSON), printed as one line; 64 + the gRPC status code for an RPC that
ended with an error status, printed as "ERROR:\\n  Code: X\\n  Message: Y"; 2 a usage error.
Not supported: -H headers, -insecure, -servername, -format text, -emit-defaults, -v, proto/protoset
files. Needs /usr/bin/python3 with Debian's python3-grpcio and python3-protobuf.
"""

import json
import sys
import time

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format, message_factory

# --- the reflection protocol's own messages (identical wire format in v1 and v1alpha) -----------
# The only types known in advance, as in grpcurl; field numbers as in protos/grpc/reflection/v1.

REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]


def _reflection_classes():
    T = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="grpcurl_compat/reflection.proto", package="grpcurl_compat",
                                           syntax="proto3")

    def message(name, *fields, oneof=None):
        m = f.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof)
        for fname, number, ftype, rest in fields:
            fld = m.field.add(name=fname, number=number, type=ftype, **dict({"label": T.LABEL_OPTIONAL}, **rest))
            if oneof and number > 2:  # request/response payloads are the oneof members
                fld.oneof_index = 0
        return m

    s, b, i, msg = T.TYPE_STRING, T.TYPE_BYTES, T.TYPE_INT32, T.TYPE_MESSAGE
    rep = {"label": T.LABEL_REPEATED}
    message("Request", ("host", 1, s, {}), ("file_by_filename", 3, s, {}),
            ("file_containing_symbol", 4, s, {}), ("list_services", 7, s, {}), oneof="message_request")
    message("FileDescriptorResponse", ("file_descriptor_proto", 1, b, rep))
    message("ServiceResponse", ("name", 1, s, {}))
    message("ListServiceResponse", ("service", 1, msg, dict(rep, type_name=".grpcurl_compat.ServiceResponse")))
    message("ErrorResponse", ("error_code", 1, i, {}), ("error_message", 2, s, {}))
    message("Response", ("valid_host", 1, s, {}),
            ("file_descriptor_response", 4, msg, {"type_name": ".grpcurl_compat.FileDescriptorResponse"}),
            ("list_services_response", 6, msg, {"type_name": ".grpcurl_compat.ListServiceResponse"}),
            ("error_response", 7, msg, {"type_name": ".grpcurl_compat.ErrorResponse"}),
            oneof="message_response")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return [factory.GetPrototype(pool.FindMessageTypeByName("grpcurl_compat." + n)) for n in ("Request", "Response")]


ReflRequest, ReflResponse = _reflection_classes()


class Failure(Exception):
    """A local failure: printed as one line, exit 1 (grpcurl's fail())."""


# --- grpcurl's output conventions -----------------------------------------------------------------

def go_code_name(code):
    """grpc.StatusCode.NOT_FOUND -> "NotFound", as Go's codes.Code.String() prints it."""
    if code == grpc.StatusCode.CANCELLED:
        return "Canceled"
    return "".join(w.capitalize() for w in code.name.split("_")) if code.name != "OK" else "OK"


def print_status_and_exit(err):
    sys.stdout.flush()
    sys.stderr.write("ERROR:\n  Code: %s\n  Message: %s\n" % (go_code_name(err.code()), err.details()))
    sys.exit(64 + err.code().value[0])


def to_json(message):
    return json_format.MessageToJson(message, indent=2)


# --- reflection -------------------------------------------------------------------------------------

class Reflection:
    """Asks the server's reflection service and keeps what it answered in a descriptor pool."""

    def __init__(self, channel, deadline):
        self.channel, self.deadline = channel, deadline
        self.files = {}  # name -> FileDescriptorProto, everything received
        self.pool = descriptor_pool.DescriptorPool()
        self.added = set()
        self.service = None  # the reflection service that answered

    def ask(self, **request):
        """One request on a fresh ServerReflectionInfo stream (v1 first, then v1alpha)."""
        candidates = [self.service] if self.service else REFLECTION_SERVICES
        for svc in candidates:
            info = self.channel.stream_stream("/%s/ServerReflectionInfo" % svc,
                                              request_serializer=ReflRequest.SerializeToString,
                                              response_deserializer=ReflResponse.FromString)
            try:
                response = next(iter(info(iter([ReflRequest(**request)]), timeout=remaining(self.deadline))))
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED and svc != candidates[-1]:
                    continue
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    raise Failure("server does not support the reflection API")
                raise Failure("rpc error: code = %s desc = %s" % (go_code_name(e.code()), e.details()))
            self.service = svc
            if response.WhichOneof("message_response") == "error_response":
                raise Failure(response.error_response.error_message or
                              "reflection error %d" % response.error_response.error_code)
            return response
        raise Failure("server does not support the reflection API")

    def list_services(self):
        return sorted(s.name for s in self.ask(list_services="").list_services_response.service)

    def load_symbol(self, symbol):
        """Fetches the file defining `symbol` and everything it imports into the pool."""
        try:
            response = self.ask(file_containing_symbol=symbol)
        except Failure as e:
            raise Failure("Symbol not found: %s" % symbol if "not found" in str(e).lower() else str(e))
        self._receive(response)
        for fdp in list(self.files.values()):
            self._add(fdp.name)

    def _receive(self, response):
        for raw in response.file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self.files.setdefault(fdp.name, fdp)

    def _add(self, name, depth=0):
        if name in self.added:
            return
        if name not in self.files:  # a dependency the server did not send along
            self._receive(self.ask(file_by_filename=name))
        if depth > 100 or name not in self.files:
            raise Failure("file %s not found through reflection" % name)
        for dep in self.files[name].dependency:
            self._add(dep, depth + 1)
        self.pool.Add(self.files[name])
        self.added.add(name)

    def find(self, symbol):
        """The descriptor named `symbol` (service, method, message, enum), or None."""
        for finder in (self.pool.FindServiceByName, self.pool.FindMessageTypeByName,
                       self.pool.FindEnumTypeByName, self.pool.FindMethodByName):
            try:
                return finder(symbol)
            except KeyError:
                pass
        return None


# --- describe: descriptors back to .proto text (roughly what grpcurl's protoprint prints) ----------

SCALARS = {v: k[len("TYPE_"):].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}


def method_proto(md):
    proto = descriptor_pb2.MethodDescriptorProto()
    md.CopyToProto(proto)
    return proto


def field_type(f):
    if f.message_type is not None:
        return "." + f.message_type.full_name
    if f.enum_type is not None:
        return "." + f.enum_type.full_name
    return SCALARS[f.type]


def kind(d):
    for cls, name in ((descriptor.ServiceDescriptor, "a service"), (descriptor.MethodDescriptor, "a method"),
                      (descriptor.Descriptor, "a message"), (descriptor.EnumDescriptor, "an enum")):
        if isinstance(d, cls):
            return name
    return "a symbol"


def describe(d, indent=""):
    out = []
    k = kind(d)
    if k == "a service":
        out.append("%sservice %s {" % (indent, d.name))
        out += [describe(m, indent + "  ") for m in d.methods]
        out.append(indent + "}")
    elif k == "a method":
        p = method_proto(d)
        cs, ss = ("stream " if p.client_streaming else ""), ("stream " if p.server_streaming else "")
        out.append("%srpc %s ( %s.%s ) returns ( %s.%s );" % (indent, d.name, cs, d.input_type.full_name,
                                                              ss, d.output_type.full_name))
    elif k == "an enum":
        out.append("%senum %s {" % (indent, d.name))
        out += ["%s  %s = %d;" % (indent, v.name, v.number) for v in d.values]
        out.append(indent + "}")
    else:  # message
        out.append("%smessage %s {" % (indent, d.name))
        real_oneofs = [o for o in d.oneofs if not (len(o.fields) == 1 and o.name == "_" + o.fields[0].name)]
        in_oneof = {f.name for o in real_oneofs for f in o.fields}
        for f in d.fields:
            if f.name in in_oneof:
                if f is f.containing_oneof.fields[0]:
                    o = f.containing_oneof
                    out.append("%s  oneof %s {" % (indent, o.name))
                    out += ["%s    %s %s = %d;" % (indent, field_type(x), x.name, x.number) for x in o.fields]
                    out.append(indent + "  }")
                continue
            entry = f.message_type
            if entry is not None and entry.GetOptions().map_entry:
                k, v = entry.fields_by_name["key"], entry.fields_by_name["value"]
                out.append("%s  map<%s, %s> %s = %d;" % (indent, field_type(k), field_type(v), f.name, f.number))
                continue
            label = "repeated " if f.label == f.LABEL_REPEATED else (
                "optional " if f.containing_oneof is not None else "")
            out.append("%s  %s%s %s = %d;" % (indent, label, field_type(f), f.name, f.number))
        for nested in list(d.nested_types) + list(d.enum_types):
            if not (hasattr(nested, "GetOptions") and getattr(nested.GetOptions(), "map_entry", False)):
                out.append(describe(nested, indent + "  "))
        out.append(indent + "}")
    return "\n".join(out)


# --- invoking a method ------------------------------------------------------------------------------

def parse_requests(data, cls, symbol):
    """-d JSON: zero or more JSON objects one after the other; none means one empty request."""
    decoder, pos, messages = json.JSONDecoder(), 0, []
    data = data or ""
    while True:
        while pos < len(data) and data[pos].isspace():
            pos += 1
        if pos >= len(data):
            break
        try:
            obj, pos = decoder.raw_decode(data, pos)
            messages.append(json_format.ParseDict(obj, cls()))
        except (ValueError, json_format.ParseError) as e:
            raise Failure('Error invoking method "%s": error getting request data: %s' % (symbol, e))
    return messages or [cls()]


def invoke(channel, refl, symbol, data, deadline):
    service, sep, method = symbol.replace("/", ".").rpartition(".")
    if not sep or not service:
        raise Failure('Error invoking method "%s": given method name "%s" is not in expected format: '
                      '"service/method" or "service.method"' % (symbol, symbol))
    try:
        refl.load_symbol(service)
    except Failure as e:
        raise Failure('Error invoking method "%s": failed to query for service descriptor "%s": %s'
                      % (symbol, service, e))
    svc = refl.find(service)
    if kind(svc) != "a service":
        raise Failure('Error invoking method "%s": target server does not expose service "%s"' % (symbol, service))
    md = svc.methods_by_name.get(method)
    if md is None:
        raise Failure('Error invoking method "%s": service "%s" does not include a method named "%s"'
                      % (symbol, service, method))
    factory = message_factory.MessageFactory(refl.pool)
    req_cls, resp_cls = factory.GetPrototype(md.input_type), factory.GetPrototype(md.output_type)
    proto = method_proto(md)
    requests = parse_requests(data, req_cls, symbol)
    path = "/%s/%s" % (svc.full_name, md.name)
    kw = dict(request_serializer=req_cls.SerializeToString, response_deserializer=resp_cls.FromString)
    timeout = remaining(deadline)
    if not proto.client_streaming and len(requests) > 1:
        raise Failure('Error invoking method "%s": method is unary but %d requests were given' % (symbol, len(requests)))
    if proto.client_streaming and proto.server_streaming:
        responses = channel.stream_stream(path, **kw)(iter(requests), timeout=timeout)
    elif proto.client_streaming:
        responses = [channel.stream_unary(path, **kw)(iter(requests), timeout=timeout)]
    elif proto.server_streaming:
        responses = channel.unary_stream(path, **kw)(requests[0], timeout=timeout)
    else:
        responses = [channel.unary_unary(path, **kw)(requests[0], timeout=timeout)]
    for response in responses:  # streams: printed as they arrive
        print(to_json(response), flush=True)


# --- command line -------------------------------------------------------------------------------------

def remaining(deadline):
    return None if deadline is None else max(0.001, deadline - time.monotonic())


def usage(msg):
    sys.stderr.write("%s\nTry '%s -help' for more details.\n" % (msg, sys.argv[0]))
    sys.exit(2)


def parse_args(argv):
    opts = {"plaintext": False, "d": None, "max-time": 0.0, "connect-timeout": 10.0,
            "cacert": None, "cert": None, "key": None}
    args, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and len(a) > 1 and not args:
            name, eq, value = a.lstrip("-").partition("=")
            if name not in opts:
                usage("flag provided but not defined: -%s" % name)
            if isinstance(opts[name], bool):
                opts[name] = value.lower() not in ("false", "0") if eq else True
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        usage("flag needs an argument: -%s" % name)
                    value = argv[i]
                try:
                    opts[name] = float(value) if isinstance(opts[name], float) else value
                except ValueError:
                    usage('invalid value "%s" for flag -%s' % (value, name))
        else:
            args.append(a)
        i += 1
    if not args:
        usage("Too few arguments.")
    if opts["plaintext"] and opts["cacert"]:
        usage("The -cacert argument can only be used with TLS (not with -plaintext).")
    return opts, args


def main(argv):
    opts, args = parse_args(argv)
    address, verb = args[0], args[1] if len(args) > 1 else None
    if verb in ("list", "describe"):
        symbol = args[2] if len(args) > 2 else None
        if len(args) > 3:
            usage("Too many arguments.")
    else:
        symbol = verb
        if symbol is None:
            usage("Too few arguments.")
        if len(args) > 2:
            usage("Too many arguments.")
    if opts["d"] is not None and verb in ("list", "describe"):
        sys.stderr.write("Warning: The -d argument is not used with 'list' or 'describe' verb.\n")
    start = time.monotonic()
    deadline = start + opts["max-time"] if opts["max-time"] > 0 else None

    if opts["plaintext"]:
        channel = grpc.insecure_channel(address)
    else:
        def read(path):
            if path is None:
                return None
            with open(path, "rb") as fh:
                return fh.read()
        creds = grpc.ssl_channel_credentials(read(opts["cacert"]), read(opts["key"]), read(opts["cert"]))
        channel = grpc.secure_channel(address, creds)
    try:
        try:  # grpcurl dials first, blocking, for at most -connect-timeout (and -max-time)
            dial = opts["connect-timeout"] if deadline is None else min(opts["connect-timeout"], remaining(deadline))
            grpc.channel_ready_future(channel).result(timeout=dial)
        except grpc.FutureTimeoutError:
            raise Failure('Failed to dial target host "%s": context deadline exceeded' % address)
        refl = Reflection(channel, deadline)
        if verb == "list" and symbol is None:
            try:
                services = refl.list_services()
            except Failure as e:
                raise Failure("Failed to list services: %s" % e)
            print("\n".join(services) if services else "(No services)")
        elif verb == "list":
            try:
                refl.load_symbol(symbol)
            except Failure as e:
                raise Failure('Failed to list methods for service "%s": %s' % (symbol, e))
            svc = refl.find(symbol)
            if kind(svc) != "a service":
                raise Failure('Failed to list methods for service "%s": Service not found: %s' % (symbol, symbol))
            print("\n".join(sorted("%s.%s" % (svc.full_name, m.name) for m in svc.methods)) or "(No methods)")
        elif verb == "describe":
            for s in [symbol.lstrip(".")] if symbol else refl.list_services():
                try:
                    refl.load_symbol(s)
                except Failure as e:
                    raise Failure('Failed to resolve symbol "%s": %s' % (s, e))
                d = refl.find(s)
                if d is None:
                    raise Failure('Failed to resolve symbol "%s": Symbol not found: %s' % (s, s))
                print("%s is %s:" % (d.full_name, kind(d)))
                print(describe(d))
        else:
            invoke(channel, refl, symbol, opts["d"], deadline)
    except Failure as e:
        sys.stdout.flush()
        sys.stderr.write("%s\n" % e)
        return 1
    except grpc.RpcError as e:
        print_status_and_exit(e)
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
