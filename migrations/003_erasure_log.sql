-- 003_erasure_log.sql - GDPR erasures survive a restore (docs/backup.md).
--
-- The application erases a user with DELETE FROM user_profiles (the foreign
-- keys cascade) and UPDATE audit_logs SET user_id = 'anonymized'
-- (../shared/spec/consumers.md). A restore of a backup taken before that
-- would bring the person back, so every deletion of a profile is recorded
-- here, in the same transaction (it cannot commit without its entry), and
-- `make restore` re-applies the entries the restored copy lacks: read from the
-- live database and from the copies `make backup` writes to the backup
-- destination, which the restore cannot lose.
--
-- The log holds no identifier in clear: subject_sha256 is the hex sha256 of
-- the user_id (a replay finds the profile and audit rows by it). It is
-- append-only, even for the owner (triggers below); the login role can
-- neither read nor write it; the trigger that writes it is SECURITY DEFINER.
-- Applied like every migration (migrations/README.md): one transaction, as
-- the schema-owner role.
CREATE TABLE erasure_log (
  erasure_id     UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_sha256 TEXT NOT NULL,
  erased_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT erasure_log_subject_is_sha256 CHECK (subject_sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX erasure_log_subject_idx ON erasure_log (subject_sha256);
COMMENT ON TABLE erasure_log IS
  'GDPR Art. 17 erasures (sha256 of the user_id, time), written when a profile is deleted; replayed after a restore. Append-only; kept as long as the gdpr backups (7 years).';

-- The user id's digest, as the log stores it.
CREATE FUNCTION erasure_subject(user_id text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT encode(sha256(convert_to(user_id, 'UTF8')), 'hex') $$;

-- One entry per deleted profile, unless this transaction already logged the
-- subject (a replay inserts the original entry first, then deletes): rows
-- inserted by the current transaction are those whose xmin is its id.
CREATE FUNCTION log_erasure() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  subject text := erasure_subject(OLD.user_id);
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM erasure_log e
     WHERE e.subject_sha256 = subject
       AND e.xmin::text::bigint = (txid_current() & 4294967295)
  ) THEN
    INSERT INTO erasure_log (subject_sha256) VALUES (subject);
  END IF;
  RETURN OLD;
END
$$;

CREATE TRIGGER user_profiles_log_erasure
  AFTER DELETE ON user_profiles
  FOR EACH ROW EXECUTE FUNCTION log_erasure();

CREATE FUNCTION erasure_log_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'erasure_log is append-only: % is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER erasure_log_append_only_row
  BEFORE UPDATE OR DELETE ON erasure_log
  FOR EACH ROW EXECUTE FUNCTION erasure_log_append_only();

CREATE TRIGGER erasure_log_append_only_truncate
  BEFORE TRUNCATE ON erasure_log
  FOR EACH STATEMENT EXECUTE FUNCTION erasure_log_append_only();

-- Re-applies one logged erasure (make restore, on the restored copy): the
-- entry as it was logged, the profile deleted (cascading, as the
-- application's erasure does), its audit rows anonymized. Idempotent.
-- Returns the number of profiles deleted (0 when the copy no longer had it).
CREATE FUNCTION replay_erasure(p_erasure_id uuid, p_subject text, p_erased_at timestamptz)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  INSERT INTO erasure_log (erasure_id, subject_sha256, erased_at)
  VALUES (p_erasure_id, p_subject, p_erased_at)
  ON CONFLICT (erasure_id) DO NOTHING;
  DELETE FROM user_profiles WHERE erasure_subject(user_id) = p_subject;
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE audit_logs SET user_id = 'anonymized'
   WHERE user_id IS NOT NULL AND user_id <> 'anonymized' AND erasure_subject(user_id) = p_subject;
  RETURN n;
END
$$;

REVOKE ALL ON FUNCTION erasure_subject(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION log_erasure() FROM PUBLIC;
REVOKE ALL ON FUNCTION erasure_log_append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION replay_erasure(uuid, text, timestamptz) FROM PUBLIC;

-- 001's default privileges gave the login role DML on this new table: the
-- application neither reads nor writes the log (the trigger does).
DO $grants$
BEGIN
  EXECUTE format('REVOKE ALL ON erasure_log FROM %I', current_setting('platform.login_role'));
END
$grants$;
