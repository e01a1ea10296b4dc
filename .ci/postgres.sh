#!/usr/bin/env bash
# Starts Debian's PostgreSQL (installing it if missing) and creates the test role and database.
# Prints the database URL the PostgreSQL tests read from MCP_SECURE_PG_URL.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'mcp_secure'")" != 1 ]; then
  as_postgres -c "CREATE ROLE mcp_secure LOGIN PASSWORD 'mcp_secure'" >&2
fi
# The fault tests create (and drop) a database of their own to take away from a running server.
as_postgres -c "ALTER ROLE mcp_secure CREATEDB" >&2
if [ "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'mcp_secure_test'")" != 1 ]; then
  as_postgres -c "CREATE DATABASE mcp_secure_test OWNER mcp_secure" >&2
fi
echo "postgres://mcp_secure:mcp_secure@127.0.0.1:$port/mcp_secure_test"
