#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as its
# superuser: a role and database for ProctorFlow, and a role owning Temporal's two databases.
# Neither role is a superuser or may create roles or databases, and neither may connect to the
# other's databases: a leaked ProctorFlow password does not reach Temporal's histories (nor the
# other way round). The superuser (POSTGRES_PASSWORD) is for this script and for operators only.
set -eu
: "${PROCTORFLOW_DB_PASSWORD:?set PROCTORFLOW_DB_PASSWORD}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v proctorflow_password="$PROCTORFLOW_DB_PASSWORD" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE proctorflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'proctorflow_password';
CREATE ROLE temporal LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'temporal_password';

CREATE DATABASE proctorflow OWNER proctorflow;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

REVOKE ALL ON DATABASE proctorflow, temporal, temporal_visibility FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE proctorflow TO proctorflow;
GRANT CONNECT, TEMPORARY ON DATABASE temporal, temporal_visibility TO temporal;
SQL
