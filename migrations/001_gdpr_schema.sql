-- 001_gdpr_schema.sql - ADR-0060 GDPR schema (database gdpr / gdpr_test).
--
-- Table and column names and types are the application's interface
-- (../shared/spec/consumers.md): keep them.
--
-- How this file is applied (migrations/README.md): by the migration runner
-- (components/migration-runner.ts, used by Pulumi and `make migrate`) or by
-- 000_init_databases.sh (psql), in ONE transaction, as the schema-owner role
-- (SET ROLE gdpr_owner / gdpr_test_owner), with search_path = public and the
-- transaction-local setting platform.login_role naming the application's login
-- role (gdpr_app / gdpr_test_app). The login role's grants below read that
-- setting, so this file names no environment's role and its sha256 checksum is
-- the same in every environment. Plain SQL only: no psql meta-commands, no
-- BEGIN/COMMIT.

-- Refuse to run in the wrong context, before anything is created.
DO $preflight$
DECLARE
  login text := coalesce(current_setting('platform.login_role', true), '');
  schema_owner text := (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public');
BEGIN
  IF login = '' THEN
    RAISE EXCEPTION '001_gdpr_schema.sql: platform.login_role is not set'
      USING HINT = 'apply migrations with the migration runner (make migrate) or 000_init_databases.sh; '
                   'by hand: SET LOCAL platform.login_role = ''<login role>'' in the same transaction';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
    RAISE EXCEPTION '001_gdpr_schema.sql: platform.login_role "%" is not an existing role', login;
  END IF;
  IF current_user <> schema_owner THEN
    RAISE EXCEPTION '001_gdpr_schema.sql: running as "%", but schema public is owned by "%"', current_user, schema_owner
      USING HINT = 'migrations run as the schema-owner role (SET ROLE), so that it owns every object';
  END IF;
  IF login = schema_owner THEN
    RAISE EXCEPTION '001_gdpr_schema.sql: the login role "%" must not own schema public (managed-schema profile)', login;
  END IF;
END
$preflight$;

-- ---------------------------------------------------------------------------
-- Retention (ADR-0060), defined once: purge_expired_data() and the audit-log
-- guard read it; the table comments state it for people.
-- ---------------------------------------------------------------------------
CREATE FUNCTION retention_period(table_name text) RETURNS interval
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT CASE table_name
    WHEN 'conversations' THEN interval '90 days'
    WHEN 'consent_records' THEN interval '7 years'
    WHEN 'audit_logs' THEN interval '7 years'
  END
$$;
COMMENT ON FUNCTION retention_period(text) IS
  'ADR-0060 retention per table: conversations 90 days, consent_records and audit_logs 7 years; NULL = kept until erasure';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE user_profiles (
  user_id      TEXT PRIMARY KEY,
  username     TEXT NOT NULL,
  email        TEXT,
  full_name    TEXT,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_updated TIMESTAMPTZ NOT NULL DEFAULT now(),
  metadata     JSONB DEFAULT '{}'::jsonb,
  CONSTRAINT user_profiles_username_not_empty CHECK (btrim(username) <> ''),
  CONSTRAINT user_profiles_timestamps_ordered CHECK (last_updated >= created_at)
);
COMMENT ON TABLE user_profiles IS
  'GDPR Art. 15 user account data. Retention: until an erasure request (Art. 17); deleting a profile deletes its preferences, consents and conversations.';

CREATE TABLE user_preferences (
  user_id     TEXT PRIMARY KEY REFERENCES user_profiles (user_id) ON DELETE CASCADE,
  preferences JSONB NOT NULL DEFAULT '{}'::jsonb,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE user_preferences IS
  'User settings. Retention: with the profile (deleted by its cascade).';

CREATE TABLE consent_records (
  consent_id   TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES user_profiles (user_id) ON DELETE CASCADE,
  consent_type TEXT NOT NULL,
  granted      BOOLEAN NOT NULL,
  "timestamp"  TIMESTAMPTZ NOT NULL DEFAULT now(),
  ip_address   TEXT,
  user_agent   TEXT,
  metadata     JSONB DEFAULT '{}'::jsonb,
  CONSTRAINT consent_records_consent_type_not_empty CHECK (btrim(consent_type) <> '')
);
COMMENT ON TABLE consent_records IS
  'GDPR Art. 7 consent evidence. Retention: 7 years; purge_expired_data() removes records older than that once a newer record of the same user and consent type supersedes them (the consent in force is kept); deleted with the profile.';

CREATE TABLE conversations (
  conversation_id TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL REFERENCES user_profiles (user_id) ON DELETE CASCADE,
  title           TEXT,
  messages        JSONB NOT NULL DEFAULT '[]'::jsonb,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_message_at TIMESTAMPTZ,
  archived        BOOLEAN DEFAULT false,
  metadata        JSONB DEFAULT '{}'::jsonb,
  CONSTRAINT conversations_messages_is_array CHECK (jsonb_typeof(messages) = 'array'),
  CONSTRAINT conversations_timestamps_ordered CHECK (last_message_at IS NULL OR last_message_at >= created_at)
);
COMMENT ON TABLE conversations IS
  'Chat history. Retention: 90 days after the last activity (last_message_at, else created_at; GDPR Art. 5(1)(e)), removed by purge_expired_data(); deleted with the profile.';

CREATE TABLE audit_logs (
  log_id        TEXT PRIMARY KEY,
  user_id       TEXT, -- deliberately no foreign key: the trail outlives the profile
  action        TEXT NOT NULL,
  resource_type TEXT,
  resource_id   TEXT,
  "timestamp"   TIMESTAMPTZ NOT NULL DEFAULT now(),
  ip_address    TEXT,
  user_agent    TEXT,
  metadata      JSONB DEFAULT '{}'::jsonb,
  CONSTRAINT audit_logs_action_not_empty CHECK (btrim(action) <> '')
);
COMMENT ON TABLE audit_logs IS
  'Compliance audit trail (HIPAA 164.312(b)). Append-only: rows are never changed except user_id -> ''anonymized'' (erasure) and never deleted before 7 years; retention 7 years, removed by purge_expired_data().';

-- ---------------------------------------------------------------------------
-- Indexes for the application's queries (and the foreign keys' cascades)
-- ---------------------------------------------------------------------------
-- consents by user, and by (user, type), newest first
CREATE INDEX consent_records_user_timestamp_idx ON consent_records (user_id, "timestamp" DESC);
CREATE INDEX consent_records_user_type_timestamp_idx ON consent_records (user_id, consent_type, "timestamp" DESC);
-- conversations by user, newest activity first (nulls last), optionally by archived
CREATE INDEX conversations_user_last_message_idx ON conversations (user_id, last_message_at DESC NULLS LAST);
CREATE INDEX conversations_user_archived_last_message_idx
  ON conversations (user_id, archived, last_message_at DESC NULLS LAST);
-- retention of conversations (purge_expired_data)
CREATE INDEX conversations_last_activity_idx ON conversations ((coalesce(last_message_at, created_at)));
-- audit trail by user and time range, newest first; by time range (and retention)
CREATE INDEX audit_logs_user_timestamp_idx ON audit_logs (user_id, "timestamp" DESC);
CREATE INDEX audit_logs_timestamp_idx ON audit_logs ("timestamp");
-- retention of consent records (purge_expired_data)
CREATE INDEX consent_records_timestamp_idx ON consent_records ("timestamp");

-- ---------------------------------------------------------------------------
-- Timestamps kept current by the database
-- ---------------------------------------------------------------------------
CREATE FUNCTION touch_last_updated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.last_updated := now();
  RETURN NEW;
END
$$;

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TRIGGER user_profiles_touch_last_updated
  BEFORE UPDATE ON user_profiles
  FOR EACH ROW EXECUTE FUNCTION touch_last_updated();

CREATE TRIGGER user_preferences_touch_updated_at
  BEFORE UPDATE ON user_preferences
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ---------------------------------------------------------------------------
-- Append-only audit trail. Privileges keep the login role to INSERT, SELECT
-- and UPDATE (user_id); these triggers hold against every role, the owner
-- included (only a deliberate DISABLE/DROP TRIGGER by the owner lifts them):
--   UPDATE may change user_id only, and only to 'anonymized' (the
--          application's erasure: UPDATE audit_logs SET user_id = 'anonymized');
--   DELETE only of rows past retention (purge_expired_data);
--   TRUNCATE never.
-- ---------------------------------------------------------------------------
CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'audit_logs is append-only: TRUNCATE is refused'
      USING ERRCODE = 'insufficient_privilege';
  ELSIF TG_OP = 'UPDATE' THEN
    IF to_jsonb(NEW) - 'user_id' IS DISTINCT FROM to_jsonb(OLD) - 'user_id' THEN
      RAISE EXCEPTION 'audit_logs is append-only: only user_id may change (log_id %)', OLD.log_id
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.user_id IS DISTINCT FROM OLD.user_id AND NEW.user_id IS DISTINCT FROM 'anonymized' THEN
      RAISE EXCEPTION 'audit_logs is append-only: user_id may only be changed to ''anonymized'' (log_id %)', OLD.log_id
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD."timestamp" >= now() - retention_period('audit_logs') THEN
      RAISE EXCEPTION 'audit_logs is append-only: log_id % is within its retention of %', OLD.log_id, retention_period('audit_logs')
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER audit_logs_append_only_row
  BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();

CREATE TRIGGER audit_logs_append_only_truncate
  BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

-- ---------------------------------------------------------------------------
-- Retention purge: run by the owner role (SECURITY DEFINER, owned by it), on a
-- schedule (a Kubernetes CronJob or pg_cron: migrations/README.md). Returns
-- the rows it removed per table.
-- ---------------------------------------------------------------------------
CREATE FUNCTION purge_expired_data()
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM conversations c
   WHERE coalesce(c.last_message_at, c.created_at) < now() - retention_period('conversations');
  GET DIAGNOSTICS n = ROW_COUNT;
  table_name := 'conversations'; rows_deleted := n; RETURN NEXT;

  -- The newest record of a (user, consent type) is the consent in force: it
  -- stays while the profile exists, however old.
  DELETE FROM consent_records c
   WHERE c."timestamp" < now() - retention_period('consent_records')
     AND EXISTS (
       SELECT 1 FROM consent_records newer
        WHERE newer.user_id = c.user_id
          AND newer.consent_type = c.consent_type
          AND newer."timestamp" > c."timestamp");
  GET DIAGNOSTICS n = ROW_COUNT;
  table_name := 'consent_records'; rows_deleted := n; RETURN NEXT;

  DELETE FROM audit_logs a
   WHERE a."timestamp" < now() - retention_period('audit_logs');
  GET DIAGNOSTICS n = ROW_COUNT;
  table_name := 'audit_logs'; rows_deleted := n; RETURN NEXT;
END
$$;
COMMENT ON FUNCTION purge_expired_data() IS
  'ADR-0060 retention: deletes conversations past 90 days, superseded consent records and audit logs past 7 years; returns rows deleted per table. Run as the schema-owner role.';

-- Functions are not for PUBLIC (PostgreSQL grants EXECUTE to PUBLIC by
-- default; triggers fire without it).
REVOKE ALL ON FUNCTION retention_period(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION touch_last_updated() FROM PUBLIC;
REVOKE ALL ON FUNCTION touch_updated_at() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_logs_append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION purge_expired_data() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Least privilege for the application's login role (consumers.md): DML on
-- the four user tables; INSERT, SELECT and UPDATE (user_id) on audit_logs; no
-- TRUNCATE, REFERENCES or TRIGGER anywhere; no DDL (it has USAGE on schema
-- public, not CREATE, and owns nothing).
-- Default privileges: tables and sequences the owner role creates in later
-- migrations give the login role the same DML automatically (an append-only
-- table must REVOKE what it does not allow, as audit_logs does here), and new
-- functions are not executable by PUBLIC.
-- ---------------------------------------------------------------------------
DO $grants$
DECLARE
  login text := current_setting('platform.login_role');
BEGIN
  EXECUTE format(
    'GRANT SELECT, INSERT, UPDATE, DELETE ON user_profiles, user_preferences, consent_records, conversations TO %I',
    login);
  EXECUTE format('GRANT SELECT, INSERT ON audit_logs TO %I', login);
  EXECUTE format('GRANT UPDATE (user_id) ON audit_logs TO %I', login);

  EXECUTE format(
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', login);
  EXECUTE format(
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', login);
END
$grants$;

ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
