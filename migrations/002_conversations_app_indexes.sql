-- 002_conversations_app_indexes.sql - the two indexes on conversations that the
-- application's own test suite checks by name (../shared/spec/consumers.md):
-- idx_conversations_user_id and idx_conversations_created_at.
--
-- Neither duplicates an index of 001_gdpr_schema.sql exactly (same columns,
-- order, expressions and predicate), so both are created rather than an
-- existing one renamed: 001 has (user_id, last_message_at DESC NULLS LAST),
-- (user_id, archived, last_message_at DESC NULLS LAST) and
-- (coalesce(last_message_at, created_at)). idx_conversations_user_id overlaps
-- the first of these (its leading column): a small extra write cost, kept
-- because the application looks for the name.
--
-- Applied like every migration (migrations/README.md): in one transaction, as
-- the schema-owner role, which owns the table and so the indexes. Plain CREATE
-- INDEX (CONCURRENTLY cannot run in a transaction): it blocks writes to
-- conversations while it builds.
CREATE INDEX idx_conversations_user_id ON conversations (user_id);
CREATE INDEX idx_conversations_created_at ON conversations (created_at);
