#!/bin/sh
# Temporal's schema in PostgreSQL, run by the compose file's `temporal-schema` job (the
# temporalio/admin-tools image, whose version matches the server's) before the server starts.
# Both databases exist already, owned by the `temporal` role (deploy/postgres-init.sh): this
# creates no database. `setup-schema -v 0.0` makes the version tables on an empty database and
# does nothing on a set-up one; `update-schema` then applies every versioned step the database
# lacks, so the same job sets up a new host and migrates an existing one after an image upgrade.
# Connection from the environment (temporal-sql-tool reads these): SQL_PLUGIN, SQL_HOST,
# SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu
: "${SQL_HOST:?set SQL_HOST}"
: "${SQL_USER:?set SQL_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD}"
SCHEMA=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

migrate() {  # database, versioned folder
    echo "temporal-schema: $1"
    temporal-sql-tool --db "$1" setup-schema -v 0.0
    temporal-sql-tool --db "$1" update-schema -d "$SCHEMA/$2/versioned"
}

migrate "${TEMPORAL_DBNAME:-temporal}" temporal
migrate "${TEMPORAL_VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "temporal-schema: both databases are at the schema of this admin-tools version"
