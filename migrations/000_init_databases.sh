#!/usr/bin/env bash
# 000_init_databases.sh - ADR-0060's single initialisation script for
# Docker-based setups (docker-compose.yml, docker-compose.test.yml mount it into
# /docker-entrypoint-initdb.d) and for any server reachable through the
# standard PG* variables.
#
# It creates, idempotently (safe to re-run; existing objects are left as they
# are), the same databases, roles and privilege profiles as the Pulumi program
# (components/database/service-database.ts), applies migrations/NNN_*.sql to the
# gdpr database exactly as the TypeScript runner does (components/schema/migration-runner.ts:
# same version table, checksums and advisory lock, so both may run against one
# database), then validates the result and exits non-zero naming what is missing.
#
# Environment (all optional):
#   PLATFORM_ENVIRONMENT   dev | test | staging | prod. When unset, ADR-0060's
#                          detection: test if POSTGRES_DB ends in _test, else dev.
#   SERVICES               services, space- or comma-separated (default: gdpr openfga keycloak)
#   MANAGED_SCHEMA_SERVICES  services whose schema a NOLOGIN owner role owns
#                          (default: gdpr). The script applies gdpr's migrations
#                          only (migrations/NNN_*.sql, the ADR's files); another
#                          managed-schema service's (migrations/<service>/) are
#                          applied by the Pulumi program or `make migrate SERVICE=…`.
#   CONNECTION_LIMIT       connection limit of each login role (default: 25)
#   <SERVICE>_DB_PASSWORD  password given to a login role when it is created,
#                          e.g. GDPR_DB_PASSWORD (never logged; read by psql's
#                          \getenv, so it is on no command line)
#   MIGRATIONS_DIR         where NNN_*.sql live (default: this script's directory)
#   MIGRATION_LOCK_TIMEOUT how long to wait for another runner (default: 300s)
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE   libpq connection; PGUSER
#                          defaults to POSTGRES_USER (the image's superuser) and
#                          PGDATABASE (the maintenance database) to postgres.
#                          The user is a superuser or, like the clouds' admins, a
#                          LOGIN CREATEDB CREATEROLE role.
#
#   000_init_databases.sh           initialise, migrate, validate
#   000_init_databases.sh --plan    print the names it would use and exit (no connection)
#
# Needs bash, psql >= 15 (\getenv) and sha256sum.

# The postgres image sources (instead of running) an init script that is not
# executable; run in a child bash then, so `set -e` and `exit` stay ours.
if [[ "${BASH_SOURCE[0]}" != "${0}" ]]; then
  bash "${BASH_SOURCE[0]}" "$@"
  return $?
fi

set -euo pipefail

# ADR-0060's naming rules and the stack config's defaults, the same as
# components/naming.ts and components/config/stack-config.ts:
# tests/init-script-naming.test.ts runs this script (--plan) and the TypeScript on the
# same inputs and fails if they disagree.
ENVIRONMENTS=(dev test staging prod)
TEST_SUFFIX=_test
LOGIN_ROLE_SUFFIX=_app
OWNER_ROLE_SUFFIX=_owner
# The backup role the Pulumi program gives every database (naming.ts backupRoleName):
# not created here, but its name must fit too, so both refuse the same services.
BACKUP_ROLE_SUFFIX=_backup
MAX_IDENTIFIER_BYTES=63
RESERVED_NAMES=(postgres template0 template1 public cloudsqladmin cloudsqlsuperuser cloudsqliamuser
  cloudsqliamserviceaccount cloudsqlreplica cloudsqlagent rdsadmin rds_superuser rds_iam rds_replication
  rds_password rdsrepladmin rdstopmgr azure_superuser azure_pg_admin alloydbadmin alloydbsuperuser
  current_user session_user current_role none)
DEFAULT_SERVICES="gdpr openfga keycloak"
DEFAULT_MANAGED_SCHEMA="gdpr"
DEFAULT_CONNECTION_LIMIT=25

# The migrations' protocol, the same as components/schema/migration-runner.ts's.
MIGRATIONS_SERVICE=gdpr
SCHEMA_FILE=001_gdpr_schema.sql
MIGRATION_LOCK_KEY=6000600001
LOGIN_ROLE_SETTING=platform.login_role
VERSION_TABLE_DDL="CREATE TABLE IF NOT EXISTS public.schema_migrations (
  version    integer PRIMARY KEY CHECK (version > 0),
  name       text NOT NULL UNIQUE,
  checksum   text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}\$'),
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT session_user
)"
# ADR-0060's health check: the tables the gdpr database must hold after init
# (openfga and keycloak create theirs when they first start).
REQUIRED_TABLES="user_profiles user_preferences consent_records conversations audit_logs"

log() { printf '000_init_databases: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# The configuration (environment variables), checked against the rules above.
contains() {
  local needle=$1
  shift
  local item
  for item in "$@"; do [[ "$item" == "$needle" ]] && return 0; done
  return 1
}

reserved_reason() {
  local name=$1
  if [[ "$name" == pg_* ]]; then
    echo "names starting with \"pg_\" are reserved by PostgreSQL"
  elif contains "$name" "${RESERVED_NAMES[@]}"; then
    echo "\"$name\" is reserved by PostgreSQL or a managed cloud"
  fi
}

# check_name KIND NAME: length and reserved names (naming.ts checkLength)
check_name() {
  local kind=$1 name=$2 reason bytes
  bytes=$(printf '%s' "$name" | LC_ALL=C wc -c | tr -d ' ')
  if ((bytes > MAX_IDENTIFIER_BYTES)); then
    die "$kind \"$name\" is $bytes bytes; PostgreSQL identifiers are at most $MAX_IDENTIFIER_BYTES bytes"
  fi
  reason=$(reserved_reason "$name")
  [[ -z "$reason" ]] || die "$kind \"$name\" is refused: $reason"
}

# validate_service KEY NAME (naming.ts validateServiceName)
validate_service() {
  local key=$1 name=$2 reason
  [[ "$name" =~ ^[a-z][a-z0-9_]*$ ]] ||
    die "$key: service name \"$name\" is not a lowercase PostgreSQL identifier ([a-z][a-z0-9_]*)"
  [[ "$name" != *"$TEST_SUFFIX" ]] ||
    die "$key: service name \"$name\" must not end in \"$TEST_SUFFIX\": the suffix is added for the test environment"
  reason=$(reserved_reason "$name")
  [[ -z "$reason" ]] || die "$key: service name \"$name\" is refused: $reason"
}

split_list() { tr ',' ' ' <<<"$1"; }

resolve_config() {
  if [[ -n "${PLATFORM_ENVIRONMENT:-}" ]]; then
    contains "$PLATFORM_ENVIRONMENT" "${ENVIRONMENTS[@]}" ||
      die "PLATFORM_ENVIRONMENT \"$PLATFORM_ENVIRONMENT\" is not one of ${ENVIRONMENTS[*]}"
    ENVIRONMENT=$PLATFORM_ENVIRONMENT
    ENVIRONMENT_REASON="PLATFORM_ENVIRONMENT"
  elif [[ "${POSTGRES_DB:-}" == *"$TEST_SUFFIX" ]]; then
    ENVIRONMENT="test"
    ENVIRONMENT_REASON="POSTGRES_DB \"$POSTGRES_DB\" ends in $TEST_SUFFIX"
  else
    ENVIRONMENT="dev"
    ENVIRONMENT_REASON="neither PLATFORM_ENVIRONMENT nor a POSTGRES_DB ending in $TEST_SUFFIX is set"
  fi

  CONNECTION_LIMIT=${CONNECTION_LIMIT:-$DEFAULT_CONNECTION_LIMIT}
  [[ "$CONNECTION_LIMIT" =~ ^[0-9]+$ ]] || die "CONNECTION_LIMIT \"$CONNECTION_LIMIT\" is not an integer"
  ((CONNECTION_LIMIT >= 1 && CONNECTION_LIMIT <= 10000)) ||
    die "CONNECTION_LIMIT $CONNECTION_LIMIT is out of range (1..10000)"

  local raw_services
  raw_services=$(split_list "${SERVICES:-$DEFAULT_SERVICES}")
  read -r -a SERVICE_LIST <<<"$raw_services"
  ((${#SERVICE_LIST[@]} > 0)) || die "SERVICES is empty: list at least one service"
  local i j
  for i in "${!SERVICE_LIST[@]}"; do
    validate_service "SERVICES[$i]" "${SERVICE_LIST[$i]}"
    for ((j = 0; j < i; j++)); do
      [[ "${SERVICE_LIST[$j]}" != "${SERVICE_LIST[$i]}" ]] ||
        die "SERVICES[$i]: service \"${SERVICE_LIST[$i]}\" is listed twice (first at SERVICES[$j]); each service gets one database"
    done
  done

  local raw_managed name
  if [[ -n "${MANAGED_SCHEMA_SERVICES+set}" ]]; then
    raw_managed=$(split_list "$MANAGED_SCHEMA_SERVICES")
    read -r -a MANAGED_LIST <<<"$raw_managed"
    for i in "${!MANAGED_LIST[@]}"; do
      contains "${MANAGED_LIST[$i]}" "${SERVICE_LIST[@]}" ||
        die "MANAGED_SCHEMA_SERVICES[$i]: \"${MANAGED_LIST[$i]}\" is not one of the configured services (${SERVICE_LIST[*]})"
    done
  else
    MANAGED_LIST=()
    for name in $DEFAULT_MANAGED_SCHEMA; do
      if contains "$name" "${SERVICE_LIST[@]}"; then MANAGED_LIST+=("$name"); fi
    done
  fi

  # Names per service (naming.ts databaseName, roleNames).
  DB_NAMES=() LOGIN_ROLES=() OWNER_ROLES=() PROFILES=()
  local svc db
  for svc in "${SERVICE_LIST[@]}"; do
    if [[ "$ENVIRONMENT" == test ]]; then db="$svc$TEST_SUFFIX"; else db=$svc; fi
    check_name "database name" "$db"
    check_name "login role name" "$db$LOGIN_ROLE_SUFFIX"
    check_name "owner role name" "$db$OWNER_ROLE_SUFFIX"
    check_name "backup role name" "$db$BACKUP_ROLE_SUFFIX"
    DB_NAMES+=("$db")
    LOGIN_ROLES+=("$db$LOGIN_ROLE_SUFFIX")
    if ((${#MANAGED_LIST[@]} > 0)) && contains "$svc" "${MANAGED_LIST[@]}"; then
      OWNER_ROLES+=("$db$OWNER_ROLE_SUFFIX")
      PROFILES+=(managed-schema)
    else
      OWNER_ROLES+=("")
      PROFILES+=(self-migrating)
    fi
  done
}

print_plan() {
  echo "environment=$ENVIRONMENT"
  local i
  for i in "${!SERVICE_LIST[@]}"; do
    echo "service=${SERVICE_LIST[$i]} database=${DB_NAMES[$i]} login=${LOGIN_ROLES[$i]} owner=${OWNER_ROLES[$i]:--} profile=${PROFILES[$i]} connection_limit=$CONNECTION_LIMIT"
  done
}

# The migration files, validated as components/schema/migration-files.ts does.
# Sets MIGRATION_FILES (paths), MIGRATION_VERSIONS, MIGRATION_NAMES, MIGRATION_SUMS.
load_migrations() {
  local dir=$1 path name version problems=() seen=" "
  MIGRATION_FILES=() MIGRATION_VERSIONS=() MIGRATION_NAMES=() MIGRATION_SUMS=()
  [[ -d "$dir" ]] || die "migrations directory $dir does not exist (set MIGRATIONS_DIR)"
  [[ "$dir" != *"'"* ]] || die "migrations directory $dir: a path with a single quote is not supported"
  [[ -f "$dir/$SCHEMA_FILE" ]] ||
    die "$dir/$SCHEMA_FILE is missing: the gdpr schema cannot be created (mount migrations/ and set MIGRATIONS_DIR)"
  shopt -s nullglob
  for path in "$dir"/*.sql; do
    name=$(basename "$path")
    if [[ ! "$name" =~ ^([0-9]{3})_[a-z0-9][a-z0-9_]*\.sql$ ]]; then
      problems+=("$dir/$name: file name does not match NNN_name.sql (three digits, then [a-z0-9_], e.g. 002_add_index.sql)")
      continue
    fi
    version=$((10#${BASH_REMATCH[1]}))
    if ((version == 0)); then
      problems+=("$dir/$name: version 000 belongs to 000_init_databases.sh; number SQL files from 001")
      continue
    fi
    if [[ "$seen" == *" $version:"* ]]; then
      problems+=("$dir/$name: version ${BASH_REMATCH[1]} is used twice")
      continue
    fi
    seen+="$version:$name "
    if ! grep -q '[^[:space:]]' "$path"; then
      problems+=("$dir/$name: file is empty")
      continue
    fi
    # shellcheck disable=SC1003 # a backslash at the start of a line, not a quote
    if grep -qE '^[[:space:]]*\\' "$path"; then
      # shellcheck disable=SC1003
      problems+=("$dir/$name:$(grep -nE '^[[:space:]]*\\' "$path" | head -n1 | cut -d: -f1): psql meta-command; migration files are plain SQL (the runner does not use psql)")
      continue
    fi
    MIGRATION_FILES+=("$path")
    MIGRATION_VERSIONS+=("$version")
    MIGRATION_NAMES+=("$name")
    MIGRATION_SUMS+=("$(sha256sum "$path" | cut -d' ' -f1)")
  done
  shopt -u nullglob
  if ((${#problems[@]} > 0)); then
    log "ERROR: invalid migration files:"
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
  fi
}

# psql, and the databases, roles and privileges it creates.
# psql against database $1 with the remaining arguments; quiet, unaligned, no psqlrc.
psql_db() {
  local db=$1
  shift
  psql -X -q -At -v ON_ERROR_STOP=1 --dbname="$db" "$@"
}

scalar() { psql_db "$1" -c "$2"; }

ensure_role() {
  local role=$1 kind=$2 password_var=${3:-} attributes
  if [[ " $EXISTING_ROLES " == *" $role "* ]]; then
    log "role $role exists; left as it is"
    return
  fi
  if [[ "$kind" == login ]]; then
    attributes="LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT $CONNECTION_LIMIT"
  else
    attributes="NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
  fi
  if [[ -n "$password_var" && -n "${!password_var:-}" ]]; then
    psql_db "$PGDATABASE" >/dev/null <<SQL
\\getenv role_password $password_var
SELECT format('CREATE ROLE %I $attributes PASSWORD %L', '$role', :'role_password') \\gexec
SQL
    log "created $kind role $role (password from $password_var)"
  else
    psql_db "$PGDATABASE" -c "CREATE ROLE \"$role\" $attributes"
    if [[ "$kind" == login ]]; then
      log "created login role $role WITHOUT a password: set $password_var before the first run, or ALTER ROLE it"
    else
      log "created $kind role $role"
    fi
  fi
}

# Acting as a service's role. A non-superuser admin holds ADMIN on the roles it
# created but, since PostgreSQL 16, not SET; like the Pulumi program it keeps
# no standing membership: a transaction that needs the role grants it to the
# admin first and revokes it before committing (or rolls back), so no other
# session ever sees it. These print psql lines; sql_can_act runs once per
# session, before the transactions.
sql_can_act() {
  cat <<SQL
SELECT NOT (r.rolsuper OR coalesce(pg_has_role(current_user, o.oid, CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END), false)) AS act_grant
  FROM pg_roles r LEFT JOIN pg_roles o ON o.rolname = '$1' WHERE r.rolname = current_user \\gset
SQL
}
sql_grant_self() { printf '\\if :act_grant\nGRANT "%s" TO CURRENT_USER;\n\\endif\n' "$1"; }
sql_revoke_self() { printf '\\if :act_grant\nREVOKE "%s" FROM CURRENT_USER;\n\\endif\n' "$1"; }
sql_act_as() {
  sql_grant_self "$1"
  printf 'SET LOCAL ROLE "%s";\n' "$1"
}
sql_stop_acting() {
  printf 'RESET ROLE;\n'
  sql_revoke_self "$1"
}

ensure_database() {
  local db=$1
  if [[ " $EXISTING_DATABASES " == *" $db "* ]]; then
    log "database $db exists; left as it is"
  else
    psql_db "$PGDATABASE" -c "CREATE DATABASE \"$db\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    log "created database $db"
  fi
}

# Privilege profile (service-database.ts): PUBLIC has nothing on the database
# or on schema public; the login role has CONNECT and TEMPORARY; schema public
# is owned by the login role (self-migrating) or the owner role (managed-schema,
# login role gets USAGE). Statements that are no-ops when already in place.
ensure_privileges() {
  local db=$1 login=$2 owner=$3
  local schema_owner=${owner:-$login}
  local usage=""
  [[ -z "$owner" ]] || usage="GRANT USAGE ON SCHEMA public TO \"$login\";"
  # The schema's ACL is changed as its owner (SET ROLE), so that it takes.
  psql_db "$db" <<SQL || die "$db: cannot apply the privilege profile as $PGUSER (it must own the database, or be a superuser)"
REVOKE ALL ON DATABASE "$db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "$db" TO "$login";
$(sql_can_act "$schema_owner")
BEGIN;
$(sql_grant_self "$schema_owner")
ALTER SCHEMA public OWNER TO "$schema_owner";
SET LOCAL ROLE "$schema_owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
$usage
$(sql_stop_acting "$schema_owner")
COMMIT;
SQL
  log "$db: PUBLIC revoked; $login may CONNECT; schema public owned by $schema_owner"
}

# Applying the migrations, under the runner's advisory lock.
files_values() {
  local i rows=()
  for i in "${!MIGRATION_NAMES[@]}"; do
    rows+=("(${MIGRATION_VERSIONS[$i]}, '${MIGRATION_NAMES[$i]}', '${MIGRATION_SUMS[$i]}')")
  done
  local IFS=,
  echo "(VALUES ${rows[*]}) AS f(version, name, checksum)"
}

# One psql session: the advisory lock is held from the checks to the last
# commit; each file and its version row commit together or not at all.
apply_migrations() {
  local db=$1 owner=$2 login=$3 lock_timeout=${MIGRATION_LOCK_TIMEOUT:-300s} i
  {
    cat <<SQL
\\o /dev/null
SET lock_timeout = '$lock_timeout';
SELECT pg_advisory_lock($MIGRATION_LOCK_KEY);
RESET lock_timeout;
$(sql_can_act "$owner")
BEGIN;
$(sql_act_as "$owner")
SELECT to_regclass('public.schema_migrations') IS NOT NULL AS mig_has_table \\gset
\\if :mig_has_table
DO \$verify\$
DECLARE
  r record;
  problems text := '';
  max_applied integer := 0;
BEGIN
  FOR r IN
    SELECT m.version, m.name, m.checksum, f.name AS file_name, f.checksum AS file_checksum
      FROM public.schema_migrations m
      LEFT JOIN $(files_values) USING (version)
     ORDER BY m.version
  LOOP
    max_applied := greatest(max_applied, r.version);
    IF r.file_checksum IS NULL THEN
      problems := problems || format(E'\n  - applied version %s (%s) has no file in the migrations directory: the database is ahead of this checkout, or a file was deleted', lpad(r.version::text, 3, '0'), r.name);
    ELSIF r.file_checksum <> r.checksum THEN
      problems := problems || format(E'\n  - %s was changed after it was applied (recorded sha256 %s, file %s): never edit an applied migration, add a new one', r.file_name, r.checksum, r.file_checksum);
    ELSIF r.file_name <> r.name THEN
      problems := problems || format(E'\n  - version %s was applied as %s and is now named %s: renaming is refused', lpad(r.version::text, 3, '0'), r.name, r.file_name);
    END IF;
  END LOOP;
  FOR r IN
    SELECT f.name FROM $(files_values)
     WHERE f.version < max_applied
       AND NOT EXISTS (SELECT 1 FROM public.schema_migrations m WHERE m.version = f.version)
     ORDER BY f.version
  LOOP
    problems := problems || format(E'\n  - %s is not applied but version %s already is: number new migrations above %s', r.name, lpad(max_applied::text, 3, '0'), lpad(max_applied::text, 3, '0'));
  END LOOP;
  IF problems <> '' THEN
    RAISE EXCEPTION 'migrations refused, nothing was applied:%', problems;
  END IF;
END
\$verify\$;
\\endif
ROLLBACK;
SQL
    for i in "${!MIGRATION_FILES[@]}"; do
      cat <<SQL
BEGIN;
$(sql_act_as "$owner")
SET LOCAL search_path = public;
SET LOCAL client_min_messages = warning;
SELECT set_config('$LOGIN_ROLE_SETTING', '$login', true);
$VERSION_TABLE_DDL;
SELECT NOT EXISTS (SELECT 1 FROM public.schema_migrations WHERE version = ${MIGRATION_VERSIONS[$i]}) AS mig_pending \\gset
\\if :mig_pending
\\echo 000_init_databases: $db: applying ${MIGRATION_NAMES[$i]} as $owner
\\i '${MIGRATION_FILES[$i]}'
;
INSERT INTO public.schema_migrations (version, name, checksum) VALUES (${MIGRATION_VERSIONS[$i]}, '${MIGRATION_NAMES[$i]}', '${MIGRATION_SUMS[$i]}');
\\else
\\echo 000_init_databases: $db: ${MIGRATION_NAMES[$i]} already applied
\\endif
$(sql_stop_acting "$owner")
COMMIT;
SQL
    done
    echo "SELECT pg_advisory_unlock($MIGRATION_LOCK_KEY);"
  } | psql_db "$db" 1>&2 || die "$db: migrations failed (the error is above); the failing file was rolled back"
}

# Validation: ADR-0060's health checks and the privilege profile.
validate() {
  local problems=() i db login owner svc sql out line parts=()
  # Cluster-wide: the databases and roles of every service, in one query.
  for i in "${!SERVICE_LIST[@]}"; do
    db=${DB_NAMES[$i]} login=${LOGIN_ROLES[$i]} owner=${OWNER_ROLES[$i]}
    parts+=("SELECT 'database $db is missing' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')")
    parts+=("SELECT 'login role $login is missing, cannot log in, or has SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS'
       WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$login' AND rolcanlogin
                           AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls))")
    if [[ -n "$owner" ]]; then
      parts+=("SELECT 'owner role $owner is missing, can log in, or is a superuser'
       WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$owner' AND NOT rolcanlogin AND NOT rolsuper)")
    fi
  done
  sql=$(printf '%s\nUNION ALL ' "${parts[@]}")
  out=$(scalar "$PGDATABASE" "${sql%UNION ALL }") || die "validation query failed on $PGDATABASE"
  while IFS= read -r line; do [[ -z "$line" ]] || problems+=("$line"); done <<<"$out"

  # Per database: privileges, schema owner, and for gdpr the tables and version.
  for i in "${!SERVICE_LIST[@]}"; do
    svc=${SERVICE_LIST[$i]} db=${DB_NAMES[$i]} login=${LOGIN_ROLES[$i]} owner=${OWNER_ROLES[$i]}
    [[ "$out" != *"database $db is missing"* ]] || continue

    local expected=${owner:-$login}
    sql="SELECT 'database $db: PUBLIC still has CONNECT' WHERE has_database_privilege('public', '$db', 'CONNECT')
      UNION ALL SELECT 'database $db: $login has no CONNECT' WHERE NOT has_database_privilege('$login', '$db', 'CONNECT')
      UNION ALL SELECT 'database $db: schema public is owned by ' || pg_get_userbyid(nspowner) || ', not $expected'
        FROM pg_namespace WHERE nspname = 'public' AND pg_get_userbyid(nspowner) <> '$expected'
      UNION ALL SELECT 'database $db: PUBLIC still has USAGE or CREATE on schema public'
        WHERE has_schema_privilege('public', 'public', 'USAGE') OR has_schema_privilege('public', 'public', 'CREATE')
      UNION ALL SELECT 'database $db: $login has no USAGE on schema public' WHERE NOT has_schema_privilege('$login', 'public', 'USAGE');"
    if [[ "$svc" == "$MIGRATIONS_SERVICE" && -n "$owner" ]]; then
      local latest=${MIGRATION_VERSIONS[${#MIGRATION_VERSIONS[@]} - 1]}
      local latest_name=${MIGRATION_NAMES[${#MIGRATION_NAMES[@]} - 1]}
      sql="$(sql_can_act "$owner")
BEGIN;
$(sql_act_as "$owner")
$sql
SELECT format('database $db: required table %s is missing', t)
  FROM unnest(string_to_array('$REQUIRED_TABLES', ' ')) AS t
 WHERE NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = t);
SELECT to_regclass('public.schema_migrations') IS NOT NULL AS mig_has_table \\gset
\\if :mig_has_table
SELECT format('database $db: schema version is %s, expected $latest ($latest_name)', coalesce(max(version), 0))
  FROM public.schema_migrations HAVING coalesce(max(version), 0) <> $latest;
\\else
SELECT 'database $db: schema version is 0 (no schema_migrations table), expected $latest ($latest_name)';
\\endif
ROLLBACK;"
    fi
    out=$(psql_db "$db" <<<"$sql" 2>&1) || out="database $db: cannot be checked: $out"
    while IFS= read -r line; do [[ -z "$line" ]] || problems+=("$line"); done <<<"$out"
  done
  if ((${#problems[@]} > 0)); then
    log "ERROR: validation failed:"
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
  fi
  log "validated: ${DB_NAMES[*]} exist with their roles and privileges; the gdpr schema is at the latest version"
}

main() {
  case "${1:-}" in
    --plan)
      resolve_config
      print_plan
      return
      ;;
    -h | --help)
      sed -n '2,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'
      return
      ;;
    "") ;;
    *) die "unknown argument \"$1\" (usage: $0 [--plan])" ;;
  esac

  resolve_config
  local migrations_dir=${MIGRATIONS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
  local i migrate=false
  for i in "${!SERVICE_LIST[@]}"; do
    [[ "${SERVICE_LIST[$i]}" == "$MIGRATIONS_SERVICE" && -n "${OWNER_ROLES[$i]}" ]] && migrate=true
  done
  if $migrate; then load_migrations "$migrations_dir"; fi

  export PGUSER=${PGUSER:-${POSTGRES_USER:-postgres}}
  export PGDATABASE=${PGDATABASE:-postgres}
  log "environment $ENVIRONMENT ($ENVIRONMENT_REASON); services: ${SERVICE_LIST[*]}"
  log "connecting as $PGUSER to ${PGHOST:-the local socket}${PGPORT:+:$PGPORT}/$PGDATABASE"
  # What exists already (one connection; also the connection check).
  local existing
  existing=$(scalar "$PGDATABASE" "SELECT (SELECT string_agg(rolname, ' ') FROM pg_roles) || '|' || (SELECT string_agg(datname, ' ') FROM pg_database)") ||
    die "cannot connect to PostgreSQL as $PGUSER (check the PG* variables)"
  EXISTING_ROLES=${existing%%|*}
  EXISTING_DATABASES=${existing#*|}

  local svc db login owner password_var
  for i in "${!SERVICE_LIST[@]}"; do
    svc=${SERVICE_LIST[$i]} db=${DB_NAMES[$i]} login=${LOGIN_ROLES[$i]} owner=${OWNER_ROLES[$i]}
    password_var="$(tr '[:lower:]' '[:upper:]' <<<"$svc")_DB_PASSWORD"
    log "--- $svc: database $db, profile ${PROFILES[$i]}"
    ensure_role "$login" login "$password_var"
    if [[ -n "$owner" ]]; then
      ensure_role "$owner" owner
    fi
    ensure_database "$db"
    ensure_privileges "$db" "$login" "$owner"
    if [[ "$svc" == "$MIGRATIONS_SERVICE" && -n "$owner" ]]; then
      apply_migrations "$db" "$owner" "$login"
    fi
  done
  validate
}

main "$@"
