#!/bin/sh
# Run by the postgres image when its data folder is new (and safe to run again): the two roles
# of the platform. The owner owns the database and is used only by `manage.py migrate`; the
# runtime role is what daphne, Celery and the signer connect as. `migrate` grants the runtime
# role its rights (teletherapy/dbroles.py): it owns nothing, and may only read and add to the
# audit trail.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$OWNER_PASSWORD" -v runtime_password="$RUNTIME_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE teletherapy_owner LOGIN PASSWORD %L', :'owner_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'teletherapy_owner') \gexec
SELECT format('CREATE ROLE teletherapy_app LOGIN PASSWORD %L', :'runtime_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'teletherapy_app') \gexec
-- CREATEDB: the restore drill restores the newest backup into scratch databases and drops them.
ALTER ROLE teletherapy_owner NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE teletherapy_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
SELECT format('ALTER DATABASE %I OWNER TO teletherapy_owner', current_database()) \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO teletherapy_app', current_database()) \gexec
SQL
