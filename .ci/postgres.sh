#!/usr/bin/env bash
# Sourced by .ci/run: starts a throwaway PostgreSQL on 127.0.0.1 (a free port, a temporary data directory) and exports
# DISCOUNTS_TEST_POSTGRES for the Postgres tests. Installs Debian's postgresql when no server binaries are found.
# Any failure leaves the variable unset, and those tests are then skipped with a message saying so.

pg_bin_dir() {
  local initdb
  initdb=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && [ -x "$initdb" ] && dirname "$(readlink -f "$initdb")"
}

start_test_postgres() {
  local bin
  bin=$(pg_bin_dir)
  if [ -z "$bin" ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL: installing postgresql from Debian"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >/dev/null 2>&1
    bin=$(pg_bin_dir)
  fi
  if [ -z "$bin" ]; then
    echo "PostgreSQL: no server binaries and no way to install them; the Postgres tests will be skipped"
    return 0
  fi

  # Below Linux's ephemeral range (32768-60999): a port in it can be held by any outgoing connection's local end, which a
  # connect probe does not see and which makes the server's bind fail.
  local port=25432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

  PG_TEST_DIR=$(mktemp -d /tmp/discounts-pg.XXXXXX)
  # The server refuses to run as root: run it as the postgres user the package creates (else nobody).
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$PG_TEST_DIR"
    as=(runuser -u "$user" --)
  fi

  # C.UTF-8 where the image has it, else plain C (a failed first try leaves a half-made directory behind).
  if ! "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_TEST_DIR/initdb.log" 2>&1 &&
     ! { rm -rf "$PG_TEST_DIR/data"; "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C >>"$PG_TEST_DIR/initdb.log" 2>&1; }; then
    echo "PostgreSQL: initdb failed; the Postgres tests will be skipped"; tail -n 5 "$PG_TEST_DIR/initdb.log"
    return 0
  fi
  # A port taken between the probe and the bind fails the start: try the next few ports before giving up.
  local tries=0
  until "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
       -o "-h 127.0.0.1 -p $port -k $PG_TEST_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off" start >/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      echo "PostgreSQL: the server did not start; the Postgres tests will be skipped"; tail -n 5 "$PG_TEST_DIR/server.log"
      return 0
    fi
    port=$((port + 1))
  done

  PG_TEST_STOP=("${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop)
  export DISCOUNTS_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  echo "PostgreSQL: $("$bin/postgres" --version) on 127.0.0.1:$port"
}

stop_test_postgres() {
  if [ -n "${PG_TEST_STOP+x}" ]; then "${PG_TEST_STOP[@]}" >/dev/null 2>&1; fi
  [ -n "${PG_TEST_DIR:-}" ] && rm -rf "$PG_TEST_DIR"
  return 0
}
