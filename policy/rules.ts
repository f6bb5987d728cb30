/**
 * The policy pack's rules as pure functions: a resource (type, name, URN,
 * inputs, protect) in, violation messages out. policies.ts wraps them into
 * @pulumi/policy policies; tests call them with fake resources.
 *
 * Every message names the resource (`<type> "<name>"`) and the property.
 * The naming rules come from components/naming.ts, the forbidden role
 * attributes from components/database/grants.ts and the logging baseline from
 * components/config/database-flags.ts, so the pack and the program share one
 * definition.
 *
 * This file holds the rules on databases, roles and the provider, and
 * re-exports the rest: what they share (subject.ts), the instances' own
 * baseline (instance-rules.ts), prod's refusals (prod-rules.ts) and the
 * advisory report of loosened defaults (loosened.ts).
 */
import { databaseName, monitoringRoleName, parseDatabaseName } from "../components/naming";
import { FORBIDDEN_LOGIN_ATTRIBUTES } from "../components/database/grants";
import { Rule, TYPES, isTrue, label, unknownEnvironment } from "./subject";

export * from "./subject";
export * from "./instance-rules";
export * from "./prod-rules";
export * from "./loosened";

// ADR-0060 naming of databases and roles.

/** Database names follow ADR-0060 for the environment: `{service}`, or `{service}_test` in test. */
export const databaseNaming: Rule = (s, { environment }) => {
  if (s.type !== TYPES.database) return [];
  if (!environment) return [unknownEnvironment(s)];
  const name = String(s.props.name ?? s.name);
  const { service } = parseDatabaseName(name);
  let expected: string;
  try {
    expected = databaseName(service, environment);
  } catch (err) {
    return [`${label(s)}: database "${name}" breaks ADR-0060 naming: ${(err as Error).message}`];
  }
  return expected === name
    ? []
    : [
        `${label(s)}: database "${name}" breaks ADR-0060 naming for environment ${environment}: expected "${expected}"`,
      ];
};

/**
 * Role names follow ADR-0060 for the environment: `{database}_app` (service
 * role), `{database}_app_a` / `{database}_app_b` (its login users),
 * `{database}_owner` (schema owner), `{database}_retention` (retention purge) or
 * `{database}_backup` (logical backups) for a database named by the
 * convention, or the environment's monitoring role.
 */
export const roleNaming: Rule = (s, { environment }) => {
  if (s.type !== TYPES.role) return [];
  if (!environment) return [unknownEnvironment(s)];
  const name = String(s.props.name ?? s.name);
  if (name === monitoringRoleName(environment)) return [];
  const match = /^(.+)_(app|app_a|app_b|owner|retention|backup)$/.exec(name);
  if (match) {
    const db = match[1];
    try {
      if (databaseName(parseDatabaseName(db).service, environment) === db) return [];
    } catch {
      // fall through: not a convention database name
    }
  }
  const example = databaseName("gdpr", environment);
  return [
    `${label(s)}: role "${name}" breaks ADR-0060 naming for environment ${environment}: expected {database}_app, ` +
      `{database}_app_a, {database}_app_b, {database}_owner, {database}_retention or {database}_backup for a database named by the convention (e.g. ${example}_app), or ${monitoringRoleName(environment)}`,
  ];
};

// Least privilege of the roles the program creates.

/** No role the program creates is SUPERUSER or may create databases or roles (or replicate, or bypass RLS). */
export const roleLeastPrivilege: Rule = (s) => {
  if (s.type !== TYPES.role) return [];
  const name = String(s.props.name ?? s.name);
  return FORBIDDEN_LOGIN_ATTRIBUTES.filter((attr) => isTrue(s.props[attr])).map(
    (attr) =>
      `${label(s)}: role "${name}" has ${attr}: true; service roles get none of ${FORBIDDEN_LOGIN_ATTRIBUTES.join(", ")}`,
  );
};

/** The postgresql provider connects as a non-superuser admin and, outside dev/test, never without TLS. */
export const providerConnection: Rule = (s, { environment }) => {
  if (s.type !== TYPES.postgresqlProvider) return [];
  const out: string[] = [];
  if (s.props.superuser === undefined || isTrue(s.props.superuser)) {
    out.push(
      `${label(s)}: superuser must be false: the admin is CREATEDB CREATEROLE, like Cloud SQL's and RDS's`,
    );
  }
  const scheme = s.props.scheme ?? "postgres";
  if (
    (environment === "staging" || environment === "prod") &&
    scheme === "postgres" &&
    s.props.sslmode === "disable"
  ) {
    out.push(`${label(s)}: sslmode "disable" in ${environment}: connections to a managed server use TLS`);
  }
  return out;
};

const SERVICE_ROLE = /(_app|_app_[ab]|_owner)$|^db_monitor(_test)?$/;

/**
 * Service roles are created in SQL (ServiceDatabase), never through the Cloud
 * SQL user API, whose users join cloudsqlsuperuser.
 */
export const noServiceRolesInCloudSqlApi: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlUser) return [];
  const name = String(s.props.name ?? s.name);
  return SERVICE_ROLE.test(name)
    ? [
        `${label(s)}: "${name}" is a service role created through the Cloud SQL API, which makes it a member of ` +
          `cloudsqlsuperuser; create it in SQL (ServiceDatabase, postgresql provider)`,
      ]
    : [];
};
