/**
 * Which tables each service must have in schema public: the `tables` row of
 * `make check` and the `database_required_table_present` metric (and so the
 * DatabaseRequiredTableMissing alert). Pure.
 *
 * The rule, per service:
 * - listed in REQUIRED_TABLES (consumers.md: gdpr, openfga, keycloak): those
 *   tables, whatever its profile;
 * - otherwise managed-schema, with migrations: the tables its migrations
 *   create in schema public (`tablesCreatedBy`), e.g. a `billing` service's
 *   `migrations/billing/NNN_*.sql`;
 * - otherwise (self-migrating, or migrations that create no table): no
 *   expectation, and no `tables` row.
 */
import type { MigrationFile } from "../schema/migration-runner";
import { VERSION_TABLE } from "../schema/migration-runner";
import { migrationsDir } from "../schema/migration-paths";
import type { ServiceSpec } from "./health-spec";

/**
 * Tables each service must have (consumers.md). `migratedMarker` is the table
 * a self-migrating service's own migration tool creates first (OpenFGA's goose,
 * Keycloak's Liquibase): while neither it nor any required table exists, the
 * service has not started yet and the row is PENDING rather than FAIL.
 */
export const REQUIRED_TABLES: Readonly<
  Record<string, { tables: readonly string[]; migratedMarker?: string }>
> = {
  gdpr: { tables: ["user_profiles", "user_preferences", "consent_records", "conversations", "audit_logs"] },
  openfga: { tables: ["tuple", "authorization_model"], migratedMarker: "goose_db_version" },
  keycloak: { tables: ["user_entity", "realm"], migratedMarker: "databasechangelog" },
};

export interface TableExpectation {
  tables: readonly string[];
  /** See REQUIRED_TABLES. */
  migratedMarker?: string;
  /** Set when the list comes from the service's migrations: their directory, e.g. `migrations/billing/`. */
  fromMigrations?: string;
}

/** The tables `svc` must have, by the rule above; undefined when none is expected. */
export function requiredTables(
  svc: Pick<ServiceSpec, "service" | "profile" | "migrations">,
): TableExpectation | undefined {
  const listed = REQUIRED_TABLES[svc.service];
  if (listed) return listed;
  if (svc.profile !== "managed-schema" || svc.migrations === undefined) return undefined;
  const tables = tablesCreatedBy(svc.migrations);
  if (tables.length === 0) return undefined;
  return { tables, fromMigrations: `${migrationsDir("", svc.service)}/` };
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})?`;
const TABLE_DDL = new RegExp(
  String.raw`\b(?:` +
    String.raw`create\s+(?:(?:global|local)\s+)?(?<temp>temp(?:orary)?\s+)?(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?(?<created>${QUALIFIED})` +
    String.raw`|drop\s+table\s+(?:if\s+exists\s+)?(?<dropped>${QUALIFIED}(?:\s*,\s*${QUALIFIED})*)` +
    String.raw`|alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(?<altered>${QUALIFIED})\s+(?:rename\s+to\s+(?<renamed>${IDENT})|set\s+schema\s+(?<schema>${IDENT}))` +
    `)`,
  "gi",
);
const QUALIFIED_PARTS = new RegExp(String.raw`^(${IDENT})(?:\s*\.\s*(${IDENT}))?$`);
const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;
const VERSION_TABLE_NAME = VERSION_TABLE.replace(/^public\./, "");

/** `"Foo"` → `Foo`, `Foo` → `foo`: the name PostgreSQL stores. */
function identifier(raw: string): string {
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
}

/** The table in schema public a (possibly qualified) name denotes; undefined for another schema. */
function publicTable(qualified: string): string | undefined {
  const m = QUALIFIED_PARTS.exec(qualified.trim());
  if (!m) return undefined;
  if (m[2] === undefined) return identifier(m[1]);
  return identifier(m[1]) === "public" ? identifier(m[2]) : undefined;
}

/**
 * The tables `files` leave in schema public, in the order they are created:
 * each `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] [public.]name`, in version
 * order, less those a later `DROP TABLE` removes or `ALTER TABLE … SET SCHEMA`
 * moves away, renamed by `ALTER TABLE … RENAME TO`. Unqualified names are in
 * public (the runner sets `search_path = public`). Comments, string literals
 * and function bodies are skipped; `DO` blocks are read. Temporary tables,
 * other schemas and the version table do not count.
 */
export function tablesCreatedBy(files: readonly Pick<MigrationFile, "sql">[]): string[] {
  const tables = new Set<string>();
  for (const file of files) {
    for (const m of code(file.sql).matchAll(TABLE_DDL)) {
      const g = m.groups ?? {};
      if (g.created !== undefined) {
        const name = publicTable(g.created);
        if (name !== undefined && g.temp === undefined) tables.add(name);
      } else if (g.dropped !== undefined) {
        for (const part of g.dropped.matchAll(new RegExp(QUALIFIED, "g"))) {
          const name = publicTable(part[0]);
          if (name !== undefined) tables.delete(name);
        }
      } else if (g.altered !== undefined) {
        const name = publicTable(g.altered);
        if (name === undefined || !tables.delete(name)) continue;
        if (g.renamed !== undefined) tables.add(identifier(g.renamed));
        else if (identifier(g.schema) === "public") tables.add(name);
      }
    }
  }
  tables.delete(VERSION_TABLE_NAME);
  return [...tables];
}

/**
 * `sql` with what is not DDL text removed: comments become a space, string
 * literals and dollar-quoted bodies `''`, except the body of a `DO` statement,
 * which is code that runs and is kept (read the same way).
 */
function code(sql: string): string {
  let out = "";
  let statementStart = 0;
  let i = 0;
  const identChar = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
  while (i < sql.length) {
    const ch = sql[i];
    if (sql.startsWith("--", i)) {
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? sql.length : nl;
      out += " ";
    } else if (sql.startsWith("/*", i)) {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        const step = sql.startsWith("/*", i) ? 1 : sql.startsWith("*/", i) ? -1 : 0;
        depth += step;
        i += step === 0 ? 1 : 2;
      }
      out += " ";
    } else if (ch === "'") {
      // E'…' strings escape with a backslash; every string with ''.
      const backslash = /[eE]$/.test(out) && !identChar(out[out.length - 2]);
      i++;
      while (i < sql.length) {
        if (backslash && sql[i] === "\\") i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      out += "''";
    } else if (ch === '"') {
      const m = /^"(?:[^"]|"")*"?/.exec(sql.slice(i)) as RegExpExecArray;
      out += m[0];
      i += m[0].length;
    } else if (ch === "$" && !identChar(out[out.length - 1]) && DOLLAR_TAG.test(sql.slice(i))) {
      const tag = (DOLLAR_TAG.exec(sql.slice(i)) as RegExpExecArray)[0];
      const end = sql.indexOf(tag, i + tag.length);
      const body = sql.slice(i + tag.length, end === -1 ? sql.length : end);
      i = end === -1 ? sql.length : end + tag.length;
      out += /^\s*do\b/i.test(out.slice(statementStart)) ? ` ${code(body)} ` : "''";
    } else {
      if (ch === ";") statementStart = out.length + 1;
      out += ch;
      i++;
    }
  }
  return out;
}
