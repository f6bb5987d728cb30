/**
 * Hand-made input for the health checks' pure evaluation
 * (components/observability/health-evaluate.ts): catalog rows as the program
 * leaves a server, a whole healthy Snapshot for a spec, and the results keyed
 * by row name. The pure health-check tests and the iam-login row's build
 * their snapshots from these.
 */
import type {
  CheckResult,
  DatabaseContents,
  DatabaseInfo,
  HealthSpec,
  RoleInfo,
  Snapshot,
} from "../../components/observability/health-spec";
import { healthSpec } from "../../components/observability/health-spec";
import { monitoringRoleName } from "../../components/naming";
import { parseMigrationFiles } from "../../components/schema/migration-runner";
import { defaultServices } from "../../scripts/check";

/** The results keyed by row name (`tables gdpr_test`, …). */
export function byName(results: readonly CheckResult[]): Record<string, CheckResult> {
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

/** gdpr's migrations in the hand-made specs and snapshots: two files, latest version 2 (002_b.sql). */
export const GDPR_FILES = parseMigrationFiles([
  { name: "001_a.sql", content: "SELECT 1;" },
  { name: "002_b.sql", content: "SELECT 2;" },
]);

/** The default services' spec in an environment, with GDPR_FILES as gdpr's migrations. */
export function spec(environment: "dev" | "test" | "staging" | "prod" = "test"): HealthSpec {
  return healthSpec(environment, defaultServices(environment), {
    monitoringRole: monitoringRoleName(environment),
    migrations: { gdpr: GDPR_FILES },
  });
}

/** A role as the program leaves it: LOGIN, limit 25, none of the forbidden attributes, no membership, no CONNECT. */
export function roleInfo(name: string, over: Partial<RoleInfo> = {}): RoleInfo {
  return {
    name,
    rolsuper: false,
    rolcreatedb: false,
    rolcreaterole: false,
    rolreplication: false,
    rolbypassrls: false,
    canLogin: true,
    connectionLimit: 25,
    memberOf: [],
    settings: [],
    connectOn: [],
    ...over,
  };
}

/** A database that accepts connections and on which PUBLIC holds neither CONNECT nor TEMP. */
export function databaseInfo(name: string, owner: string, over: Partial<DatabaseInfo> = {}): DatabaseInfo {
  return { name, owner, allowConnections: true, publicConnect: false, publicTemporary: false, ...over };
}

/** A self-migrating service's database before it migrates: its login role owns schema public, no tables. */
export function selfMigratingContents(
  loginRole: string,
  usersOwn: Record<string, string[]> = {},
): DatabaseContents {
  return {
    schemaOwner: loginRole,
    tables: [],
    loginHasUsage: true,
    loginHasCreate: true,
    loginOwns: [],
    usersOwn,
  };
}

/** A snapshot of a server where everything is as the program leaves it. */
export function healthySnapshot(s: HealthSpec): Snapshot {
  const admin = "platform_admin";
  const role = (name: string, connectOn: string[], memberOf: string[] = []) =>
    roleInfo(name, { memberOf, connectOn });
  const dbs = s.services.map((svc) => svc.database);
  const usersOwnNothing = (users: readonly string[] = []) => Object.fromEntries(users.map((u) => [u, []]));
  return {
    currentUser: s.monitoringRole as string,
    databases: [
      ...["postgres", "template0", "template1"].map((name) =>
        databaseInfo(name, "postgres", { allowConnections: name !== "template0" }),
      ),
      ...dbs.map((name) => databaseInfo(name, admin, { sizeBytes: 7_000_000 })),
    ],
    roles: [
      ...s.services.flatMap((svc) => [
        { ...role(svc.loginRole, [svc.database]), canLogin: false },
        ...(svc.loginUsers ?? []).map((user) => ({
          ...role(user, [svc.database], [svc.loginRole]),
          settings: [`role=${svc.loginRole}`],
        })),
      ]),
      role(s.monitoringRole as string, [...dbs].sort(), ["pg_monitor"]),
    ],
    contents: Object.fromEntries(
      s.services.map((svc) => [
        svc.database,
        svc.profile === "managed-schema"
          ? {
              schemaOwner: svc.ownerRole,
              tables: [
                "audit_logs",
                "consent_records",
                "conversations",
                "schema_migrations",
                "user_preferences",
                "user_profiles",
              ],
              loginHasUsage: true,
              loginHasCreate: false,
              loginOwns: [],
              usersOwn: usersOwnNothing(svc.loginUsers),
              versionRows: GDPR_FILES.map((f) => ({
                version: f.version,
                name: f.name,
                checksum: f.checksum,
              })),
            }
          : selfMigratingContents(svc.loginRole, usersOwnNothing(svc.loginUsers)),
      ]),
    ),
    connections: [],
  };
}
