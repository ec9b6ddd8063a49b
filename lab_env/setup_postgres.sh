#!/usr/bin/env bash
# PostgreSQL for the harness's own tests (and a lab that shares one lab record between hosts):
# Debian's cluster started, and a role that may create the scratch databases the tests use.
# The tests connect with HARNESS_TEST_PG_URL (default below). Idempotent.
set -euo pipefail
role="${HARNESS_TEST_PG_ROLE:-harness_test}"
password="${HARNESS_TEST_PG_PASSWORD:-harness_test}"
cluster="$(pg_lsclusters --no-header | awk '$3 == 5432 {print $1 " " $2; exit}')"
if [ -z "$cluster" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  echo "setup: creating PostgreSQL $version cluster 'main' on port 5432"
  pg_createcluster "$version" main --port 5432 >/dev/null
  cluster="$version main"
fi
# shellcheck disable=SC2086 # "version name", two words on purpose
if ! pg_lsclusters --no-header | awk '$3 == 5432' | grep -q online; then
  echo "setup: starting PostgreSQL cluster $cluster"
  pg_ctlcluster $cluster start
fi
for _ in $(seq 1 50); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
su postgres -c "psql -qAt" <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password';
  END IF;
END \$\$;
SQL
echo "setup: PostgreSQL ready (postgresql+psycopg://$role:***@127.0.0.1:5432/postgres)"
