/**
 * `evaluate`: expectations (`HealthSpec`, health-spec.ts) plus what was read
 * from the server (`Snapshot`, health-collect.ts) give one `CheckResult` per
 * row, each PASS, FAIL or PENDING with the reason. Pure.
 *
 * Rows, per service (`<check> <subject>`), in this order:
 *   database <db>        exists, under the ADR's name for the environment
 *   naming <db>          test: no `{service}` beside `{service}_test`;
 *                        staging/prod: no `{service}_test` (dev may share a
 *                        server with the test stack, see naming.ts: no row)
 *   tables <db>          the tables required-tables.ts expects: the
 *                        REQUIRED_TABLES entry, else (managed-schema) the
 *                        tables its migrations create; PENDING while a
 *                        self-migrating service has not migrated yet; no row
 *                        when nothing is expected
 *   schema-version <db>  managed-schema services (their migrations): the
 *                        version table agrees with the service's migrations
 *                        directory and is at its latest file
 *   privileges <role>    the service role (role-checks.ts)
 *   login-user <user>    each of its two login users (role-checks.ts)
 *   iam-login <user>     its IAM login, when it has one (iam-login-check.ts)
 *   retention-role <role> services with a retention role (role-checks.ts)
 *   public-connect <db>  PUBLIC holds neither CONNECT nor TEMPORARY
 * and, last, `monitoring-role <role>` (role-checks.ts).
 */
import { migrationsDir } from "../schema/migration-paths";
import { planMigrations, VERSION_TABLE } from "../schema/migration-runner";
import {
  checkResult,
  CheckResult,
  ContentsOrError,
  DatabaseInfo,
  HealthSpec,
  isUnreadable,
  leakedName,
  ServiceSpec,
  Snapshot,
} from "./health-spec";
import { iamLoginCheck } from "./iam-login-check";
import { requiredTables } from "./required-tables";
import { loginPrivileges, loginUserCheck, monitoringRoleCheck, retentionRoleCheck } from "./role-checks";

/** What every row of one service needs to know about its database. */
interface ServiceView {
  svc: ServiceSpec;
  db: DatabaseInfo | undefined;
  contents: ContentsOrError | undefined;
  /** `database <db> does not exist`. */
  missingDb: string;
  /** Why its contents could not be read, when they could not. */
  unreadable: string | undefined;
}

/** Every check, in table order. Pure. */
export function evaluate(spec: HealthSpec, snap: Snapshot): CheckResult[] {
  const dbs = new Map(snap.databases.map((d) => [d.name, d]));
  const roles = new Map(snap.roles.map((r) => [r.name, r]));
  const out: CheckResult[] = [];

  for (const svc of spec.services) {
    const contents = snap.contents[svc.database];
    const view: ServiceView = {
      svc,
      db: dbs.get(svc.database),
      contents,
      missingDb: `database ${svc.database} does not exist`,
      unreadable: isUnreadable(contents)
        ? `cannot inspect ${svc.database} as ${snap.currentUser}: ${contents.error}`
        : undefined,
    };
    out.push(databaseRow(spec, view));
    const leak = leakedName(svc.service, spec.environment);
    if (leak !== undefined) out.push(namingRow(spec, view, leak, dbs.has(leak)));
    const tables = tablesRow(view);
    if (tables) out.push(tables);
    if (svc.migrations !== undefined) out.push(schemaVersionRow(view, snap.currentUser));
    out.push(loginPrivileges(svc, roles.get(svc.loginRole), view.db, contents, dbs, view.unreadable));
    for (const user of svc.loginUsers ?? []) {
      out.push(loginUserCheck(svc, user, roles.get(user), contents, dbs, view.unreadable));
    }
    if (svc.iamLogin !== undefined) {
      const role = roles.get(svc.iamLogin.user);
      out.push(iamLoginCheck(svc, role, contents, dbs, view.unreadable, snap.currentUser));
    }
    if (svc.retentionRole !== undefined) {
      out.push(retentionRoleCheck(svc, roles.get(svc.retentionRole), contents, dbs, view.unreadable));
    }
    out.push(publicConnectRow(view));
  }

  if (spec.monitoringRole !== undefined) {
    out.push(monitoringRoleCheck(spec, roles.get(spec.monitoringRole), dbs));
  }
  return out;
}

/** True when no check failed (PENDING does not fail). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "FAIL");
}

function list(names: readonly string[]): string {
  return names.join(", ");
}

function databaseRow(spec: HealthSpec, { svc, db, missingDb }: ServiceView): CheckResult {
  const row = (status: "PASS" | "FAIL", reason: string) =>
    checkResult("database", svc.database, status, reason);
  if (svc.declaredDatabase !== undefined && svc.declaredDatabase !== svc.database) {
    return row(
      "FAIL",
      `the stack reports databaseNames.${svc.service} = "${svc.declaredDatabase}"; ADR-0060 names it "${svc.database}" in ${spec.environment}`,
    );
  }
  if (!db) return row("FAIL", `${missingDb} (service ${svc.service}, environment ${spec.environment})`);
  if (!db.allowConnections)
    return row("FAIL", `exists but does not allow connections (datallowconn is false)`);
  return row("PASS", `exists (owner ${db.owner}), the ADR's name for ${spec.environment}`);
}

function namingRow(spec: HealthSpec, { svc }: ServiceView, leak: string, leaked: boolean): CheckResult {
  const other = spec.environment === "test" ? "dev/staging/prod" : "test";
  return leaked
    ? checkResult(
        "naming",
        svc.database,
        "FAIL",
        `naming leak: database "${leak}" (the ${other} name) exists on this ${spec.environment} server beside "${svc.database}"`,
      )
    : checkResult(
        "naming",
        svc.database,
        "PASS",
        `no database "${leak}" (the ${other} name) on this ${spec.environment} server`,
      );
}

function tablesRow({ svc, db, contents, missingDb, unreadable }: ServiceView): CheckResult | undefined {
  const required = requiredTables(svc);
  if (!required) return undefined;
  const row = (status: "PASS" | "FAIL" | "PENDING", reason: string) =>
    checkResult("tables", svc.database, status, reason);
  if (!db) return row("FAIL", missingDb);
  if (unreadable || !contents || isUnreadable(contents)) {
    return row("FAIL", unreadable ?? `${svc.database} was not inspected`);
  }
  const present = new Set(contents.tables);
  const missing = required.tables.filter((t) => !present.has(t));
  const n = required.tables.length;
  const marker = required.migratedMarker;
  const s = missing.length === 1 ? "" : "s";
  if (required.fromMigrations !== undefined) {
    return missing.length === 0
      ? row(
          "PASS",
          `all ${n} tables its migrations (${required.fromMigrations}) create: ${list(required.tables)}`,
        )
      : row(
          "FAIL",
          `missing table${s} ${list(missing)} in schema public (${n - missing.length} of the ${n} its migrations (${required.fromMigrations}) create present)`,
        );
  }
  if (missing.length === 0) return row("PASS", `all ${n} required tables: ${list(required.tables)}`);
  if (marker && !present.has(marker) && missing.length === n) {
    return row(
      "PENDING",
      `${svc.service} has not migrated yet (no ${marker} table); it creates ${list(required.tables)} at start`,
    );
  }
  return row(
    "FAIL",
    `missing required table${s} ${list(missing)} in schema public (${n - missing.length} of ${n} present)`,
  );
}

function schemaVersionRow(
  { svc, db, contents, missingDb, unreadable }: ServiceView,
  currentUser: string,
): CheckResult {
  const dir = `${migrationsDir("", svc.service)}/`;
  const files = svc.migrations ?? [];
  const latest = files.length > 0 ? files[files.length - 1] : undefined;
  const latestText = latest ? `${latest.version} (${latest.name})` : `0 (no migration files in ${dir})`;
  const fail = (reason: string) => checkResult("schema-version", svc.database, "FAIL", reason);
  if (!db) return fail(missingDb);
  if (unreadable || !contents || isUnreadable(contents)) {
    return fail(unreadable ?? `${svc.database} was not inspected`);
  }
  if (contents.versionError !== undefined) {
    return fail(
      `cannot read ${VERSION_TABLE} as ${currentUser}: ${contents.versionError} (the monitoring role needs USAGE on schema public and SELECT on the version table)`,
    );
  }
  if (contents.versionRows === undefined) {
    return fail(`no ${VERSION_TABLE} table: no migration applied; the latest migration is ${latestText}`);
  }
  if (!latest) return fail(`no migration files in ${dir}: a managed-schema service needs at least one`);
  let plan;
  try {
    plan = planMigrations(files, contents.versionRows);
  } catch (err) {
    const detail = (err as Error).message
      .split("\n")
      .slice(1)
      .map((l) => l.replace(/^\s*-\s*/, ""))
      .join("; ");
    return fail(`${VERSION_TABLE} disagrees with ${dir}: ${detail}`);
  }
  if (plan.pending.length > 0) {
    return fail(
      `version ${plan.version}, latest migration ${latestText}: pending ${list(plan.pending.map((f) => f.name))}`,
    );
  }
  return checkResult("schema-version", svc.database, "PASS", `version ${latestText} = latest migration`);
}

function publicConnectRow({ svc, db, missingDb }: ServiceView): CheckResult {
  if (!db) return checkResult("public-connect", svc.database, "FAIL", missingDb);
  const held = [db.publicConnect ? "CONNECT" : "", db.publicTemporary ? "TEMPORARY" : ""].filter(Boolean);
  return held.length > 0
    ? checkResult(
        "public-connect",
        svc.database,
        "FAIL",
        `PUBLIC holds ${held.join(" and ")} on ${svc.database}: every role on the server can connect to it`,
      )
    : checkResult(
        "public-connect",
        svc.database,
        "PASS",
        `PUBLIC holds neither CONNECT nor TEMPORARY on ${svc.database}`,
      );
}
