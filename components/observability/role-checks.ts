/**
 * The rows of `make check` about roles (health-evaluate.ts places them). Pure.
 *
 *   privileges <role>      the service role: NOLOGIN (a stack upgraded from
 *                          one login role per service keeps its LOGIN until
 *                          the service's first rotation), none of the
 *                          forbidden attributes, CONNECT on its database only,
 *                          no memberships, does not own its database, schema
 *                          public as its profile says
 *   login-user <user>      each of its two login users: LOGIN, none of the
 *                          forbidden attributes, member of the service role
 *                          only, every session SET ROLE to it, CONNECT on its
 *                          database only (inherited), owns nothing there
 *   retention-role <role>  any service with a retention role (the stack's
 *                          retentionRoles output: services whose migrations
 *                          define the purge function): LOGIN, none of the
 *                          forbidden attributes, no memberships, CONNECT on its
 *                          database only, EXECUTE on the purge function, no
 *                          privilege on any table
 *   monitoring-role <role> member of pg_monitor only, CONNECT on the service
 *                          databases only
 *
 * The `iam-login` row is in iam-login-check.ts, with the helpers exported here.
 */
import { FORBIDDEN_PG_ROLE_COLUMNS } from "../database/grants";
import { PURGE_FUNCTION_SIGNATURE } from "../schema/migration-paths";
import {
  checkResult,
  CheckResult,
  ContentsOrError,
  DatabaseInfo,
  HealthSpec,
  isUnreadable,
  RoleInfo,
  ServiceSpec,
} from "./health-spec";

const ATTRIBUTE_KEYWORDS: Record<(typeof FORBIDDEN_PG_ROLE_COLUMNS)[number], string> = {
  rolsuper: "SUPERUSER",
  rolcreatedb: "CREATEDB",
  rolcreaterole: "CREATEROLE",
  rolreplication: "REPLICATION",
  rolbypassrls: "BYPASSRLS",
};

export const NO_ATTRIBUTES = `LOGIN without ${Object.values(ATTRIBUTE_KEYWORDS).join("/")}`;

export function list(names: readonly string[]): string {
  return names.join(", ");
}

export function attributeProblems(role: RoleInfo): string[] {
  return FORBIDDEN_PG_ROLE_COLUMNS.filter((col) => role[col]).map((col) => `has ${ATTRIBUTE_KEYWORDS[col]}`);
}

export function connectProblems(
  role: RoleInfo,
  allowed: readonly string[],
  dbs: Map<string, DatabaseInfo>,
): string[] {
  const problems: string[] = [];
  const extra = role.connectOn.filter((d) => !allowed.includes(d));
  if (extra.length > 0) {
    const how = extra.map((d) => (dbs.get(d)?.publicConnect ? `${d} (via PUBLIC)` : d));
    problems.push(`CONNECT also on ${list(how)}`);
  }
  const lacking = allowed.filter((d) => dbs.has(d) && !role.connectOn.includes(d));
  if (lacking.length > 0) problems.push(`no CONNECT on ${list(lacking)}`);
  return problems;
}

/** `privileges <login>`. */
export function loginPrivileges(
  svc: ServiceSpec,
  role: RoleInfo | undefined,
  db: DatabaseInfo | undefined,
  contents: ContentsOrError | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
): CheckResult {
  if (!role) {
    return checkResult("privileges", svc.loginRole, "FAIL", `service role ${svc.loginRole} does not exist`);
  }
  const problems = attributeProblems(role);
  // Without login users (a spec from before rotations) the role is the login.
  const rotates = svc.loginUsers !== undefined;
  const legacyLogin = rotates && role.canLogin && (svc.rotation ?? 0) === 0;
  if (!rotates && !role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (rotates && role.canLogin && !legacyLogin) {
    problems.push(`can log in (LOGIN) after rotation ${svc.rotation}: only its login users may`);
  }
  problems.push(...connectProblems(role, [svc.database], dbs));
  if (role.memberOf.length > 0) problems.push(`member of ${list(role.memberOf)}`);
  if (db && db.owner === role.name)
    problems.push(`owns database ${svc.database} (it could grant CONNECT to anyone)`);

  let schemaText = "";
  if (db) {
    if (unreadable || !contents || isUnreadable(contents)) {
      problems.push(unreadable ?? `${svc.database} was not inspected`);
    } else if (svc.profile === "self-migrating") {
      if (contents.schemaOwner !== svc.loginRole) {
        problems.push(
          `schema public of ${svc.database} is owned by ${contents.schemaOwner ?? "nobody (no schema public)"}, not by ${svc.loginRole} (self-migrating: the service creates its own tables)`,
        );
      }
      schemaText = `; owns schema public (self-migrating)`;
    } else {
      if (contents.schemaOwner !== svc.ownerRole) {
        problems.push(
          `schema public of ${svc.database} is owned by ${contents.schemaOwner ?? "nobody (no schema public)"}, not by ${svc.ownerRole ?? "its owner role"} (managed-schema)`,
        );
      }
      if (contents.loginHasCreate)
        problems.push(`has CREATE on schema public of ${svc.database} (managed-schema: DML only)`);
      if (!contents.loginHasUsage) problems.push(`has no USAGE on schema public of ${svc.database}`);
      if (contents.loginOwns.length > 0)
        problems.push(`owns ${list(contents.loginOwns)} in ${svc.database} (the owner role must)`);
      schemaText = `; schema public owned by ${svc.ownerRole}, USAGE without CREATE (managed-schema)`;
    }
  }
  if (problems.length > 0) return checkResult("privileges", svc.loginRole, "FAIL", problems.join("; "));
  const login = !rotates
    ? NO_ATTRIBUTES
    : legacyLogin
      ? `LOGIN kept from before rotations until the first rotation, without ${Object.values(ATTRIBUTE_KEYWORDS).join("/")}`
      : `NOLOGIN, without ${Object.values(ATTRIBUTE_KEYWORDS).join("/")}`;
  return checkResult(
    "privileges",
    svc.loginRole,
    "PASS",
    `${login}; CONNECT on ${svc.database} only; no memberships${schemaText}`,
  );
}

/**
 * What a user that logs in for the service owns in its database: nothing, the
 * service role must own it (`why` says why, for the message). Unreadable
 * contents are a problem too; an absent database is connectProblems'.
 */
export function ownershipProblems(
  svc: ServiceSpec,
  user: string,
  contents: ContentsOrError | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
  why: string,
): string[] {
  if (!dbs.has(svc.database)) return [];
  if (unreadable || !contents || isUnreadable(contents))
    return [unreadable ?? `${svc.database} was not inspected`];
  const owns = contents.usersOwn?.[user] ?? [];
  return owns.length > 0 ? [`owns ${list(owns)} in ${svc.database} (${svc.loginRole} must: ${why})`] : [];
}

/** `login-user <user>`: one of the service role's two login users. */
export function loginUserCheck(
  svc: ServiceSpec,
  user: string,
  role: RoleInfo | undefined,
  contents: ContentsOrError | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
): CheckResult {
  if (!role) return checkResult("login-user", user, "FAIL", `login user ${user} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (role.memberOf.join() !== svc.loginRole) {
    problems.push(
      role.memberOf.length === 0
        ? `is not a member of ${svc.loginRole}`
        : `member of ${list(role.memberOf)}, not of ${svc.loginRole} only`,
    );
  }
  if (!role.settings.includes(`role=${svc.loginRole}`)) {
    problems.push(`its sessions do not SET ROLE ${svc.loginRole} (ALTER ROLE ${user} SET role)`);
  }
  problems.push(...connectProblems(role, [svc.database], dbs));
  problems.push(...ownershipProblems(svc, user, contents, dbs, unreadable, "it outlives rotations"));
  if (problems.length > 0) return checkResult("login-user", user, "FAIL", problems.join("; "));
  return checkResult(
    "login-user",
    user,
    "PASS",
    `${NO_ATTRIBUTES}; member of ${svc.loginRole} only, sessions SET ROLE to it; CONNECT on ${svc.database} only; owns nothing there`,
  );
}

/** `retention-role <role>`, for a service whose spec names a retention role. */
export function retentionRoleCheck(
  svc: ServiceSpec,
  role: RoleInfo | undefined,
  contents: ContentsOrError | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
): CheckResult {
  const name = svc.retentionRole as string;
  if (!role) return checkResult("retention-role", name, "FAIL", `retention role ${name} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (role.memberOf.length > 0) problems.push(`member of ${list(role.memberOf)}`);
  problems.push(...connectProblems(role, [svc.database], dbs));
  if (dbs.has(svc.database)) {
    if (unreadable || !contents || isUnreadable(contents) || !contents.retention) {
      problems.push(unreadable ?? `${svc.database} was not inspected`);
    } else {
      const r = contents.retention;
      if (r.canExecutePurge === undefined)
        problems.push(`${PURGE_FUNCTION_SIGNATURE} does not exist in ${svc.database}`);
      else if (!r.canExecutePurge) problems.push(`no EXECUTE on ${PURGE_FUNCTION_SIGNATURE}`);
      if (!r.hasUsage) problems.push(`no USAGE on schema public of ${svc.database}`);
      if (r.tablePrivileges.length > 0) {
        problems.push(
          `holds privileges on ${list(r.tablePrivileges)} (it needs none: the purge is SECURITY DEFINER)`,
        );
      }
    }
  }
  if (problems.length > 0) return checkResult("retention-role", name, "FAIL", problems.join("; "));
  return checkResult(
    "retention-role",
    name,
    "PASS",
    `${NO_ATTRIBUTES}; CONNECT on ${svc.database} only; EXECUTE on ${PURGE_FUNCTION_SIGNATURE}; no table privileges`,
  );
}

/** `monitoring-role <role>`, when the spec names one. */
export function monitoringRoleCheck(
  spec: HealthSpec,
  role: RoleInfo | undefined,
  dbs: Map<string, DatabaseInfo>,
): CheckResult {
  const name = spec.monitoringRole as string;
  if (!role) return checkResult("monitoring-role", name, "FAIL", `monitoring role ${name} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (!role.memberOf.includes("pg_monitor")) problems.push("is not a member of pg_monitor");
  const extra = role.memberOf.filter((r) => r !== "pg_monitor");
  if (extra.length > 0) problems.push(`also member of ${list(extra)}`);
  problems.push(
    ...connectProblems(
      role,
      spec.services.map((s) => s.database),
      dbs,
    ),
  );
  if (problems.length > 0) return checkResult("monitoring-role", name, "FAIL", problems.join("; "));
  return checkResult(
    "monitoring-role",
    name,
    "PASS",
    `member of pg_monitor only; CONNECT on the ${spec.services.length} service databases only`,
  );
}
