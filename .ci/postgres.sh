#!/usr/bin/env bash
# Debian's PostgreSQL on loopback for the suite's PostgreSQL run, in a throwaway cluster (trust
# auth on 127.0.0.1 only).
#   .ci/postgres.sh start DIR [PORT]   initialise DIR, start on PORT (default: a free one) and
#                                      print the URL base the tests take
#   .ci/postgres.sh stop DIR           stop it and remove DIR
set -euo pipefail
command="$1"
data="$2"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres() { su postgres -c "cd / && $1"; }  # from /: the clone may be unreadable to postgres

case "$command" in
start)
    port="${3:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    chown postgres "$data"
    as_postgres "$bin/initdb -D $data -A trust -U postgres" >/dev/null
    as_postgres "$bin/pg_ctl -D $data -o '-c listen_addresses=127.0.0.1 -p $port -c fsync=off' -l $data/log -w start" >/dev/null
    echo "postgresql+psycopg://postgres@127.0.0.1:$port"
    ;;
stop)
    if [ -f "$data/postmaster.pid" ]; then
        as_postgres "$bin/pg_ctl -D $data -m fast -w stop" >/dev/null
    fi
    rm -rf "$data"
    ;;
*)
    echo "usage: $0 start DIR [PORT] | stop DIR" >&2
    exit 2
    ;;
esac
