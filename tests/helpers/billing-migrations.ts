/**
 * A fourth managed-schema service, billing, and its own migrations: what the
 * health-check tests add to a spec, to a checkout's migrations/billing/ and to
 * a scratch stack.
 */
import { parseMigrationFiles } from "../../components/schema/migration-runner";

/**
 * billing's migrations (migrations/billing/ in a project that has it): valid
 * SQL the real-server test applies too. The tables they leave in public:
 * invoices, payment_events (payments renamed), ledger (created in a DO
 * block); old_rates is dropped, and the comment, the string literal and the
 * function body create nothing.
 */
export const BILLING_FILES = parseMigrationFiles([
  {
    name: "001_billing_schema.sql",
    content: `-- Billing. CREATE TABLE ghost (x int) is only a comment.
CREATE TABLE invoices (id bigint PRIMARY KEY, amount_cents bigint NOT NULL);
CREATE TABLE IF NOT EXISTS public.payments (id bigint PRIMARY KEY, invoice_id bigint REFERENCES invoices (id));
COMMENT ON TABLE invoices IS 'Not a CREATE TABLE fake (x int); only text.';
CREATE TABLE old_rates (rate numeric);
`,
  },
  {
    name: "002_billing_ledger.sql",
    content: `ALTER TABLE payments RENAME TO payment_events;
DROP TABLE IF EXISTS old_rates;
CREATE FUNCTION billing_scratch() RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
  CREATE TABLE inside_function (x int);
END
$body$;
DO $$
BEGIN
  CREATE TABLE IF NOT EXISTS ledger (id bigint PRIMARY KEY);
END
$$;
`,
  },
]);

/** The tables BILLING_FILES leave in schema public. */
export const BILLING_TABLES = ["invoices", "payment_events", "ledger"];
