# Sourced by the PostgreSQL install scripts. As root, the tests run PostgreSQL as user nobody
# (it refuses to run as root), which must be able to reach the binaries. A checkout under a
# private directory (/root, a 0700 home) hides them: then a copy in a world-readable place is used.

# Whether user nobody can run the server in bin directory $1 and reach pgvector.
# (`postgres --version` is no test: it answers even when it cannot reach its own directory.)
nobody_can_run() {
  local check="test -x '$1/postgres' && '$1/initdb' --version && test -r '$1/../lib/postgresql/vector.so'"
  if command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c "$check" >/dev/null 2>&1
  else
    su -s /bin/sh nobody -c "$check" >/dev/null 2>&1
  fi
}

# reachable_bin BIN NAME REL_BIN DIR...: prints BIN when nobody can run it (or when not root);
# otherwise copies each DIR (keeping their layout side by side) to ${TMPDIR:-/tmp}/NAME, once, and
# prints REL_BIN inside that copy.
reachable_bin() {
  local bin=$1 shared="${TMPDIR:-/tmp}/$2" rel=$3
  shift 3
  if [ "$(id -u)" != "0" ] || nobody_can_run "$bin"; then
    echo "$bin"
    return
  fi
  # Reused only when root made it and nobody else can write to it (/tmp is shared).
  trusted() { [ -d "$1" ] && [ "$(stat -c %u "$1")" = "0" ] && [ -z "$(find "$1" -perm /022 -not -type l -print -quit)" ]; }
  if ! trusted "$shared" || ! nobody_can_run "$shared/$rel"; then
    echo "user nobody cannot reach $bin; copying the server to $shared" >&2
    # Staged in a fresh directory of root's own (mktemp), so nobody else can have made it.
    local staging
    staging=$(mktemp -d "$shared.XXXXXX")
    cp -a "$@" "$staging/"
    chmod -R a+rX,go-w "$staging"
    rm -rf "$shared"
    mv -T "$staging" "$shared"
  fi
  trusted "$shared" && nobody_can_run "$shared/$rel" || { echo "user nobody cannot run a trusted copy of the server in $shared/$rel" >&2; return 1; }
  echo "$shared/$rel"
}
