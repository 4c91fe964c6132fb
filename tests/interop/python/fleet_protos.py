#!/usr/bin/python3
"""Runtime message classes for the Fleet interop peers, built from a FileDescriptorSet.

Python has no generated code here: the peers take `--descriptor-set FILE`, a serialized
google.protobuf.FileDescriptorSet (protoc --include_imports --descriptor_set_out=FILE) that must
contain fleet/testing/v1/echo.proto and may contain grpc/health/v1/health.proto,
grpc/reflection/v1/reflection.proto and grpc/reflection/v1alpha/reflection.proto.

When no descriptor set is given, one is generated with protoc ($PROTOC, `protoc` on PATH, or
the Grpc.Tools NuGet package's protoc) from the repository's protos.

Run as a script to write a descriptor set for manual use:
    /usr/bin/python3 tests/interop/python/fleet_protos.py --out /tmp/fleet.pb
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP_PROTOS = os.path.normpath(os.path.join(HERE, "..", "protos"))
REPO_PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "protos"))

ECHO_FILE = "fleet/testing/v1/echo.proto"
HEALTH_FILE = "grpc/health/v1/health.proto"
REFLECTION_FILES = {
    "v1": "grpc/reflection/v1/reflection.proto",
    "v1alpha": "grpc/reflection/v1alpha/reflection.proto",
}
ALL_FILES = [ECHO_FILE, HEALTH_FILE, REFLECTION_FILES["v1"], REFLECTION_FILES["v1alpha"]]

ECHO_SERVICE = "fleet.testing.v1.EchoService"
HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICES = {
    "v1": "grpc.reflection.v1.ServerReflection",
    "v1alpha": "grpc.reflection.v1alpha.ServerReflection",
}


def find_protoc():
    """Return a protoc path or None."""
    env = os.environ.get("PROTOC")
    if env and os.path.isfile(env):
        return env
    on_path = shutil.which("protoc")
    if on_path:
        return on_path
    nuget = os.environ.get("NUGET_PACKAGES") or os.path.expanduser("~/.nuget/packages")
    candidates = sorted(glob.glob(os.path.join(nuget, "grpc.tools", "*", "tools", "linux_x64", "protoc")))
    for c in reversed(candidates):  # newest version string last
        if os.access(c, os.X_OK):
            return c
        # NuGet extraction may drop the executable bit; run it through a copy if so.
        tmp = os.path.join(tempfile.gettempdir(), "fleet-interop-protoc")
        shutil.copyfile(c, tmp)
        os.chmod(tmp, 0o755)
        return tmp
    return None


def generate_descriptor_set(out_path, files=None):
    """Write a FileDescriptorSet (with imports) for `files` (default: all four) to out_path."""
    protoc = find_protoc()
    if protoc is None:
        raise RuntimeError(
            "no protoc found (set $PROTOC, install protobuf-compiler, or restore the Grpc.Tools "
            "NuGet package); or pass --descriptor-set FILE")
    files = files or ALL_FILES
    cmd = [protoc, "--include_imports", "--descriptor_set_out=" + out_path,
           "-I", INTEROP_PROTOS, "-I", REPO_PROTOS] + list(files)
    subprocess.run(cmd, check=True, timeout=60)
    return out_path


def read_descriptor_set(path):
    """Parse the FileDescriptorSet at path (or generate one when path is None)."""
    if path is None:
        fd, tmp = tempfile.mkstemp(prefix="fleet-interop-", suffix=".pb")
        os.close(fd)
        try:
            generate_descriptor_set(tmp)
            with open(tmp, "rb") as f:
                data = f.read()
        finally:
            os.unlink(tmp)
    else:
        with open(path, "rb") as f:
            data = f.read()
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(data)
    return fds


class Protos:
    """A descriptor pool plus message classes, built from one FileDescriptorSet."""

    def __init__(self, fds):
        self.file_protos = {}  # name -> FileDescriptorProto
        for fdp in fds.file:
            self.file_protos.setdefault(fdp.name, fdp)
        self.pool = descriptor_pool.DescriptorPool()
        self._add_in_dependency_order()
        self._factory = message_factory.MessageFactory(self.pool)
        self._classes = {}

    def _add_in_dependency_order(self):
        """Add every file whose dependencies are all present; files with missing dependencies
        (and files depending on them) are skipped with a note on stderr."""
        added, skipped = set(), {}
        # Bounded: each pass settles at least one file or we stop.
        for _ in range(len(self.file_protos) + 1):
            progress = False
            for name, fdp in self.file_protos.items():
                if name in added or name in skipped:
                    continue
                missing = [d for d in fdp.dependency if d not in self.file_protos or d in skipped]
                if missing:
                    skipped[name] = missing
                    progress = True
                elif all(d in added for d in fdp.dependency):
                    self.pool.Add(fdp)
                    added.add(name)
                    progress = True
            if not progress:
                break
        for name in self.file_protos:
            if name not in added and name not in skipped:
                skipped[name] = ["(dependency cycle)"]
        for name, missing in sorted(skipped.items()):
            sys.stderr.write("fleet_protos: skipping %s: missing %s\n" % (name, ", ".join(missing)))
        for name in skipped:
            del self.file_protos[name]

    def has_file(self, name):
        return name in self.file_protos

    def has_service(self, full_name):
        try:
            self.pool.FindServiceByName(full_name)
            return True
        except KeyError:
            return False

    def msg(self, full_name):
        cls = self._classes.get(full_name)
        if cls is None:
            desc = self.pool.FindMessageTypeByName(full_name)
            cls = self._factory.GetPrototype(desc)
            self._classes[full_name] = cls
        return cls

    def service_names(self):
        names = []
        for fdp in self.file_protos.values():
            for svc in fdp.service:
                names.append((fdp.package + "." if fdp.package else "") + svc.name)
        return names

    def file_with_deps(self, name):
        """Serialized FileDescriptorProtos: `name` first, then its transitive dependencies."""
        order, seen, stack = [], set(), [name]
        for _ in range(10000):  # bounded walk
            if not stack:
                break
            n = stack.pop(0)
            if n in seen or n not in self.file_protos:
                continue
            seen.add(n)
            order.append(n)
            stack.extend(self.file_protos[n].dependency)
        return [self.file_protos[n].SerializeToString() for n in order]


def load(path):
    protos = Protos(read_descriptor_set(path))
    if not protos.has_file(ECHO_FILE):
        raise RuntimeError("descriptor set does not contain " + ECHO_FILE)
    return protos


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write the Fleet interop FileDescriptorSet with protoc.")
    ap.add_argument("--out", required=True, help="output file (serialized FileDescriptorSet)")
    args = ap.parse_args(argv)
    generate_descriptor_set(args.out)
    fds = read_descriptor_set(args.out)
    print("wrote %s: %s" % (args.out, ", ".join(f.name for f in fds.file)))


if __name__ == "__main__":
    sys.exit(main())
