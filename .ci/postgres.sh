#!/usr/bin/env bash
# Start Debian's PostgreSQL on loopback for the suite's PostgreSQL run, in a throwaway cluster
# (trust auth on 127.0.0.1 only). Prints the URL base the tests take.
set -euo pipefail
port="${1:-55432}"
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data=$(mktemp -d /tmp/proctorflow-pg.XXXXXX)
chown postgres "$data"
su postgres -c "$bin/initdb -D $data -A trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $data -o '-c listen_addresses=127.0.0.1 -p $port -c fsync=off' -l $data/log -w start" >/dev/null
echo "postgresql+psycopg://postgres@127.0.0.1:$port"
