#!/usr/bin/env bash
# Makes the base image the Dockerfiles name (debian:bookworm-slim) from Debian's own packages, for machines
# that reach Debian's package repositories but no container registry: debootstrap --variant=minbase, then
# imported into podman (or docker) under the name a pull would give it. Does nothing when it exists.
#   scripts/make-base-image.sh [IMAGE]      (default: docker.io/library/debian:bookworm-slim)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-docker.io/library/debian:bookworm-slim}
engine=${CONTAINER_ENGINE:-$(command -v podman || command -v docker || true)}
[ -n "$engine" ] || { echo "make-base-image: neither podman nor docker is installed" >&2; exit 2; }
if "$engine" image inspect "$image" >/dev/null 2>&1; then
  echo "make-base-image: $image exists" >&2
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || { echo "make-base-image: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }
root=$(mktemp -d /tmp/fleet-base-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "make-base-image: debootstrap bookworm (minbase) into $root" >&2
debootstrap --variant=minbase bookworm "$root" >/dev/null
# As Debian's slim images: no documentation, manual pages or translations, now or from later installs.
cat > "$root/etc/dpkg/dpkg.cfg.d/fleet-slim" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CONF
# and, as they do, apt keeps neither downloaded packages nor its binary caches in image layers.
cat > "$root/etc/apt/apt.conf.d/fleet-slim" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "make-base-image: imported $image" >&2
